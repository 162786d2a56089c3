package postgres

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch/aftersales"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/overrides"
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
