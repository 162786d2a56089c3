package optimize

import (
	"fmt"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/scheduling"
)

// Figures are a plan's SLA breaches (paid weighted twice, an unserved job with a due time
// counting as breached), the lateness of its visits and their travel (seconds), as the checker
// recomputes them.
type Figures struct {
	Breaches, Lateness, Travel int64
}

// selection is what a re-optimisation keeps of the solver's plan: the groups of changes worth
// their move cost.
type selection struct {
	changes  map[int64]place // where a changed job goes (none: off its route)
	groups   []changeGroup   // kept
	notWorth int             // told visits in groups not kept
	before   map[routeKey][]int64
	after    map[routeKey][]int64
	pr       *scheduling.Problem
}

type routeKey struct {
	tech  int64
	shift int
}

// routesOf are a plan's routes by technician and shift.
func routesOf(p *scheduling.Plan) map[routeKey][]int64 {
	out := map[routeKey][]int64{}
	for _, r := range p.Routes() {
		k := routeKey{r.Technician, r.Shift}
		for _, v := range r.Visits {
			out[k] = append(out[k], v.Job)
		}
	}
	return out
}

// worthMoving splits the solver's changes (out against rp's plan) into groups that share no
// technician and keeps each whose gain, under the one objective, beats the cost of the told
// visits it moves: the groups' technicians are disjoint, so each gain is its own.
func (s *Service) worthMoving(rp *readPlanned, out *scheduling.Plan) (*selection, error) {
	sel := &selection{changes: map[int64]place{}, before: routesOf(rp.plan), after: map[routeKey][]int64{}, pr: rp.plan.Problem()}
	// A route changed when the set or order of its movable jobs did; its jobs get the solver's
	// times. Jobs of unchanged routes keep theirs.
	placed := map[int64]bool{}
	for _, r := range out.Routes() {
		k := routeKey{r.Technician, r.Shift}
		for _, v := range r.Visits {
			sel.after[k] = append(sel.after[k], v.Job)
			placed[v.Job] = true
		}
		if slices.Equal(sel.before[k], sel.after[k]) {
			continue
		}
		for _, v := range r.Visits {
			j := rp.movable[v.Job]
			start := time.Unix(v.Start, 0).UTC()
			if j.TechnicianID == nil || *j.TechnicianID != r.Technician || j.PlannedStart == nil || !j.PlannedStart.Equal(start) {
				sel.changes[v.Job] = place{r.Technician, start}
			}
		}
	}
	// A job the solver leaves unassigned (it may give a warranty job's slot to a paid one due
	// sooner) leaves its technician too: kept, it would hold a slot the solver gave away.
	ids := make([]int64, 0, len(sel.changes))
	for id := range sel.changes {
		ids = append(ids, id)
	}
	for id, j := range rp.movable {
		if !placed[id] && j.TechnicianID != nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return sel, nil
	}
	slices.Sort(ids)
	kept := []changeGroup{}
	cur, err := sel.plan(kept)
	if err != nil {
		return nil, err
	}
	for _, g := range changeGroups(ids, rp, sel.changes) {
		cand, err := sel.plan(append(slices.Clone(kept), g))
		if err != nil {
			// Each route holds alone and the groups share no technician: this is a bug, not
			// a plan to write.
			return nil, fmt.Errorf("the solver's changes of technicians %v do not hold: %w", g.techs, err)
		}
		c := cand.Cost()
		moveCost, told := s.moveCost(rp, g, sel.changes)
		c.Disruption += moveCost
		if !c.Less(cur.Cost()) {
			sel.notWorth += told
			continue
		}
		kept, cur = append(kept, g), cand
	}
	sel.groups = kept
	return sel, nil
}

