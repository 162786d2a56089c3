// Package overrides owns the dispatcher's hand on the plan: a job assigned to a technician by hand
// (pinned by default), taken off, pinned or unpinned, and a technician marked unavailable.
package overrides

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Store is what the overrides write through, in transactions of their own.
type Store interface {
	offers.Writer
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// LockJob reads the job with its row locked until the transaction ends.
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	// TechnicianJobs are a technician's live jobs overlapping [from, to), in start order.
	TechnicianJobs(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Job, error)
	AddTimeOff(ctx context.Context, techID int64, from, to time.Time, reason string) (dispatch.TimeOff, error)
	// SetTimeOffMoved records the jobs a time off moved off its technician.
	SetTimeOffMoved(ctx context.Context, id int64, jobIDs []int64) error
	// ListTimeOff is a technician's time off ending after endsAfter, in start order.
	ListTimeOff(ctx context.Context, techID int64, endsAfter time.Time) ([]dispatch.TimeOff, error)
	// DeleteTimeOff removes the technician's time off id and returns it (not found: ErrNotFound).
	DeleteTimeOff(ctx context.Context, techID, id int64) (dispatch.TimeOff, error)
	TimeOff(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Window, error)
}

// Service is the dispatcher's hand on the plan: a job given to a technician, taken off, pinned,
// and a technician marked unavailable with their jobs planned again.
type Service struct {
	*dispatch.Env
	Store   Store
	Planner *planning.Planner
	Offers  *offers.Service
}

// New is the overrides over store, planning and offering through planner and offers.
func New(store Store, env *dispatch.Env, planner *planning.Planner, offers *offers.Service) *Service {
	return &Service{Env: env, Store: store, Planner: planner, Offers: offers}
}

func staffOnly(a dispatch.Actor) error {
	if !a.Staff() {
		return dispatch.Forbidden("only dispatchers override assignments")
	}
	return nil
}
