// Package schedule runs FieldFix's background jobs on cron expressions (robfig/cron/v3), each
// tick once across replicas: a replica runs a tick only after claiming its (name, tick) row,
// which one replica at a time can do.
//
// A tick that fails (the database restarting, say) is tried again with backoff, by whichever
// replica claims it next, until it runs or the next tick supersedes it; then it is recorded as
// missed. A job with CatchUp looks back, when a replica starts, for ticks that never ran (no
// replica was up) and runs them late: daily work runs late rather than never.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is one schedule.
type Job struct {
	Name string
	Spec string // cron expression: 5 fields, an optional leading seconds field, or @every/@daily...
	// Run does the work for tick; its summary is recorded with the run.
	Run func(ctx context.Context, tick time.Time) (summary any, err error)
	// CatchUp is how far back a replica looks, when it starts, for ticks that never ran (no
	// replica was up, or every try failed until the next tick came) to run them late; 0 leaves
	// a missed tick to the next one.
	CatchUp time.Duration
	// EachTick: every missed tick within CatchUp is run, and the look back is repeated after
	// every tick, because each tick's work is its own (a day's KPI roll-up). Otherwise only the
	// latest tick is run, which does what the ones before it would have.
	EachTick bool
	// Timeout bounds one run, and with it the claim: past it, another replica may take the tick
	// over (its replica died mid-run). Default: the time to the next tick, at most 10 minutes,
	// at least one.
	Timeout time.Duration
}

// Claims records ticks; PostgreSQL's implementation is in dispatch/postgres.
type Claims interface {
	// ClaimTick takes name's tick for replica until until: a tick nobody claimed, or one whose
	// last try failed, that was missed, or whose claim ran out. It returns the attempt number
	// when it took it, else 0 and the tick's status (running, ok).
	ClaimTick(ctx context.Context, name string, tick time.Time, replica string, now, until time.Time) (attempt int, status string, err error)
	// FinishTick records how replica's run of a tick ended: status ok or failed.
	FinishTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time, status, outcome string, summary any) error
	// MissTick records a tick given up unless it ran or is being run; true when this call
	// recorded it (so that one replica counts it).
	MissTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time, reason string) (bool, error)
	// TicksDone returns the first tick name ever recorded (zero when none) and the ticks after
	// since that ran or are being run under a live claim.
	TicksDone(ctx context.Context, name string, since, now time.Time) (first time.Time, done []time.Time, err error)
}

// Metrics counts runs (outcome ok or failed; late when the run was a retry or a catch-up) and
// missed ticks; the metrics adapter implements it.
type Metrics interface {
	ScheduleRun(name, outcome string, late bool)
	ScheduleMissed(name string)
}

// Parser reads our cron expressions: standard five fields, an optional seconds field first.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse checks a cron expression.
func Parse(spec string) (cron.Schedule, error) {
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron expression %q: %w", spec, err)
	}
	return s, nil
}

// Runner runs jobs until its context ends.
type Runner struct {
	Jobs    []Job
	Claims  Claims
	Replica string
	Log     *slog.Logger
	Metrics Metrics // nil: nothing counted
	Now     func() time.Time
	// Speed is how many of Now's seconds pass in a wall second: a simulation's clock runs its
	// ticks as many times sooner (0: 1, the wall clock).
	Speed float64
	// RetryBase is the wait before the first retry of a failed tick (1 s), doubling with jitter
	// up to RetryMax (1 min) until the next tick.
	RetryBase, RetryMax time.Duration
}

func (r *Runner) defaults() {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if r.Speed <= 0 {
		r.Speed = 1
	}
	if r.RetryBase <= 0 {
		r.RetryBase = time.Second
	}
	if r.RetryMax <= 0 {
		r.RetryMax = time.Minute
	}
}

