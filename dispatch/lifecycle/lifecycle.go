// Package lifecycle owns a job's life in the technician's hands: offers accepted or declined, the
// visit reported (en route, on site, done or not), the agenda and ETAs, devices and inboxes.
package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Store is what a job's life in the technician's hands reads and writes.
type Store interface {
	offers.Writer
	Devices
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// LockJob reads the job with its row locked until the transaction ends.
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	// InsertJob adds a visit to a booking.
	InsertJob(ctx context.Context, j dispatch.Job) (dispatch.Job, error)
	TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error)
	SetTechnicianPosition(ctx context.Context, id int64, l dispatch.Location, at time.Time) error
	// TechnicianJobs are a technician's live jobs overlapping [from, to), in start order.
	TechnicianJobs(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Job, error)
	// TechnicianFinishedJobs are a technician's visits finished (completed or incomplete) in [from, to).
	TechnicianFinishedJobs(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Job, error)
}

// Devices keeps the phones notifications are pushed to, and the inboxes they are kept in.
type Devices interface {
	// UpsertDevice registers d's token for d's owner, or refreshes it; a token active for another
	// owner is a conflict with code device_token_taken, and nothing is written.
	UpsertDevice(ctx context.Context, d dispatch.Device) (dispatch.Device, error)
	DeleteDevice(ctx context.Context, kind, subject, token string) error
	// DisableStaleDevices turns off the tokens last seen before lastSeenBefore.
	DisableStaleDevices(ctx context.Context, lastSeenBefore time.Time) (int64, error)
	ListNotifications(ctx context.Context, kind, subject string, page dispatch.Page) ([]dispatch.Notification, error)
}

// Service is a job's life in the technician's hands: offers accepted or declined, the visit's
// statuses reported, the agenda, the ETA, and the devices and inboxes its notifications reach.
type Service struct {
	*dispatch.Env
	Store   Store
	Planner *planning.Planner
	Offers  *offers.Service
	Hooks   []Hook // told of each report, in order
}

// New is the lifecycle over store, planning and offering through planner and offers, telling
// hooks of each report.
func New(store Store, env *dispatch.Env, planner *planning.Planner, offers *offers.Service, hooks ...Hook) *Service {
	return &Service{Env: env, Store: store, Planner: planner, Offers: offers, Hooks: hooks}
}

// technicianFor resolves the calling technician's record.
func (s *Service) technicianFor(ctx context.Context, st Store, a dispatch.Actor) (dispatch.Technician, error) {
	if a.Role != dispatch.RoleTechnician {
		return dispatch.Technician{}, dispatch.Forbidden("only technicians have an agenda")
	}
	t, err := st.TechnicianBySubject(ctx, a.Subject)
	if errors.Is(err, dispatch.ErrNotFound) {
		return dispatch.Technician{}, dispatch.Forbidden("no technician is linked to subject %q; an admin creates technicians", a.Subject)
	}
	return t, err
}

// ---- the technician app ----

// ---- devices and inbox ----

// A Hook reacts to a technician's report on a visit inside the report's transaction, before the
// report's own writes: another area's rule on visits (intake settles an unverified warranty) without
// lifecycle knowing that area. Its store joins tx.
type Hook interface {
	VisitReported(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport) error
}

// A RevisitHook prepares the return visit an incomplete report creates: RevisitCreated before it
// is planned (it may hold it back: next.NotBefore), RevisitPlanned once it is (planned or waiting),
// both in the report's transaction.
type RevisitHook interface {
	RevisitCreated(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport, next *dispatch.Job) error
	RevisitPlanned(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport, next dispatch.Job) error
}
