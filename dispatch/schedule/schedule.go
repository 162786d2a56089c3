// Package schedule runs FieldFix's background jobs on cron expressions (robfig/cron/v3), each
// tick exactly once across replicas: a replica runs a tick only after inserting its
// (name, tick) row, which the primary key lets one replica do.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
}

// Claims records ticks; PostgreSQL's implementation is in dispatch/postgres.
type Claims interface {
	ClaimTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time) (bool, error)
	FinishTick(ctx context.Context, name string, tick time.Time, now time.Time, outcome string, summary any) error
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
	Now     func() time.Time
}

// Run schedules every job and blocks until ctx ends; a job still running gets to finish.
func (r *Runner) Run(ctx context.Context) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
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
	for {
		// Ticks sit on the cron grid (whole seconds), so every replica computes the same ones.
		tick := s.Next(r.Now())
		timer := time.NewTimer(time.Until(tick))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if _, err := r.Tick(ctx, j, tick); err != nil && ctx.Err() == nil {
			r.Log.Error("schedule run failed", "schedule", j.Name, "tick", tick, "err", err)
		}
	}
}

// Tick runs job j for tick unless another replica claimed it; it reports whether it ran.
func (r *Runner) Tick(ctx context.Context, j Job, tick time.Time) (bool, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	ok, err := r.Claims.ClaimTick(ctx, j.Name, tick, r.Replica, now())
	if err != nil || !ok {
		return false, err
	}
	summary, runErr := j.Run(ctx, tick)
	outcome := "ok"
	if runErr != nil {
		outcome = "error: " + runErr.Error()
	}
	// Record the outcome even when ctx was cancelled mid-run.
	if err := r.Claims.FinishTick(context.WithoutCancel(ctx), j.Name, tick, now(), outcome, summary); err != nil {
		return true, errors.Join(runErr, err)
	}
	return true, runErr
}
