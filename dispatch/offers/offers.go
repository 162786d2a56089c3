// Package offers owns asking a technician to take a planned job: the offer, its withdrawal, the job
// planned again without those who refused, and the loop that expires offers and offers due jobs.
package offers

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Writer is what offering, withdrawing and planning a job again write through, in the caller's
// transaction: the store of every area that does so has these methods.
type Writer interface {
	planning.Store
	dispatch.NoticeStore
	GetBooking(ctx context.Context, id int64) (dispatch.Booking, error)
	GetJob(ctx context.Context, id int64) (dispatch.Job, error)
	// UpdateJob writes j if the job is still at j.Version (else a conflict with code
	// concurrent_update, and nothing written) and returns it with its new version.
	UpdateJob(ctx context.Context, j dispatch.Job) (dispatch.Job, error)
	// SetBookingStatus changes the status (and version) unless it is already that.
	SetBookingStatus(ctx context.Context, id int64, status dispatch.BookingStatus, at time.Time) error
	AddAudit(ctx context.Context, e dispatch.AuditEvent) error
	CreateOffer(ctx context.Context, o dispatch.Offer) (dispatch.Offer, error)
	OpenOffer(ctx context.Context, jobID int64) (dispatch.Offer, error)
	UpdateOffer(ctx context.Context, o dispatch.Offer) error
	// RefusedTechnicians declined the job or let its offer expire.
	RefusedTechnicians(ctx context.Context, jobID int64) ([]int64, error)
}

// Store is the offers' own: their transactions, the offers to expire and the jobs to offer.
type Store interface {
	Writer
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// LockJob reads the job with its row locked until the transaction ends.
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	// ExpiredOffers locks (skipping rows others hold) open offers whose time is up.
	ExpiredOffers(ctx context.Context, now time.Time, limit int) ([]dispatch.Offer, error)
	// NextOfferExpiry is when the earliest open offer lapses (far future when none is open).
	NextOfferExpiry(ctx context.Context) (time.Time, error)
	// JobsToOffer are planned, not yet offered jobs starting before horizon.
	JobsToOffer(ctx context.Context, horizon time.Time, limit int) ([]int64, error)
}

// Service puts planned jobs before their technicians: it offers a job inside the offer horizon,
// withdraws an offer, plans a job again without those who refused it, and expires offers.
type Service struct {
	*dispatch.Env
	Store   Store
	Planner *planning.Planner
	Config  Config

	offered chan struct{} // wakes RunLifecycle when this process makes an offer that lapses before it runs
	// lifecycleDue is when RunLifecycle runs next by itself (service clock, Unix ns; 0 while it
	// runs, and before it first sleeps).
	lifecycleDue *atomic.Int64
}

// New is the offers of planner's jobs with the default timings.
func New(store Store, env *dispatch.Env, planner *planning.Planner) *Service {
	return &Service{Env: env, Store: store, Planner: planner, Config: DefaultConfig(), offered: make(chan struct{}, 1),
		lifecycleDue: new(atomic.Int64)}
}

// Config are the dispatch timings.
type Config struct {
	OfferHorizon time.Duration // jobs planned to start within this are offered at once (24 h)
	OfferTTL     time.Duration // an offer expires after this (10 min)
}

// DefaultConfig are the defaults of the spec.
func DefaultConfig() Config {
	return Config{OfferHorizon: 24 * time.Hour, OfferTTL: 10 * time.Minute}
}
