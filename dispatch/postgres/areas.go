package postgres

import (
	"context"
	"fmt"

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

// area is the store of one use-case area: this store's methods, with transactions (Tx) that hand
// fn the area's store again, bound to the transaction.
type area[S any] struct {
	*Store
	bind func(*Store) S
}

// Tx runs fn in a transaction; inside one already, fn joins it.
func (a area[S]) Tx(ctx context.Context, fn func(S) error) error {
	return a.Store.inTx(ctx, func(st *Store) error { return fn(a.bind(st)) })
}

// Offers is the store of offers.
func (s *Store) Offers() offers.Store { return area[offers.Store]{s, (*Store).Offers} }

// Aftersales is the store of feedback, complaints and KPIs.
func (s *Store) Aftersales() aftersales.Store { return area[aftersales.Store]{s, (*Store).Aftersales} }

// Board is the store of the dispatcher's board, map and audit trail: reads alone.
func (s *Store) Board() board.Store { return s }

// Roster is the store of the technicians.
func (s *Store) Roster() roster.Store { return area[roster.Store]{s, (*Store).Roster} }

// Overrides is the store of the dispatcher's overrides.
func (s *Store) Overrides() overrides.Store { return area[overrides.Store]{s, (*Store).Overrides} }

// Watchdog is the store of the SLA watchdog.
func (s *Store) Watchdog() watchdog.Store { return area[watchdog.Store]{s, (*Store).Watchdog} }

// Optimize is the store of re-optimisation.
func (s *Store) Optimize() optimize.Store { return area[optimize.Store]{s, (*Store).Optimize} }

// Intake is the store of purchases and bookings, which a new booking writes outside a
// transaction (Autocommit) and a visit's report joins (Join).
func (s *Store) Intake() intake.Store { return intakeStore{area[intake.Store]{s, (*Store).Intake}} }

type intakeStore struct{ area[intake.Store] }

// Autocommit runs fn outside a transaction, and its AfterTx hooks when fn returns.
func (s intakeStore) Autocommit(ctx context.Context, fn func(intake.Store) (bool, error)) error {
	return s.Store.autocommit(ctx, func(st *Store) (bool, error) { return fn(st.Intake()) })
}

// Join is the store bound to tx, another area's open transaction.
func (s intakeStore) Join(tx dispatch.Tx) intake.Store { return joined(tx).Intake() }

// joined is the store bound to tx, the transaction of another area's store of this package: a
// hook's writes commit or roll back with the change that called it.
func joined(tx dispatch.Tx) *Store {
	if b, ok := tx.(interface{ base() *Store }); ok {
		return b.base()
	}
	panic(fmt.Sprintf("postgres: %T is not a transaction of this store", tx))
}

func (s *Store) base() *Store { return s }

// Lifecycle is the store of a job's life in the technician's hands.
func (s *Store) Lifecycle() lifecycle.Store { return area[lifecycle.Store]{s, (*Store).Lifecycle} }

// Planning is the store planning reads: no transaction of its own, it reads in its caller's.
func (s *Store) Planning() planning.Store { return s }
