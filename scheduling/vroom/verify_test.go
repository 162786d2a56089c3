package vroom

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/geo"
)

// verify re-reads the answer against the problem alone, in VROOM's terms: every job once, skills,
// windows, the vehicle's time window, breaks inside their first window, loads within capacity at
// every step, max_tasks, and each step's arrival no earlier than the previous step's end, with
// the travel from the previous location fitting in the time not spent on breaks in between.
func verify(t *testing.T, p *Problem, s *Solution) {
	t.Helper()
	var mat [][]int64
	for _, m := range p.Matrices {
		mat = m.Durations
	}
	if mat == nil {
		mat = p.Matrix
	}
	model := geo.DefaultTravelModel()
	depart := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	type place struct {
		idx    *int
		coords []float64
	}
	travel := func(a, b place) int64 {
		switch {
		case a.idx == nil && a.coords == nil, b.idx == nil && b.coords == nil:
			return 0 // the open end of a route
		case mat != nil:
			return mat[*a.idx][*b.idx]
		case slices.Equal(a.coords, b.coords):
			return 0
		}
		return int64(math.Round(model.Duration(geo.Point{Lng: a.coords[0], Lat: a.coords[1]}, geo.Point{Lng: b.coords[0], Lat: b.coords[1]}, depart).Seconds()))
	}
	jobs := map[int64]*Job{}
	for i := range p.Jobs {
		jobs[p.Jobs[i].ID] = &p.Jobs[i]
	}
	vehicles := map[int64]*Vehicle{}
	for i := range p.Vehicles {
		vehicles[p.Vehicles[i].ID] = &p.Vehicles[i]
	}
	seen := map[int64]bool{}
	var total int64
	if s.Code != 0 || s.Summary.Routes != len(s.Routes) || s.Summary.Unassigned != len(s.Unassigned) {
		t.Fatalf("summary %+v for %d routes, %d unassigned", s.Summary, len(s.Routes), len(s.Unassigned))
	}
	for _, r := range s.Routes {
		v := vehicles[r.Vehicle]
		if v == nil {
			t.Fatalf("route of unknown vehicle %d", r.Vehicle)
		}
		if seen[-r.Vehicle-1] {
			t.Fatalf("vehicle %d has two routes", v.ID)
		}
		seen[-r.Vehicle-1] = true
		tw := []int64{0, math.MaxInt64}
		if v.TimeWindow != nil {
			tw = v.TimeWindow
		}
		hasStart, hasEnd := v.Start != nil || v.StartIndex != nil, v.End != nil || v.EndIndex != nil
		steps := r.Steps
		if hasStart != (steps[0].Type == "start") || hasEnd != (steps[len(steps)-1].Type == "end") {
			t.Fatalf("vehicle %d: start %v, end %v, steps %+v", v.ID, hasStart, hasEnd, steps)
		}
		var delivery int64s
		for _, st := range steps {
			if st.Type == "job" {
				delivery = delivery.add(jobs[*st.ID].Delivery, 1)
			}
		}
		load := delivery
		prev := place{}
		lastEnd, free, breakTime := int64(math.MinInt64), int64(math.MinInt64), int64(0)
		var cum int64
		tasks, breaks := 0, 0
		capOK := func(l int64s, what string) {
			if v.Capacity == nil {
				return
			}
			for i, x := range l {
				c := int64(0)
				if i < len(v.Capacity) {
					c = v.Capacity[i]
				}
				if x > c {
					t.Fatalf("vehicle %d: load %v over capacity %v at %s", v.ID, l, v.Capacity, what)
				}
			}
		}
		capOK(load, "start")
		for k, st := range steps {
			if st.Arrival < free {
				t.Fatalf("vehicle %d step %d (%s) arrives at %d before the previous step ends at %d", v.ID, k, st.Type, st.Arrival, free)
			}
			begin := st.Arrival + st.WaitingTime
			here := place{st.LocationIndex, st.Location}
			if st.Type != "break" && st.Type != "start" {
				d := travel(prev, here)
				if prev.idx != nil || prev.coords != nil {
					if st.Arrival-lastEnd-breakTime < d {
						t.Fatalf("vehicle %d step %d: %ds to drive from %d, arrival %d, %ds of breaks", v.ID, k, d, lastEnd, st.Arrival, breakTime)
					}
				}
				cum += d
				if st.Duration != cum {
					t.Fatalf("vehicle %d step %d: duration %d, travel so far %d", v.ID, k, st.Duration, cum)
				}
			}
			switch st.Type {
			case "start":
				if k != 0 || st.Arrival < tw[0] {
					t.Fatalf("vehicle %d: start %+v", v.ID, st)
				}
				prev, lastEnd, free = here, st.Arrival, st.Arrival
				continue
			case "end":
				if k != len(steps)-1 || st.Arrival > tw[1] {
					t.Fatalf("vehicle %d: end %+v after %d", v.ID, st, tw[1])
				}
			case "break":
				if breaks >= len(v.Breaks) {
					t.Fatalf("vehicle %d: more breaks than it has", v.ID)
				}
				b := v.Breaks[slices.IndexFunc(v.Breaks, func(b VehicleBreak) bool { return b.ID == *st.ID })]
				w := tw
				if len(b.TimeWindows) > 0 {
					w = b.TimeWindows[0]
				}
				if begin < w[0] || begin > w[1] || st.Service != b.Service {
					t.Fatalf("vehicle %d: break %+v outside its window %v", v.ID, st, w)
				}
				breaks++
				breakTime += st.Service
				free = begin + st.Service
				continue
			case "job":
				j := jobs[*st.ID]
				if j == nil || seen[j.ID] {
					t.Fatalf("job %+v unknown or served twice", st)
				}
				seen[j.ID] = true
				tasks++
				for _, sk := range j.Skills {
					if !slices.Contains(v.Skills, sk) {
						t.Fatalf("job %d needs skill %d, vehicle %d lacks it", j.ID, sk, v.ID)
					}
				}
				if len(j.TimeWindows) > 0 && !slices.ContainsFunc(j.TimeWindows, func(w []int64) bool { return w[0] <= begin && begin <= w[1] }) {
					t.Fatalf("job %d starts at %d outside %v", j.ID, begin, j.TimeWindows)
				}
				if begin < tw[0] || begin+j.Service > tw[1] || st.Service != j.Service || st.WaitingTime < 0 {
					t.Fatalf("job %d: %+v outside vehicle %d's window %v", j.ID, st, v.ID, tw)
				}
				load = load.add(j.Delivery, -1).add(j.Pickup, 1)
				capOK(load, fmt.Sprintf("job %d", j.ID))
				if !slices.Equal(st.Load, []int64(load.pad(len(st.Load)))) {
					t.Fatalf("job %d: load %v, expected %v", j.ID, st.Load, load)
				}
			default:
				t.Fatalf("step type %q", st.Type)
			}
			prev, lastEnd, free, breakTime = here, begin+st.Service, begin+st.Service, 0
		}
		if !hasEnd && lastEnd > tw[1] {
			t.Fatalf("vehicle %d works until %d, after %d", v.ID, lastEnd, tw[1])
		}
		if breaks != len(v.Breaks) {
			t.Fatalf("vehicle %d took %d of its %d breaks", v.ID, breaks, len(v.Breaks))
		}
		if v.MaxTasks != nil && tasks > *v.MaxTasks {
			t.Fatalf("vehicle %d: %d tasks over max_tasks %d", v.ID, tasks, *v.MaxTasks)
		}
		if r.Cost != cum || r.Duration != cum {
			t.Fatalf("vehicle %d: cost %d, travel %d", v.ID, r.Cost, cum)
		}
		total += cum
	}
	for _, u := range s.Unassigned {
		if jobs[u.ID] == nil || seen[u.ID] || u.Type != "job" {
			t.Fatalf("unassigned %+v", u)
		}
		seen[u.ID] = true
	}
	for id := range jobs {
		if !seen[id] {
			t.Fatalf("job %d neither served nor unassigned", id)
		}
	}
	if s.Summary.Cost != total {
		t.Fatalf("summary cost %d, routes %d", s.Summary.Cost, total)
	}
}

// int64s is an amount vector for the checks.
type int64s []int64

func (a int64s) add(b []int64, sign int64) int64s {
	out := a.pad(len(b))
	for i, x := range b {
		out[i] += sign * x
	}
	return out
}

func (a int64s) pad(n int) int64s {
	out := slices.Clone(a)
	for len(out) < n {
		out = append(out, 0)
	}
	return out
}
