// Package services holds FieldFix's use cases over the domain of package dispatch (being split
// into one package per use-case area).
package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/aftersales"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/lifecycle"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/overrides"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/watchdog"
)

// Service holds the use cases.
type Service struct {
	*dispatch.Env
	Store      dispatch.Store
	Planner    *planning.Planner
	Offers     *offers.Service
	Watchdog   *watchdog.Service
	Optimize   *optimize.Service
	Aftersales *aftersales.Service
	Board      *board.Service
	Roster     *roster.Service
	Overrides  *overrides.Service

	Intake    *intake.Service
	Lifecycle *lifecycle.Service
}

// Stores is a store adapter: the store of the use cases still here, and each area's own.
type Stores interface {
	dispatch.Store
	Offers() offers.Store
	Aftersales() aftersales.Store
	Board() board.Store
	Roster() roster.Store
	Overrides() overrides.Store
	Watchdog() watchdog.Store
	Optimize() optimize.Store
	Intake() intake.Store
	Lifecycle() lifecycle.Store
}

// NewService wires a service with the default lifecycle, planning and travel model, the wall
// clock and a silent log where none are given; callers adjust the exported fields after.
func NewService(store Stores, rules dispatch.Rules, clock dispatch.Clock, log *slog.Logger) *Service {
	env := dispatch.NewEnv(rules, clock, log)
	planner := planning.NewPlanner(store, env)
	offs := offers.New(store.Offers(), env, planner)
	s := &Service{Env: env, Store: store, Planner: planner, Offers: offs,
		Watchdog: watchdog.New(store.Watchdog(), env, planner, offs), Optimize: optimize.New(store.Optimize(), env, planner, offs), Aftersales: aftersales.New(store.Aftersales(), env), Board: board.New(store.Board(), env, planner), Roster: roster.New(store.Roster(), env),
		Overrides: overrides.New(store.Overrides(), env, planner, offs), Intake: intake.New(store.Intake(), env, planner, offs)}
	s.Lifecycle = lifecycle.New(store.Lifecycle(), env, planner, offs, s.Intake)
	return s
}

func (s *Service) now() time.Time { return s.Env.Now() }

func (s *Service) metrics() dispatch.Metrics { return s.Env.Count() }

func (s *Service) planTx(ctx context.Context, fn func(st dispatch.Store) error) error {
	return planning.Retry(ctx, s.Store.Tx, fn)
}

// ---- purchases ----

// ---- bookings ----

// ---- technicians ----