// Run schedules every job and blocks until ctx ends; a job still running gets to finish.
func (r *Runner) Run(ctx context.Context) error {
	r.defaults()
	scheds := make([]cron.Schedule, len(r.Jobs))
	for i, j := range r.Jobs {
		s, err := Parse(j.Spec)
		if err != nil {
			return fmt.Errorf("schedule %s: %w", j.Name, err)
		}
		scheds[i] = s
	}
	var wg sync.WaitGroup
	for i, j := range r.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, j, scheds[i])
		}()
	}
	wg.Wait()
	return nil
}

func (r *Runner) loop(ctx context.Context, j Job, s cron.Schedule) {
	var unrecorded []time.Time // ticks given up while the database could not record it
	if j.CatchUp > 0 {
		unrecorded = append(unrecorded, r.catchUp(ctx, j, s)...)
	}
	for ctx.Err() == nil {
		// Ticks sit on the cron grid (whole seconds), so every replica computes the same ones.
		tick := s.Next(r.Now())
		if !sleep(ctx, time.Duration(float64(tick.Sub(r.Now()))/r.Speed)) {
			return
		}
		if !r.attempt(ctx, j, tick, s.Next(tick), false) {
			unrecorded = append(unrecorded, tick)
		}
		if j.CatchUp > 0 && j.EachTick {
			unrecorded = append(unrecorded, r.catchUp(ctx, j, s)...)
		}
		unrecorded = slices.DeleteFunc(unrecorded, func(t time.Time) bool { return r.miss(ctx, j, t, "superseded by the next tick", nil) })
		if len(unrecorded) > 100 {
			unrecorded = unrecorded[len(unrecorded)-100:]
		}
	}
}

// attempt runs tick, trying again with backoff while it fails (or another replica holds it)
// until it ran or until comes; then the tick is recorded as missed. It returns false when the
// tick was given up and that could not be recorded (the database is still away).
func (r *Runner) attempt(ctx context.Context, j Job, tick, until time.Time, late bool) bool {
	for try := 1; ctx.Err() == nil; try++ {
		st, err := r.try(ctx, j, tick, until, late || try > 1)
		if st == ran || st == settled {
			return true
		}
		wait := r.backoff(try)
		if r.Now().Add(wait).After(until) {
			return r.miss(ctx, j, tick, "superseded by the next tick", err)
		}
		if st == failed && ctx.Err() == nil {
			r.Log.Warn("schedule run failed; trying again", "schedule", j.Name, "tick", tick, "try", try, "in", wait, "err", err)
		}
		if !sleep(ctx, wait) {
			return true
		}
	}
	return true
}

// miss records tick as missed, and counts it when this replica was the one to record it (a tick
// that ran, or is being run, is not missed). It returns false when the record could not be made.
func (r *Runner) miss(ctx context.Context, j Job, tick time.Time, reason string, cause error) bool {
	if cause != nil {
		reason += "; last error: " + cause.Error()
	}
	missed, err := r.Claims.MissTick(context.WithoutCancel(ctx), j.Name, tick, r.Replica, r.Now(), reason)
	if err != nil {
		r.Log.Error("schedule tick given up; recording it failed, will try again", "schedule", j.Name, "tick", tick, "err", errors.Join(cause, err))
		return false
	}
	if missed {
		r.Log.Error("schedule tick missed", "schedule", j.Name, "tick", tick, "err", cause)
		if r.Metrics != nil {
			r.Metrics.ScheduleMissed(j.Name)
		}
	}
	return true
}

