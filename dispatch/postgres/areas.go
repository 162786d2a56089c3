package postgres

import (
	"context"
	"fmt"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/aftersales"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/lifecycle"
	"github.com/fieldfix/fieldfix/dispatch/money"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/overrides"
	"github.com/fieldfix/fieldfix/dispatch/parts"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/watchdog"
)

// Each area's store is a type of its own over the same Store (the pool, or one transaction):
// planRows are what planning reads; jobRows add what offering, withdrawing and planning a job
// again write, and what most areas share (jobs, bookings, audit, notifications); each area's type
// adds its own rows and its transactions (Tx), which hand fn the area's store bound to them.
type (
	planRows        struct{ *Store }
	jobRows         struct{ planRows }
	offersStore     struct{ jobRows }
	intakeStore     struct{ jobRows }
	lifecycleStore  struct{ jobRows }
	rosterStore     struct{ jobRows }
	overridesStore  struct{ jobRows }
	boardStore      struct{ jobRows }
	optimizeStore   struct{ jobRows }
	watchdogStore   struct{ jobRows }
	aftersalesStore struct{ jobRows }
	moneyStore      struct{ jobRows }
	partsStore      struct{ jobRows }
)

// Pushes is the outbox as the push workers see it (push.Store).
type Pushes struct{ *Store }

// Ticks are the schedules' claims on their ticks (schedule.Claims).
type Ticks struct{ *Store }

// rowsOf are the rows most areas share, on s.
func rowsOf(s *Store) jobRows { return jobRows{planRows{s}} }

// Planning is the store planning reads: no transaction of its own, it reads in its caller's.
func (s *Store) Planning() planning.Store { return planRows{s} }

// Offers is the store of offers.
func (s *Store) Offers() offers.Store { return offersStore{rowsOf(s)} }

// Intake is the store of purchases and bookings, which a new booking writes outside a
// transaction (Autocommit) and a visit's report joins (Join).
func (s *Store) Intake() intake.Store { return intakeStore{rowsOf(s)} }

// Lifecycle is the store of a job's life in the technician's hands.
func (s *Store) Lifecycle() lifecycle.Store { return lifecycleStore{rowsOf(s)} }

// Roster is the store of the technicians.
func (s *Store) Roster() roster.Store { return rosterStore{rowsOf(s)} }

// Overrides is the store of the dispatcher's overrides.
func (s *Store) Overrides() overrides.Store { return overridesStore{rowsOf(s)} }

// Board is the store of the dispatcher's board, map and audit trail: reads alone.
func (s *Store) Board() board.Store { return boardStore{rowsOf(s)} }

// Optimize is the store of re-optimisation.
func (s *Store) Optimize() optimize.Store { return optimizeStore{rowsOf(s)} }

// Watchdog is the store of the SLA watchdog.
func (s *Store) Watchdog() watchdog.Store { return watchdogStore{rowsOf(s)} }

// Aftersales is the store of feedback, complaints and KPIs.
func (s *Store) Aftersales() aftersales.Store { return aftersalesStore{rowsOf(s)} }

// Money is the store of prices, quotes, invoices, payments and warranty claims, which a visit's
// report joins (Join).
func (s *Store) Money() money.Store { return moneyStore{rowsOf(s)} }

// Parts is the store of the catalogue, stock and part requests, which a visit's report joins (Join).
func (s *Store) Parts() parts.Store { return partsStore{rowsOf(s)} }

// Pushes is the push workers' outbox.
func (s *Store) Pushes() Pushes { return Pushes{s} }

// Ticks are the schedules' claims on their ticks.
func (s *Store) Ticks() Ticks { return Ticks{s} }

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s offersStore) Tx(ctx context.Context, fn func(offers.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Offers()) })
}

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s intakeStore) Tx(ctx context.Context, fn func(intake.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Intake()) })
}

// Autocommit runs fn outside a transaction, and its AfterTx hooks when fn returns.
func (s intakeStore) Autocommit(ctx context.Context, fn func(intake.Store) (bool, error)) error {
	return s.autocommit(ctx, func(st *Store) (bool, error) { return fn(st.Intake()) })
}

// Join is the store bound to tx, another area's open transaction.
func (s intakeStore) Join(tx dispatch.Tx) intake.Store { return joined(tx).Intake() }

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s lifecycleStore) Tx(ctx context.Context, fn func(lifecycle.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Lifecycle()) })
}

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s rosterStore) Tx(ctx context.Context, fn func(roster.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Roster()) })
}

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s overridesStore) Tx(ctx context.Context, fn func(overrides.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Overrides()) })
}

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s optimizeStore) Tx(ctx context.Context, fn func(optimize.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Optimize()) })
}

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s watchdogStore) Tx(ctx context.Context, fn func(watchdog.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Watchdog()) })
}

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s aftersalesStore) Tx(ctx context.Context, fn func(aftersales.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Aftersales()) })
}

// joined is the store bound to tx, the transaction of another area's store of this package: a
// hook's writes commit or roll back with the change that called it.
func joined(tx dispatch.Tx) *Store {
	if b, ok := tx.(interface{ base() *Store }); ok {
		return b.base()
	}
	panic(fmt.Sprintf("postgres: %T is not a transaction of this store", tx))
}

func (s *Store) base() *Store { return s }