// plan is the plan read with the routes of groups' technicians as the solver left them.
func (sel *selection) plan(groups []changeGroup) (*scheduling.Plan, error) {
	mine := map[int64]bool{}
	for _, g := range groups {
		for _, t := range g.techs {
			mine[t] = true
		}
	}
	var routes []scheduling.Assignment
	add := func(rs map[routeKey][]int64, ours bool) {
		for k, jobs := range rs {
			if mine[k.tech] == ours {
				routes = append(routes, scheduling.Assignment{Technician: k.tech, Shift: k.shift, Jobs: jobs})
			}
		}
	}
	add(sel.before, false)
	add(sel.after, true)
	slices.SortFunc(routes, func(a, b scheduling.Assignment) int {
		if a.Technician != b.Technician {
			return int(a.Technician - b.Technician)
		}
		return a.Shift - b.Shift
	})
	return scheduling.NewPlan(sel.pr, routes)
}

// moveCost is what the told visits of group g cost to move (seconds), and how many it moves. A
// told visit has a technician and a start; one newly planned moves nothing the customer knows.
func (s *Service) moveCost(rp *readPlanned, g changeGroup, changes map[int64]place) (int64, int) {
	var cost time.Duration
	told := 0
	zone := s.Rules.Zone()
	for _, id := range g.jobs {
		was := rp.movable[id]
		if was.TechnicianID == nil || was.PlannedStart == nil {
			continue
		}
		told++
		to, ok := changes[id]
		switch {
		case !ok: // off its route
			cost += s.Config.MoveCost + s.Config.ChangeTechnician
		case to.tech != *was.TechnicianID:
			cost += s.Config.MoveCost + s.Config.ChangeTechnician
		default:
			cost += s.Config.MoveCost
		}
		if ok && !sameDay(*was.PlannedStart, to.start, zone) {
			cost += s.Config.ChangeDay
		}
	}
	return int64(cost / time.Second), told
}

func sameDay(a, b time.Time, zone *time.Location) bool {
	ay, am, ad := a.In(zone).Date()
	by, bm, bd := b.In(zone).Date()
	return ay == by && am == bm && ad == bd
}

// figures are the checked figures of the plan read and of that plan with the groups written.
func (sel *selection) figures(rp *readPlanned, written []changeGroup) (before, after Figures, err error) {
	pb, err := sel.plan(nil)
	if err != nil {
		return before, after, err
	}
	pa, err := sel.plan(written)
	if err != nil {
		return before, after, err
	}
	if before, err = checked(pb); err != nil {
		return before, after, fmt.Errorf("the plan read fails the check: %w", err)
	}
	if after, err = checked(pa); err != nil {
		return before, after, fmt.Errorf("the plan written fails the check: %w", err)
	}
	return before, after, nil
}

// checked are plan p's figures as scheduling.Check recomputes them, with the lateness of its
// visits only (Check counts an unserved job as late by a day past the horizon).
func checked(p *scheduling.Plan) (Figures, error) {
	c, err := scheduling.Check(p)
	if err != nil {
		return Figures{}, err
	}
	due := map[int64]int64{}
	for _, j := range p.Problem().Jobs {
		due[j.ID] = j.Due
	}
	f := Figures{Breaches: c.Breaches, Travel: c.Travel}
	for _, r := range p.Routes() {
		for _, v := range r.Visits {
			if d := due[v.Job]; d != 0 && v.Start > d {
				f.Lateness += v.Start - d
			}
		}
	}
	return f, nil
}

// moves are the jobs of the written groups, from where to where.
func (sel *selection) moves(rp *readPlanned, written []changeGroup, dryRun bool) []Move {
	out := []Move{}
	for _, g := range written {
		for _, id := range g.jobs {
			was, b := rp.movable[id], rp.booking[id]
			m := Move{JobID: id, BookingID: b.ID, FromTechnician: was.TechnicianID, FromStart: was.PlannedStart, SLADueAt: b.SLADueAt,
				Status: string(dispatch.JobUnassigned)}
			if was.PlannedStart != nil {
				m.LateBefore = max(0, int64(was.PlannedStart.Sub(b.SLADueAt)/time.Second))
			}
			if to, ok := sel.changes[id]; ok {
				tech, start := to.tech, to.start
				m.ToTechnician, m.ToStart = &tech, &start
				m.LateAfter = max(0, int64(start.Sub(b.SLADueAt)/time.Second))
				if rp.written != nil {
					m.Status = string(rp.written[id])
				}
			}
			if dryRun {
				m.Status = "proposed"
			}
			out = append(out, m)
		}
	}
	return out
}
