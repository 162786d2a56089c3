package main

import (
	"fmt"
	"slices"

	"github.com/fieldfix/fieldfix/scheduling/vroom"
)

// figures are one answer's merits in VROOM's order, recomputed from the problem and the routes
// alone (nothing is taken from the answer's summary).
type figures struct {
	unserved, paidUnserved int
	prioUnserved           int
	travel, waiting        int64
}

// check re-reads an answer against the city day alone: every job served once or unassigned,
// skills, max_tasks, each visit's start inside the job's window and the vehicle's shift, each
// arrival no earlier than the previous step's end plus the matrix's travel, start and end at the
// vehicle's place. Waiting is a route's span less its travel and service: the technician's idle
// time between leaving and coming back.
func check(p *vroom.Problem, s *vroom.Solution) (figures, error) {
	mat := p.Matrices["car"].Durations
	jobs := map[int64]*vroom.Job{}
	for i := range p.Jobs {
		jobs[p.Jobs[i].ID] = &p.Jobs[i]
	}
	vehicles := map[int64]*vroom.Vehicle{}
	for i := range p.Vehicles {
		vehicles[p.Vehicles[i].ID] = &p.Vehicles[i]
	}
	seen, used := map[int64]bool{}, map[int64]bool{}
	var f figures
	for _, r := range s.Routes {
		v := vehicles[r.Vehicle]
		if v == nil || used[r.Vehicle] {
			return f, fmt.Errorf("route of unknown vehicle or vehicle twice: %d", r.Vehicle)
		}
		used[r.Vehicle] = true
		st := r.Steps
		if len(st) < 2 || st[0].Type != "start" || st[len(st)-1].Type != "end" {
			return f, fmt.Errorf("vehicle %d: a route runs from start to end", v.ID)
		}
		tw := v.TimeWindow
		loc, free := *v.StartIndex, st[0].Arrival
		if free < tw[0] {
			return f, fmt.Errorf("vehicle %d leaves at %d before its shift %v", v.ID, free, tw)
		}
		leave, tasks := free, 0
		var travel, service int64
		for k, x := range st[1:] {
			var at int
			switch x.Type {
			case "job":
				j := jobs[*x.ID]
				if j == nil || seen[j.ID] {
					return f, fmt.Errorf("job %d unknown or served twice", *x.ID)
				}
				seen[j.ID] = true
				at = *j.LocationIndex
			case "end":
				if k != len(st)-2 {
					return f, fmt.Errorf("vehicle %d: end before the last step", v.ID)
				}
				at = *v.EndIndex
			default:
				return f, fmt.Errorf("vehicle %d: step %q in a city day", v.ID, x.Type)
			}
			d := mat[loc][at]
			travel += d
			if x.Arrival < free+d {
				return f, fmt.Errorf("vehicle %d step %d arrives at %d, %d+%d at the earliest", v.ID, k+1, x.Arrival, free, d)
			}
			if x.Type == "end" {
				if x.Arrival > tw[1] {
					return f, fmt.Errorf("vehicle %d back at %d after its shift %v", v.ID, x.Arrival, tw)
				}
				f.waiting += x.Arrival - leave - travel - service
				break
			}
			j := jobs[*x.ID]
			begin := x.Arrival + x.WaitingTime
			if x.WaitingTime < 0 || !slices.ContainsFunc(j.TimeWindows, func(w []int64) bool { return w[0] <= begin && begin <= w[1] }) {
				return f, fmt.Errorf("job %d starts at %d outside %v", j.ID, begin, j.TimeWindows)
			}
			if begin < tw[0] || begin+j.Service > tw[1] {
				return f, fmt.Errorf("job %d at %d outside vehicle %d's shift %v", j.ID, begin, v.ID, tw)
			}
			for _, sk := range j.Skills {
				if !slices.Contains(v.Skills, sk) {
					return f, fmt.Errorf("job %d needs skill %d, vehicle %d lacks it", j.ID, sk, v.ID)
				}
			}
			tasks++
			service += j.Service
			loc, free = at, begin+j.Service
		}
		if tasks > *v.MaxTasks {
			return f, fmt.Errorf("vehicle %d: %d tasks over max_tasks %d", v.ID, tasks, *v.MaxTasks)
		}
		f.travel += travel
	}
	for _, u := range s.Unassigned {
		j := jobs[u.ID]
		if j == nil || seen[u.ID] {
			return f, fmt.Errorf("unassigned job %d unknown or also served", u.ID)
		}
		seen[u.ID] = true
		f.unserved++
		f.prioUnserved += j.Priority
		if j.Priority == 100 {
			f.paidUnserved++
		}
	}
	if len(seen) != len(jobs) {
		return f, fmt.Errorf("%d jobs neither served nor unassigned", len(jobs)-len(seen))
	}
	return f, nil
}
