// Package optimize owns re-optimisation, the bridge to the solver (scheduling.Optimize): a region's
// movable jobs planned again under a budget, and what improved written back, by hand or per region.
package optimize

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Store is what a re-optimisation reads and writes.
type Store interface {
	offers.Writer
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// LockJob reads the job with its row locked until the transaction ends.
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	// ReoptimizedFrom are the technicians a re-optimisation took the job from: it never gives it
	// back to them (an offer withdrawn is not offered again).
	ReoptimizedFrom(ctx context.Context, jobID int64) ([]int64, error)
	// MovableJobs are jobs the optimiser may move (not pinned, accepted or started; starting after
	// frozenUntil, or unassigned), most urgent first; region "" means all.
	MovableJobs(ctx context.Context, frozenUntil time.Time, region string) ([]int64, error)
	// PlanVersions are the technicians' plan_version, by id; lock holds their rows (in id
	// order) until the transaction ends, so that their plans cannot move meanwhile.
	PlanVersions(ctx context.Context, ids []int64, lock bool) (map[int64]int64, error)
	// OpenRegions are the regions with bookings still to serve.
	OpenRegions(ctx context.Context) ([]string, error)
}

// Service re-optimises a region's plan with the solver and writes back what improved.
type Service struct {
	*dispatch.Env
	Store   Store
	Planner *planning.Planner
	Offers  *offers.Service
	Config  Config
}

// New is the re-optimisation over store, planning and offering through planner and offers.
func New(store Store, env *dispatch.Env, planner *planning.Planner, offers *offers.Service) *Service {
	return &Service{Env: env, Store: store, Planner: planner, Offers: offers, Config: DefaultConfig()}
}

// Config keeps re-optimised plans stable: what a customer was told moves only for a real gain.
type Config struct {
	// FreezeHorizon: a visit starting this soon stays where it is (the technician prepares it,
	// the customer waits for it), unless the dispatcher asks for a shorter one.
	FreezeHorizon time.Duration
	// MoveCost is what moving a told visit (one with a technician and a start) costs, in seconds
	// of travel: a move is made only when its gain beats it. ChangeTechnician and ChangeDay are
	// added when the visit changes technician or (local) day.
	MoveCost, ChangeTechnician, ChangeDay time.Duration
}

// DefaultConfig: a 2 h freeze; a told visit moves for more than 10 min of travel, 20 min to
// another technician, 30 min more to another day.
func DefaultConfig() Config {
	return Config{FreezeHorizon: 2 * time.Hour, MoveCost: 10 * time.Minute, ChangeTechnician: 10 * time.Minute, ChangeDay: 30 * time.Minute}
}

// Request is one re-optimisation: of a region ("" for all), within a budget; DryRun answers the
// moves it would make and writes nothing; Freeze, when set, replaces the freeze horizon.
type Request struct {
	Region string
	Budget time.Duration
	DryRun bool
	Freeze *time.Duration
}

// ReoptimizeRegions re-optimises each region with bookings to serve, sharing the budget; regions
// are independent, so one region's work never waits on another's.
func (s *Service) ReoptimizeRegions(ctx context.Context, budget time.Duration) (map[string]Result, error) {
	regions, err := s.Store.OpenRegions(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]Result{}
	var failed error
	for _, r := range regions {
		if r == "" {
			continue
		}
		res, err := s.Run(ctx, dispatch.System(), Request{Region: r, Budget: budget / time.Duration(max(1, len(regions)))})
		if err != nil {
			// Reported; the regions after it are re-optimised all the same.
			failed = errors.Join(failed, fmt.Errorf("region %s: %w", r, err))
			if dispatch.HaltsBackground(ctx, err) {
				return out, failed
			}
			continue
		}
		out[r] = res
	}
	return out, failed
}
