package scheduling

import (
	"fmt"
	"slices"
)

// Check recomputes plan p from scratch, from its problem and the routes and times it reports,
// without the search's evaluator: every job once (in a route or unassigned); skills, pins and
// jobs under way respected; each visit starting after its travel, at or after now, inside one of
// its windows and inside the shift, with the technician home by the shift's end; every break of
// a worked shift inside its window and apart from driving and visits; job and load capacity per
// shift. It returns the recomputed cost, and an error for the first violation or when the cost
// differs from the plan's own.
func Check(p *Plan) (Cost, error) {
	pr := p.Problem()
	return checkRoutes(pr, p.Routes(), p.Unassigned(), p.Cost())
}

func checkRoutes(pr *Problem, routes []Route, unassigned []Unassigned, claimed Cost) (Cost, error) {
	timed, _ := pr.Travel.(TimedTravel)
	disruption := pr.Disruption
	if disruption == 0 {
		disruption = DefaultDisruption
	}
	var horizon int64
	techs := map[int64]*Technician{}
	for i := range pr.Technicians {
		t := &pr.Technicians[i]
		techs[t.ID] = t
		for _, s := range t.Shifts {
			horizon = max(horizon, s.End)
		}
	}
	jobs := map[int64]*Job{}
	for i := range pr.Jobs {
		jobs[pr.Jobs[i].ID] = &pr.Jobs[i]
	}
	seen := map[int64]bool{}
	var cost Cost
	work := map[int64]int64{}
	shiftsSeen := map[[2]int64]bool{}
	for _, rt := range routes {
		t, ok := techs[rt.Technician]
		if !ok || rt.Shift < 0 || rt.Shift >= len(t.Shifts) {
			return cost, fmt.Errorf("route of unknown technician %d or shift %d", rt.Technician, rt.Shift)
		}
		if shiftsSeen[[2]int64{t.ID, int64(rt.Shift)}] {
			return cost, fmt.Errorf("technician %d shift %d listed twice", t.ID, rt.Shift)
		}
		shiftsSeen[[2]int64{t.ID, int64(rt.Shift)}] = true
		sh := t.Shifts[rt.Shift]
		if len(rt.Visits) == 0 {
			continue
		}
		if t.MaxJobs > 0 && len(rt.Visits) > t.MaxJobs {
			return cost, fmt.Errorf("technician %d shift %d: %d jobs over the limit %d", t.ID, rt.Shift, len(rt.Visits), t.MaxJobs)
		}
		if len(rt.Breaks) != len(sh.Breaks) {
			return cost, fmt.Errorf("technician %d shift %d: %d breaks taken of %d", t.ID, rt.Shift, len(rt.Breaks), len(sh.Breaks))
		}
		for i, b := range rt.Breaks {
			want := sh.Breaks[i]
			if b.Start < want.Start || b.Start > want.End || b.End-b.Start != want.Duration {
				return cost, fmt.Errorf("technician %d shift %d: break %d at %d–%d outside its window %d–%d or not %ds long", t.ID, rt.Shift, i, b.Start, b.End, want.Start, want.End, want.Duration)
			}
			if i > 0 && b.Start < rt.Breaks[i-1].End {
				return cost, fmt.Errorf("technician %d shift %d: breaks overlap", t.ID, rt.Shift)
			}
		}
		free, loc, load, bi := sh.Start, sh.start(t), 0, 0
		home := sh.end(t)
		// idle takes the breaks that start before 'until', each after the previous event and
		// over by 'until', and returns the time they leave free in [free, until] for driving.
		idle := func(until int64) (int64, error) {
			left, prev := int64(0), free
			for bi < len(rt.Breaks) && rt.Breaks[bi].Start < until {
				b := rt.Breaks[bi]
				if b.Start < prev {
					return 0, fmt.Errorf("technician %d shift %d: break at %d while busy until %d", t.ID, rt.Shift, b.Start, prev)
				}
				left += b.Start - prev
				prev = b.End
				bi++
			}
			if prev > until {
				return 0, fmt.Errorf("technician %d shift %d: break until %d overruns what follows at %d", t.ID, rt.Shift, prev, until)
			}
			return left + until - prev, nil
		}
		for k, v := range rt.Visits {
			j, ok := jobs[v.Job]
			if !ok {
				return cost, fmt.Errorf("unknown job %d in a route", v.Job)
			}
			if seen[j.ID] {
				return cost, fmt.Errorf("job %d visited twice", j.ID)
			}
			seen[j.ID] = true
			for _, s := range j.Skills {
				if !slices.Contains(t.Skills, s) {
					return cost, fmt.Errorf("job %d needs %q, technician %d lacks it", j.ID, s, t.ID)
				}
			}
			if slices.Contains(j.Exclude, t.ID) || (len(j.Technicians) > 0 && !slices.Contains(j.Technicians, t.ID)) {
				return cost, fmt.Errorf("job %d went to technician %d, who is excluded or not among its technicians", j.ID, t.ID)
			}
			if j.PinnedTech != 0 && j.PinnedTech != t.ID {
				return cost, fmt.Errorf("job %d is pinned to technician %d, planned with %d", j.ID, j.PinnedTech, t.ID)
			}
			if j.PinnedStart != 0 && v.Start != j.PinnedStart {
				return cost, fmt.Errorf("job %d is pinned at %d, planned at %d", j.ID, j.PinnedStart, v.Start)
			}
			if v.End != v.Start+j.Duration {
				return cost, fmt.Errorf("job %d: end %d is not start + duration", j.ID, v.End)
			}
			load += j.Load
			if t.Capacity > 0 && load > t.Capacity {
				return cost, fmt.Errorf("technician %d shift %d: load %d over capacity %d", t.ID, rt.Shift, load, t.Capacity)
			}
			d := leg(pr.Travel, timed, loc, j.Loc, free)
			var left int64
			if !j.Started {
				var err error
				left, err = idle(v.Start)
				if err != nil {
					return cost, err
				}
				if left < d {
					return cost, fmt.Errorf("job %d starts at %d: %ds to drive, %ds free since %d", j.ID, v.Start, d, left, free)
				}
				if j.Told != nil && v.Start < j.Told.Start {
					return cost, fmt.Errorf("job %d starts at %d, before the window %d–%d its customer was told", j.ID, v.Start, j.Told.Start, j.Told.End)
				}
				if v.Start < pr.Now {
					return cost, fmt.Errorf("job %d starts at %d, before now %d", j.ID, v.Start, pr.Now)
				}
				if len(j.Windows) > 0 && !slices.ContainsFunc(j.Windows, func(w Window) bool { return w.Start <= v.Start && v.Start <= w.End }) {
					return cost, fmt.Errorf("job %d starts at %d outside the customer's windows", j.ID, v.Start)
				}
				if v.Start < sh.Start || v.End > sh.End {
					return cost, fmt.Errorf("job %d (%d–%d) outside technician %d's shift", j.ID, v.Start, v.End, t.ID)
				}
			} else if k > 0 {
				return cost, fmt.Errorf("job %d is under way but not first in its route", j.ID)
			}
			if b, l := lateness(*j, v.Start); b > 0 {
				cost.Breaches += b
				cost.Lateness += l
			}
			if j.AcceptedBy != 0 && j.AcceptedBy != t.ID {
				cost.Disruption += disruption
			}
			cost.Travel += d
			work[t.ID] += d + j.Duration
			if k > 0 { // idle between visits: the time free of breaks, less the drive
				cost.Waiting += left - d
			}
			free, loc = v.End, j.Loc
		}
		d := leg(pr.Travel, timed, loc, home, free)
		left, err := idle(sh.End)
		if err != nil {
			return cost, err
		}
		if bi < len(rt.Breaks) || left < d {
			return cost, fmt.Errorf("technician %d shift %d: no time left to drive home (%ds) by the shift's end %d", t.ID, rt.Shift, d, sh.End)
		}
		cost.Travel += d
		work[t.ID] += d
	}
	for _, u := range unassigned {
		j, ok := jobs[u.Job]
		if !ok {
			return cost, fmt.Errorf("unknown unassigned job %d", u.Job)
		}
		if seen[j.ID] {
			return cost, fmt.Errorf("job %d both planned and unassigned", j.ID)
		}
		if j.Started {
			return cost, fmt.Errorf("job %d is under way but unassigned", j.ID)
		}
		if u.Reason.Code == "" {
			return cost, fmt.Errorf("job %d unassigned without a reason", j.ID)
		}
		seen[j.ID] = true
		cost.UnassignedPriority += int64(j.Priority)
		cost.Unassigned++
		if j.Due != 0 {
			cost.Breaches += j.Tier.weight()
			cost.Lateness += max(0, horizon-j.Due) + 86400
		}
		if j.AcceptedBy != 0 {
			cost.Disruption += disruption
		}
	}
	for id := range jobs {
		if !seen[id] {
			return cost, fmt.Errorf("job %d is neither planned nor unassigned", id)
		}
	}
	for _, w := range work {
		m := w / 60
		cost.Balance += m * m
	}
	if cost != claimed {
		return cost, fmt.Errorf("the plan claims %v, recomputed %v", claimed, cost)
	}
	return cost, nil
}
