package planning

import (
	"context"
	"time"
)

// A new booking planned on the plan cache (Plan with onCache) is written only if the chosen
// technician's plan is still at the version it was planned on, plus one for each of this
// process's picks it was planned around that committed: the guarded write (see planCache).

// NewJobID is a placeholder id, never a real job's, for the pick of a job not yet written.
func (p *Planner) NewJobID() int64 { return p.pending.tempID() }

// ExpectedVersion is the plan version pl's guarded write must find (nil: pl is nil or not guarded).
// Picks of this process on the same technician planned just ahead of pl are settled first: their
// commits are then expected, not a change. (Their writes come first anyway; under overload that
// may take seconds.)
func (pl *Placement) ExpectedVersion(ctx context.Context) *int64 {
	if pl == nil || pl.PlanVersion == nil {
		return nil
	}
	v := pl.planner.pending.planVersion(ctx, *pl.PlanVersion, pl.seen, pl.route, 10*time.Second)
	return &v
}

// Changed drops the plan of pl's technician, which its guarded write found moved: the next
// booking reads it.
func (pl *Placement) Changed() {
	pl.planner.Env.Count().PlanCache("changed")
	pl.planner.cache.forget(pl.TechnicianID)
}

// Written records pl's job, written as stop in st's transaction: its pick now names the job, and
// after a guarded write at version (nil: none), which moved the plan by one with this job, the
// cache follows once st commits (after the pick's reservation is settled, so that the stop is not
// counted twice).
func (pl *Placement) Written(st Store, version *int64, stop Stop) {
	pl.planner.pending.written(pl.pick, stop.JobID)
	if version == nil {
		return
	}
	v := *version
	st.AfterTx(func(committed bool) {
		if committed {
			pl.planner.cache.wrote(v, stop, time.Now())
		}
	})
}
