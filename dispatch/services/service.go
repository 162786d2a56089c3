// Package services wires the areas of one process over one store adapter: one planner (its geo
// index, plan cache and picks) and one offers loop that every area shares. cmd/fieldfix, the
// benchmarks and the tests build the set here, so that all of them run what the server runs.
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
	"github.com/fieldfix/fieldfix/dispatch/money"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/overrides"
	"github.com/fieldfix/fieldfix/dispatch/parts"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/dispatch/proof"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/techsync"
	"github.com/fieldfix/fieldfix/dispatch/watchdog"
)

// Set is every area's service, wired together.
type Set struct {
	Env        *dispatch.Env
	Planner    *planning.Planner
	Offers     *offers.Service
	Intake     *intake.Service
	Lifecycle  *lifecycle.Service
	Roster     *roster.Service
	Overrides  *overrides.Service
	Board      *board.Service
	Optimize   *optimize.Service
	Watchdog   *watchdog.Service
	Aftersales *aftersales.Service
	Proof      *proof.Service
	Money      *money.Service
	TechSync   *techsync.Service
	Parts      *parts.Service
}

// Stores is a store adapter: each area's store.
type Stores interface {
	Planning() planning.Store
	Offers() offers.Store
	Intake() intake.Store
	Lifecycle() lifecycle.Store
	Roster() roster.Store
	Overrides() overrides.Store
	Board() board.Store
	Optimize() optimize.Store
	Watchdog() watchdog.Store
	Aftersales() aftersales.Store
	Proof() proof.Store
	// Blobs is where attachments' bytes go unless the caller sets another store on Set.Proof.
	Blobs() proof.Blobs
	Money() money.Store
	TechSync() techsync.Store
	Parts() parts.Store
}

// ReadFrom serves the board, the audit trail, the KPIs and the lists from reads (a store on a
// streaming replica); fresh says where each read went and how stale it was.
func (s *Set) ReadFrom(reads Stores, fresh func(context.Context) (source string, lag time.Duration)) {
	s.Board.Store, s.Board.Fresh = reads.Board(), fresh
	s.Aftersales.Reads = reads.Aftersales()
	s.Intake.Reads = reads.Intake()
	s.Roster.Reads = reads.Roster()
}

// New wires the areas over store with the business rules, the wall clock and a silent log where
// none are given, and every area's defaults; callers adjust the exported fields after (the
// planner's index and matrix, the metrics on Env).
func New(store Stores, rules dispatch.Rules, clock dispatch.Clock, log *slog.Logger) *Set {
	env := dispatch.NewEnv(rules, clock, log)
	planner := planning.NewPlanner(store.Planning(), env)
	offs := offers.New(store.Offers(), env, planner)
	in := intake.New(store.Intake(), env, planner, offs)
	pw := proof.New(store.Proof(), env, store.Blobs())
	mon := money.New(store.Money(), env)
	prt := parts.New(store.Parts(), env, offs)
	// intake settles warranties on site; proof gates completion (checklist, sign-off); parts
	// takes what the visit used out of the van; money then invoices the paid visit or claims the
	// warranty one
	lc := lifecycle.New(store.Lifecycle(), env, planner, offs, in, pw, prt, mon)
	return &Set{
		Env:        env,
		Planner:    planner,
		Offers:     offs,
		Intake:     in,
		Lifecycle:  lc,
		Roster:     roster.New(store.Roster(), env),
		Overrides:  overrides.New(store.Overrides(), env, planner, offs),
		Board:      board.New(store.Board(), env, planner),
		Optimize:   optimize.New(store.Optimize(), env, planner, offs),
		Watchdog:   watchdog.New(store.Watchdog(), env, planner, offs),
		Aftersales: aftersales.New(store.Aftersales(), env),
		Proof:      pw,
		Money:      mon,
		Parts:      prt,
		TechSync:   techsync.New(store.TechSync(), env, actsOf(lc, pw, prt)),
	}
}

// actsOf are the technician's acts as lifecycle and proof carry them out, for the sync.
func actsOf(lc *lifecycle.Service, pw *proof.Service, prt *parts.Service) techsync.Acts {
	return techsync.Acts{
		Accept:  lc.AcceptJob,
		Decline: lc.DeclineJob,
		Status:  lc.UpdateJobStatus,
		Ping:    lc.PingLocation,
		Answer: func(ctx context.Context, a dispatch.Actor, jobID int64, answers map[string]any) error {
			_, err := pw.FillChecklist(ctx, a, jobID, answers)
			return err
		},
		SignOff: func(ctx context.Context, a dispatch.Actor, jobID int64, so techsync.SignOff) error {
			_, err := pw.SignOff(ctx, a, jobID, proof.SignOffRequest{Method: so.Method, SignerName: so.SignerName, Strokes: so.Strokes,
				Code: so.Code, Reason: so.Reason})
			return err
		},
		PickUp: func(ctx context.Context, a dispatch.Actor, jobID int64) error {
			_, _, err := prt.PickUp(ctx, a, jobID)
			return err
		},
		PickupOf: func(ctx context.Context, j dispatch.Job, b dispatch.Booking) (*techsync.Pickup, error) {
			p, err := lc.PickupStop(ctx, j, b)
			if err != nil || p == nil {
				return nil, err
			}
			return &techsync.Pickup{LocationID: p.ID, Name: p.Name, Location: p.Location, Start: p.Start, End: p.End}, nil
		},
	}
}