// catchUp runs late the ticks within j.CatchUp that never ran: each (EachTick), or the latest.
// A schedule that never recorded a tick missed none. The look back is itself tried again while
// the database cannot be read, until the next tick. It returns the ticks given up whose miss
// could not be recorded.
func (r *Runner) catchUp(ctx context.Context, j Job, s cron.Schedule) []time.Time {
	now := r.Now()
	until := s.Next(now)
	since := now.Add(-j.CatchUp)
	var (
		first time.Time
		done  []time.Time
		err   error
	)
	for try := 1; ; try++ {
		if first, done, err = r.Claims.TicksDone(ctx, j.Name, since, now); err == nil {
			break
		}
		wait := r.backoff(try)
		if r.Now().Add(wait).After(until) {
			r.Log.Error("schedule catch-up could not read past runs", "schedule", j.Name, "err", err)
			return nil
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
	if first.IsZero() {
		return nil
	}
	ran := map[int64]bool{}
	for _, t := range done {
		ran[t.Unix()] = true
	}
	from := since
	if first.After(since) {
		from = first
	}
	var missed []time.Time
	for t := s.Next(from); !t.After(now); t = s.Next(t) {
		if !ran[t.Unix()] {
			missed = append(missed, t)
		} else if !j.EachTick {
			missed = missed[:0] // a later tick ran: it did the work of those before it
		}
	}
	if !j.EachTick && len(missed) > 1 {
		missed = missed[len(missed)-1:]
	}
	var unrecorded []time.Time
	for _, t := range missed {
		r.Log.Warn("schedule tick missed while no replica ran it; running it late", "schedule", j.Name, "tick", t)
		if !r.attempt(ctx, j, t, until, true) {
			unrecorded = append(unrecorded, t)
		}
	}
	return unrecorded
}

type state int

const (
	failed  state = iota // the run failed, or the claim could not be made: try again
	busy                 // another replica holds the tick
	settled              // the tick ran already
	ran                  // this call ran it
)

// Tick runs job j for tick unless another replica holds it or it ran; it reports whether it ran.
func (r *Runner) Tick(ctx context.Context, j Job, tick time.Time) (bool, error) {
	r.defaults()
	s, err := Parse(j.Spec)
	if err != nil {
		return false, err
	}
	st, err := r.try(ctx, j, tick, s.Next(tick), false)
	return st == ran, err
}

// try claims tick and runs it once; next is the tick after it.
func (r *Runner) try(ctx context.Context, j Job, tick, next time.Time, late bool) (state, error) {
	now := r.Now()
	timeout := j.timeout(next.Sub(tick))
	attempt, status, err := r.Claims.ClaimTick(ctx, j.Name, tick, r.Replica, now, now.Add(timeout))
	switch {
	case err != nil:
		return failed, fmt.Errorf("claim: %w", err)
	case attempt == 0 && status == "running":
		return busy, nil
	case attempt == 0:
		return settled, nil
	}
	late = late || attempt > 1
	runCtx, cancel := context.WithTimeout(ctx, timeout) // the claim ends with it
	summary, runErr := j.Run(runCtx, tick)
	cancel()
	status, outcome := "ok", "ok"
	if runErr != nil {
		status, outcome = "failed", "error: "+runErr.Error()
	}
	if r.Metrics != nil {
		r.Metrics.ScheduleRun(j.Name, status, late)
	}
	if late && runErr == nil {
		r.Log.Info("schedule ran late", "schedule", j.Name, "tick", tick, "attempt", attempt, "late_by", r.Now().Sub(tick).Round(time.Millisecond))
	}
	// Record the outcome even when ctx was cancelled mid-run.
	if err := r.Claims.FinishTick(context.WithoutCancel(ctx), j.Name, tick, r.Replica, r.Now(), status, outcome, summary); err != nil {
		return failed, errors.Join(runErr, fmt.Errorf("record the run: %w", err))
	}
	if runErr != nil {
		return failed, runErr
	}
	return ran, nil
}

func (j Job) timeout(period time.Duration) time.Duration {
	if j.Timeout > 0 {
		return j.Timeout
	}
	return min(max(period, time.Minute), 10*time.Minute)
}

// backoff is the wait before retry number try: RetryBase doubling up to RetryMax, in [d/2, d).
func (r *Runner) backoff(try int) time.Duration {
	d := r.RetryBase
	for i := 1; i < try && d < r.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
