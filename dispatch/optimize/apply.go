package optimize

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// place is where the solver puts a job.
type place struct {
	tech  int64
	start time.Time
}

// applyPlan writes the groups of changes sel kept, each in a transaction of its own holding its
// technicians' plans, and only when none of them moved since the read: a booking that landed
// meanwhile leaves its technicians' group for the next run, not the whole run undone. It
// returns the groups written and how many changed jobs it left.
func (s *Service) applyPlan(ctx context.Context, a dispatch.Actor, rp *readPlanned, sel *selection, yield func()) ([]changeGroup, int, error) {
	var written []changeGroup
	skipped := 0
	rp.written = map[int64]dispatch.JobStatus{}
	for _, g := range sel.groups {
		yield()
		err := s.Store.Tx(ctx, func(st Store) error {
			return s.applyGroup(ctx, st, a, rp, g, sel.changes)
		})
		switch {
		case dispatch.LostRace(err) || errors.Is(err, errMovedMeanwhile):
			skipped += len(g.jobs)
		case err != nil:
			return written, skipped, err
		default:
			written = append(written, g)
		}
	}
	return written, skipped, nil
}

// changeGroup is a set of technicians and the changed jobs that touch only them, sorted.
type changeGroup struct{ techs, jobs []int64 }

// changeGroups splits the changed jobs (sorted ids) into groups that share no technician, in the
// order of their lowest technician id; changes says where a job goes (none: off its route).
func changeGroups(ids []int64, rp *readPlanned, changes map[int64]place) []changeGroup {
	parent := map[int64]int64{}
	var find func(int64) int64
	find = func(x int64) int64 {
		p, ok := parent[x]
		if !ok {
			parent[x] = x
			return x
		}
		if p != x {
			p = find(p)
			parent[x] = p
		}
		return p
	}
	touched := func(id int64) []int64 {
		var ts []int64
		if p := rp.movable[id].TechnicianID; p != nil {
			ts = append(ts, *p)
		}
		if c, ok := changes[id]; ok {
			ts = append(ts, c.tech)
		}
		return ts
	}
	for _, id := range ids {
		ts := touched(id)
		for _, t := range ts {
			if a, b := find(ts[0]), find(t); a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	byRoot := map[int64]*changeGroup{}
	for t := range parent {
		r := find(t)
		if byRoot[r] == nil {
			byRoot[r] = &changeGroup{}
		}
		byRoot[r].techs = append(byRoot[r].techs, t)
	}
	for _, id := range ids {
		g := byRoot[find(touched(id)[0])]
		g.jobs = append(g.jobs, id)
	}
	out := make([]changeGroup, 0, len(byRoot))
	for _, g := range byRoot {
		slices.Sort(g.techs)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b changeGroup) int { return cmp.Compare(a.techs[0], b.techs[0]) })
	return out
}

// applyGroup writes one group's changes in st. It locks the jobs (in id order) before the
// technicians, as the job transitions do (a job's row, then through its trigger its technician's),
// so that it cannot deadlock with one; then it holds the technicians' plans and writes only if
// none moved since the read.
func (s *Service) applyGroup(ctx context.Context, st Store, a dispatch.Actor, rp *readPlanned, g changeGroup, changes map[int64]place) error {
	ids := g.jobs
	locked := map[int64]dispatch.Job{}
	for _, id := range ids {
		j, err := st.LockJob(ctx, id)
		if err != nil {
			return err
		}
		was := rp.movable[id]
		if j.Version != was.Version || j.Pinned || (j.Status != dispatch.JobUnassigned && j.Status != dispatch.JobOffered) {
			return errMovedMeanwhile
		}
		locked[id] = j
	}
	vs, err := st.PlanVersions(ctx, g.techs, true)
	if err != nil {
		return err
	}
	for _, t := range g.techs {
		if vs[t] != rp.versions[t] {
			return errMovedMeanwhile
		}
	}
	// Clear the old places first, so jobs trading slots do not collide on the way. A job that
	// stays with its technician keeps its offer: only its time changes.
	stays := func(id int64) bool {
		to, ok := changes[id]
		was := rp.movable[id].TechnicianID
		return ok && was != nil && *was == to.tech
	}
	for _, id := range ids {
		j := locked[id]
		if j.TechnicianID == nil {
			continue
		}
		if !stays(id) {
			if err := s.Offers.Withdraw(ctx, st, j, "re-optimised"); err != nil {
				return err
			}
			j.OfferExpiresAt = nil
		}
		j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.Status = nil, nil, nil, dispatch.JobUnassigned
		saved, err := st.UpdateJob(ctx, j)
		if err != nil {
			return err
		}
		locked[id] = saved
	}
	now := s.Now()
	for _, id := range ids {
		j, b, to := locked[id], rp.booking[id], changes[id]
		prev := rp.movable[id].TechnicianID
		data := map[string]any{"booking_id": b.ID, "previous_technician_id": prev, "previous_start": rp.movable[id].PlannedStart}
		audit := func() error {
			return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: j.ID,
				Action: "reoptimized", FromStatus: string(rp.movable[id].Status), ToStatus: string(dispatch.JobUnassigned), Data: data})
		}
		if to.tech == 0 { // dropped: back to the queue, the technician told
			if err := s.Env.TellTechnician(ctx, st, prev, j, "cancellation", "Job removed", fmt.Sprintf("Visit %s was taken off your route.", j.Reference())); err != nil {
				return err
			}
			if err := audit(); err != nil {
				return err
			}
			if err := st.SetBookingStatus(ctx, b.ID, dispatch.BookingOpen, s.Now()); err != nil {
				return err
			}
			rp.written[id] = j.Status
			if err := s.Env.TellMoved(ctx, st, b, rp.movable[id], j); err != nil {
				return err
			}
			continue
		}
		tech := rp.techs[to.tech]
		end := to.start.Add(b.Duration)
		j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.TechnicianName = &to.tech, &to.start, &end, tech.Name
		j.UpdatedAt = now
		if prev != nil && *prev != to.tech {
			if err := s.Env.TellTechnician(ctx, st, prev, j, "cancellation", "Job moved", fmt.Sprintf("%s went to a colleague better placed for it.", j.Reference())); err != nil {
				return err
			}
		}
		data["technician_id"], data["planned_start"] = to.tech, to.start
		if err := audit(); err != nil {
			return err
		}
		switch {
		case stays(id) && rp.movable[id].Status == dispatch.JobOffered:
			// Its offer stands (never withdrawn and offered again): only the time changes.
			j.Status = dispatch.JobOffered
			if _, err := st.UpdateJob(ctx, j); err != nil {
				return err
			}
		case to.start.Before(now.Add(s.Offers.Config.OfferHorizon)):
			if err := s.Offers.Offer(ctx, st, a, b, &j, &tech); err != nil {
				return err
			}
		default:
			if _, err := st.UpdateJob(ctx, j); err != nil {
				return err
			}
		}
		if err := st.SetBookingStatus(ctx, b.ID, dispatch.BookingScheduled, s.Now()); err != nil {
			return err
		}
		rp.written[id] = j.Status
		if err := s.Env.TellMoved(ctx, st, b, rp.movable[id], j); err != nil {
			return err
		}
	}
	return nil
}
