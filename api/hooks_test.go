package api_test

import (
	"context"
	"errors"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/dispatch/watchdog"
	"github.com/fieldfix/fieldfix/geo"
)

// hookedStore is the test's real store with hooks on a few calls of the offers', the watchdog's
// and the re-optimisation's stores, inside transactions too: a test makes a change land between a
// read and a write, or makes one row fail every time. A zero hook does nothing.
type hookedStore struct {
	*postgres.Store
	beforeLockPlans func(techs []int64) // PlanVersions that locks, before it runs
	beforeUpdateJob func(dispatch.Job)  // UpdateJob, before it runs
	failLockJob     int64               // LockJob of this job fails
	failRefused     int64               // RefusedTechnicians of this job fails
	failMovable     string              // MovableJobs of this region fails
}

var errInjected = errors.New("injected: the rows cannot be read")

// hookedService is a service like the server's (geo index loaded) on the test's database,
// through h's hooks.
func (b *testBundle) hookedService(h hookedStore) *services.Set {
	b.t.Helper()
	h.Store = postgres.New(b.db.Pool)
	svc := services.New(h, dispatch.DefaultRules(), b.clock, nil)
	svc.Planner.Index = geo.NewIndex()
	if err := svc.Planner.LoadIndex(b.t.Context()); err != nil {
		b.t.Fatal(err)
	}
	return svc
}

// Offers is the offers' store with the same hooks.
func (h hookedStore) Offers() offers.Store {
	return hookedOffers{h.Store.Offers(), h}
}

// hookedOffers is the offers' store through h's hooks.
type hookedOffers struct {
	offers.Store
	h hookedStore
}

func (o hookedOffers) Tx(ctx context.Context, fn func(offers.Store) error) error {
	return o.Store.Tx(ctx, func(st offers.Store) error { return fn(hookedOffers{st, o.h}) })
}

func (o hookedOffers) UpdateJob(ctx context.Context, j dispatch.Job) (dispatch.Job, error) {
	if o.h.beforeUpdateJob != nil {
		o.h.beforeUpdateJob(j)
	}
	return o.Store.UpdateJob(ctx, j)
}

func (o hookedOffers) LockJob(ctx context.Context, id int64) (dispatch.Job, error) {
	if id == o.h.failLockJob {
		return dispatch.Job{}, errInjected
	}
	return o.Store.LockJob(ctx, id)
}

func (o hookedOffers) RefusedTechnicians(ctx context.Context, id int64) ([]int64, error) {
	if id == o.h.failRefused {
		return nil, errInjected
	}
	return o.Store.RefusedTechnicians(ctx, id)
}

// Watchdog is the watchdog's store with the same hooks.
func (h hookedStore) Watchdog() watchdog.Store { return hookedWatchdog{h.Store.Watchdog(), h} }

// hookedWatchdog is the watchdog's store through h's hooks.
type hookedWatchdog struct {
	watchdog.Store
	h hookedStore
}

func (w hookedWatchdog) Tx(ctx context.Context, fn func(watchdog.Store) error) error {
	return w.Store.Tx(ctx, func(st watchdog.Store) error { return fn(hookedWatchdog{st, w.h}) })
}

func (w hookedWatchdog) LockJob(ctx context.Context, id int64) (dispatch.Job, error) {
	if id == w.h.failLockJob {
		return dispatch.Job{}, errInjected
	}
	return w.Store.LockJob(ctx, id)
}

// Optimize is the re-optimisation's store with the same hooks.
func (h hookedStore) Optimize() optimize.Store { return hookedOptimize{h.Store.Optimize(), h} }

// hookedOptimize is the re-optimisation's store through h's hooks.
type hookedOptimize struct {
	optimize.Store
	h hookedStore
}

func (o hookedOptimize) Tx(ctx context.Context, fn func(optimize.Store) error) error {
	return o.Store.Tx(ctx, func(st optimize.Store) error { return fn(hookedOptimize{st, o.h}) })
}

func (o hookedOptimize) PlanVersions(ctx context.Context, ids []int64, lock bool) (map[int64]int64, error) {
	if lock && o.h.beforeLockPlans != nil {
		o.h.beforeLockPlans(ids)
	}
	return o.Store.PlanVersions(ctx, ids, lock)
}

func (o hookedOptimize) MovableJobs(ctx context.Context, frozenUntil time.Time, region string) ([]int64, error) {
	if region == o.h.failMovable && region != "" {
		return nil, errInjected
	}
	return o.Store.MovableJobs(ctx, frozenUntil, region)
}
