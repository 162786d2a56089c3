package vroom

import (
	"fmt"

	"github.com/fieldfix/fieldfix/scheduling"
)

// answer writes plan in VROOM's shape. Times are the plan's, except that a route's departure is
// as late as its first visit allows (when no break comes first), as VROOM reports it.
func (m *model) answer(plan *scheduling.Plan) (*Solution, error) {
	p, tr := m.p, m.pr.Travel
	out := &Solution{Routes: []Route{}, Unassigned: []Unassigned{}}
	out.Summary.Delivery, out.Summary.Pickup, out.Summary.Violations = m.amount(0), m.amount(0), []string{}
	for _, r := range plan.Routes() {
		vi := m.veh[r.Technician]
		v := &p.Vehicles[vi]
		sh := v.TimeWindow
		rt := Route{Vehicle: v.ID, Steps: []Step{}, Violations: []string{}}
		var delivery, pickup int64
		for _, vs := range r.Visits {
			j := &p.Jobs[m.job[vs.Job]]
			delivery += at(j.Delivery, m.dim)
			pickup += at(j.Pickup, m.dim)
			rt.Priority += j.Priority
		}
		rt.Delivery, rt.Pickup = m.amount(delivery), m.amount(pickup)
		load := delivery
		free := int64(0)
		if sh != nil {
			free = sh[0]
		}
		loc := m.start[vi]
		breaks, ids := r.Breaks, m.breaks[v.ID]
		// Leave as late as the first visit allows, unless a break comes first.
		shifted := len(breaks) == 0 || breaks[0].End > r.Visits[0].Start
		if shifted {
			first := r.Visits[0]
			free = max(free, first.Start-tr.Seconds(loc, m.pr.Jobs[m.job[first.Job]].Loc))
		}
		if loc != m.void {
			rt.Steps = append(rt.Steps, Step{Type: "start", Location: v.Start, LocationIndex: v.StartIndex, Arrival: free,
				Load: m.amount(load), Violations: []string{}})
		}
		var travel int64
		// takeBreaks writes the breaks before 'until' (a visit's start); next is where the
		// technician drives after them and driven says whether that leg is done already.
		driven := false
		takeBreaks := func(until int64, next int, last bool) {
			for len(breaks) > 0 && (last || breaks[0].End <= until) {
				b := breaks[0]
				d := tr.Seconds(loc, next)
				arrival := free // before leaving
				if !last && !driven && b.Start >= free+d {
					arrival, driven = free+d, true // on arrival
					travel += d
				}
				id := ids[len(ids)-len(breaks)]
				rt.Steps = append(rt.Steps, Step{Type: "break", ID: &id, Arrival: arrival, Duration: travel, Service: b.End - b.Start,
					WaitingTime: b.Start - arrival, Load: m.amount(load), Violations: []string{}})
				rt.Service += b.End - b.Start
				rt.WaitingTime += b.Start - arrival
				free = b.End
				breaks = breaks[1:]
			}
		}
		for n, vs := range r.Visits {
			k := m.job[vs.Job]
			j := &p.Jobs[k]
			next := m.jobLoc[k]
			driven = false
			takeBreaks(vs.Start, next, false)
			arrival := free
			if !driven {
				d := tr.Seconds(loc, next)
				arrival += d
				travel += d
			}
			if arrival != vs.Arrival && !(n == 0 && shifted) {
				return nil, fmt.Errorf("vroom: job %d: arrival %d here, %d in the plan", j.ID, arrival, vs.Arrival)
			}
			if arrival > vs.Start {
				return nil, fmt.Errorf("vroom: job %d: arrival %d after its start %d", j.ID, arrival, vs.Start)
			}
			load += at(j.Pickup, m.dim) - at(j.Delivery, m.dim)
			id := j.ID
			rt.Steps = append(rt.Steps, Step{Type: "job", ID: &id, Location: j.Location, LocationIndex: j.LocationIndex, Arrival: arrival,
				Duration: travel, Service: j.Service, WaitingTime: vs.Start - arrival, Load: m.amount(load), Violations: []string{}})
			rt.Service += j.Service
			rt.WaitingTime += vs.Start - arrival
			free, loc = vs.End, next
		}
		takeBreaks(0, m.end[vi], true)
		d := tr.Seconds(loc, m.end[vi])
		travel += d
		if m.end[vi] != m.void {
			rt.Steps = append(rt.Steps, Step{Type: "end", Location: v.End, LocationIndex: v.EndIndex, Arrival: free + d, Duration: travel,
				Load: m.amount(load), Violations: []string{}})
		}
		rt.Cost, rt.Duration = travel, travel
		out.Routes = append(out.Routes, rt)
		s := &out.Summary
		s.Cost += rt.Cost
		s.Duration += rt.Duration
		s.Service += rt.Service
		s.WaitingTime += rt.WaitingTime
		s.Priority += rt.Priority
		s.Delivery, s.Pickup = m.amount(at(s.Delivery, m.dim)+delivery), m.amount(at(s.Pickup, m.dim)+pickup)
	}
	for _, u := range plan.Unassigned() {
		j := &p.Jobs[m.job[u.Job]]
		out.Unassigned = append(out.Unassigned, Unassigned{ID: j.ID, Location: j.Location, LocationIndex: j.LocationIndex, Type: "job"})
	}
	out.Summary.Routes, out.Summary.Unassigned = len(out.Routes), len(out.Unassigned)
	if out.Summary.Cost != plan.Cost().Travel {
		return nil, fmt.Errorf("vroom: the routes' travel %d differs from the plan's %d", out.Summary.Cost, plan.Cost().Travel)
	}
	return out, nil
}
