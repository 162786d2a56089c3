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

// ExpectedVersion is the plan version pl's guarded write must find (nil: pl is not guarded).
// Picks of this process on the same technician planned just ahead of pl are settled first: their
// commits are then expected, not a change. (Their writes come first anyway; under overload that
// may take seconds.)
func (p *Planner) ExpectedVersion(ctx context.Context, pl *Placement) *int64 {
	if pl == nil || pl.PlanVersion == nil {
		return nil
	}
	v := p.pending.planVersion(ctx, *pl.PlanVersion, pl.seen, pl.route, 10*time.Second)
	return &v
}

// PlanChanged drops the plan of pl's technician, which its guarded write found moved: the next
// booking reads it.
func (p *Planner) PlanChanged(pl *Placement) {
	p.Env.Count().PlanCache("changed")
	p.cache.forget(pl.TechnicianID)
}

// Written records pl's job, written as stop in st's transaction: its pick now names the job, and
// after a guarded write at version (nil: none), which moved the plan by one with this job, the
// cache follows once st commits (after the pick's reservation is settled, so that the stop is not
// counted twice).
func (p *Planner) Written(st Store, pl *Placement, version *int64, stop Stop) {
	p.pending.written(pl.pick, stop.JobID)
	if version == nil {
		return
	}
	v := *version
	st.AfterTx(func(committed bool) {
		if committed {
			p.cache.wrote(v, stop, time.Now())
		}
	})
}
