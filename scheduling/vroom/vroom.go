// Package vroom reads VROOM's problem JSON and writes VROOM's solution JSON, so VROOM users can
// hand the same file to `fieldfix solve --format vroom` and compare.
//
// Honoured: vehicles with one start (= end) location shared by all, one capacity dimension and
// one time_window, all alike (the fleet of a depot); jobs with location or location_index,
// service, delivery and pickup (their sum is the job's load: conservative when both are used on a
// route), skills (each job's skills must be held by the fleet), one time window; matrices.<profile>
// .durations (or the legacy top-level matrix) when given, otherwise geo's travel model from the
// [lon, lat] locations. Ignored: priority, setup, breaks, max_tasks, shipments. Refused with a
// clear error: vehicles that differ, several time windows on a job, skills the fleet lacks.
package vroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/scheduling/vrptw"
)

// Problem is the part of VROOM's input we read.
type Problem struct {
	Vehicles []Vehicle                                  `json:"vehicles"`
	Jobs     []Job                                      `json:"jobs"`
	Matrices map[string]struct{ Durations [][]float64 } `json:"matrices"`
	Matrix   [][]float64                                `json:"matrix"`
}

// Vehicle is a VROOM vehicle.
type Vehicle struct {
	ID         int64     `json:"id"`
	Start      []float64 `json:"start"`
	End        []float64 `json:"end"`
	StartIndex *int      `json:"start_index"`
	EndIndex   *int      `json:"end_index"`
	Capacity   []int     `json:"capacity"`
	Skills     []int     `json:"skills"`
	TimeWindow []float64 `json:"time_window"`
}

// Job is a VROOM job.
type Job struct {
	ID            int64       `json:"id"`
	Location      []float64   `json:"location"`
	LocationIndex *int        `json:"location_index"`
	Service       float64     `json:"service"`
	Delivery      []int       `json:"delivery"`
	Pickup        []int       `json:"pickup"`
	Skills        []int       `json:"skills"`
	Priority      int         `json:"priority"`
	TimeWindows   [][]float64 `json:"time_windows"`
}

// Step, Route, Summary and Solution follow VROOM's output.
type Step struct {
	Type        string    `json:"type"`
	ID          int64     `json:"id,omitempty"`
	Location    []float64 `json:"location,omitempty"`
	Arrival     float64   `json:"arrival"`
	Duration    float64   `json:"duration"`
	Setup       float64   `json:"setup"`
	Service     float64   `json:"service"`
	WaitingTime float64   `json:"waiting_time"`
	Load        []int     `json:"load"`
}

type Route struct {
	Vehicle     int64    `json:"vehicle"`
	Cost        float64  `json:"cost"`
	Setup       float64  `json:"setup"`
	Service     float64  `json:"service"`
	Duration    float64  `json:"duration"`
	WaitingTime float64  `json:"waiting_time"`
	Priority    int      `json:"priority"`
	Delivery    []int    `json:"delivery"`
	Pickup      []int    `json:"pickup"`
	Steps       []Step   `json:"steps"`
	Violations  []string `json:"violations"`
}

type Unassigned struct {
	ID       int64     `json:"id"`
	Location []float64 `json:"location,omitempty"`
	Type     string    `json:"type"`
}

type Summary struct {
	Cost           float64            `json:"cost"`
	Routes         int                `json:"routes"`
	Unassigned     int                `json:"unassigned"`
	Setup          float64            `json:"setup"`
	Service        float64            `json:"service"`
	Duration       float64            `json:"duration"`
	WaitingTime    float64            `json:"waiting_time"`
	Priority       int                `json:"priority"`
	Violations     []string           `json:"violations"`
	ComputingTimes map[string]float64 `json:"computing_times"`
}

type Solution struct {
	Code       int          `json:"code"`
	Summary    Summary      `json:"summary"`
	Unassigned []Unassigned `json:"unassigned"`
	Routes     []Route      `json:"routes"`
}

// Read decodes a problem.
func Read(r io.Reader) (*Problem, error) {
	var p Problem
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("vroom: not a problem JSON: %w", err)
	}
	if len(p.Vehicles) == 0 || len(p.Jobs) == 0 {
		return nil, errors.New("vroom: the problem needs vehicles and jobs")
	}
	return &p, nil
}

// instance maps the problem to a VRPTW instance: node 0 is the depot, node i the i-th job.
func (p *Problem) instance() (*vrptw.Instance, error) {
	v0 := p.Vehicles[0]
	for _, v := range p.Vehicles[1:] {
		if !slices.Equal(v.Start, v0.Start) || !slices.Equal(v.End, v0.End) || !slices.Equal(v.Capacity, v0.Capacity) ||
			!slices.Equal(v.TimeWindow, v0.TimeWindow) || !eqIdx(v.StartIndex, v0.StartIndex) || !eqIdx(v.EndIndex, v0.EndIndex) {
			return nil, fmt.Errorf("vroom: vehicle %d differs from vehicle %d; only a fleet of alike vehicles is supported", v.ID, v0.ID)
		}
	}
	if !slices.Equal(v0.Start, v0.End) || !eqIdx(v0.StartIndex, v0.EndIndex) {
		return nil, errors.New("vroom: vehicles must end where they start")
	}
	capacity := math.MaxInt32
	if len(v0.Capacity) > 0 {
		capacity = v0.Capacity[0]
	}
	depot := vrptw.Node{Due: math.MaxFloat64 / 4}
	if len(v0.TimeWindow) == 2 {
		depot.Ready, depot.Due = v0.TimeWindow[0], v0.TimeWindow[1]
	}
	nodes := []vrptw.Node{depot}
	for _, j := range p.Jobs {
		for _, sk := range j.Skills {
			if !slices.Contains(v0.Skills, sk) {
				return nil, fmt.Errorf("vroom: job %d needs skill %d, which the fleet lacks", j.ID, sk)
			}
		}
		nd := vrptw.Node{Service: j.Service, Due: depot.Due, Ready: depot.Ready}
		if len(j.TimeWindows) > 1 {
			return nil, fmt.Errorf("vroom: job %d has %d time windows; one is supported", j.ID, len(j.TimeWindows))
		}
		if len(j.TimeWindows) == 1 {
			nd.Ready, nd.Due = j.TimeWindows[0][0], j.TimeWindows[0][1]
		}
		if len(j.Delivery) > 0 {
			nd.Demand += j.Delivery[0]
		}
		if len(j.Pickup) > 0 {
			nd.Demand += j.Pickup[0]
		}
		nodes = append(nodes, nd)
	}
	d, err := p.durations()
	if err != nil {
		return nil, err
	}
	return vrptw.NewInstance("vroom", len(p.Vehicles), capacity, nodes, d)
}

func eqIdx(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// durations is the node × node travel matrix: from the given matrix by location_index, or
// geo's travel model (great-circle × circuity ÷ the off-peak speed) from [lon, lat].
func (p *Problem) durations() ([][]float64, error) {
	var m [][]float64
	for _, x := range p.Matrices {
		m = x.Durations
		break
	}
	if m == nil {
		m = p.Matrix
	}
	v0 := p.Vehicles[0]
	n := len(p.Jobs) + 1
	out := make([][]float64, n)
	if m != nil {
		idx := make([]int, n)
		if v0.StartIndex == nil {
			return nil, errors.New("vroom: with a matrix, vehicles need start_index")
		}
		idx[0] = *v0.StartIndex
		for i, j := range p.Jobs {
			if j.LocationIndex == nil {
				return nil, fmt.Errorf("vroom: with a matrix, job %d needs location_index", j.ID)
			}
			idx[i+1] = *j.LocationIndex
		}
		for a := range n {
			out[a] = make([]float64, n)
			for b := range n {
				if idx[a] < 0 || idx[a] >= len(m) || idx[b] < 0 || idx[b] >= len(m[idx[a]]) {
					return nil, fmt.Errorf("vroom: location_index %d or %d outside the %d×%d matrix", idx[a], idx[b], len(m), len(m))
				}
				out[a][b] = m[idx[a]][idx[b]]
			}
		}
		return out, nil
	}
	pts := make([]geo.Point, n)
	for i := range n {
		l := v0.Start
		if i > 0 {
			l = p.Jobs[i-1].Location
		}
		if len(l) != 2 {
			return nil, fmt.Errorf("vroom: location %d is not [lon, lat]", i)
		}
		pts[i] = geo.Point{Lng: l[0], Lat: l[1]}
		if err := pts[i].Validate(); err != nil {
			return nil, fmt.Errorf("vroom: location %d: %w", i, err)
		}
	}
	model := geo.DefaultTravelModel()
	off := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) // outside the rush-hour bands
	for a := range n {
		out[a] = make([]float64, n)
		for b := range n {
			if a != b {
				out[a][b] = math.Round(model.Duration(pts[a], pts[b], off).Seconds())
			}
		}
	}
	return out, nil
}

// Solve solves p within limit and answers in VROOM's shape.
func Solve(ctx context.Context, p *Problem, limit time.Duration, workers int) (*Solution, error) {
	start := time.Now()
	in, err := p.instance()
	if err != nil {
		return nil, err
	}
	s := vrptw.Solve(ctx, in, vrptw.Options{TimeLimit: limit, Seed: 1, Workers: workers})
	out := &Solution{Routes: []Route{}, Unassigned: []Unassigned{}}
	served := map[int]bool{}
	loc := func(i int) []float64 {
		if i == 0 {
			return p.Vehicles[0].Start
		}
		return p.Jobs[i-1].Location
	}
	for ri, r := range s.Routes {
		v := p.Vehicles[ri]
		load := 0
		for _, c := range r {
			load += in.Nodes[c].Demand
		}
		t := in.Nodes[0].Ready
		rt := Route{Vehicle: v.ID, Steps: []Step{{Type: "start", Location: loc(0), Arrival: t, Load: []int{load}}}, Violations: []string{},
			Delivery: []int{load}, Pickup: []int{0}}
		prev := 0
		for _, c := range r {
			served[c] = true
			arrive := t + in.Nodes[prev].Service + in.D(prev, c)
			if prev == 0 {
				arrive = t + in.D(0, c)
			}
			begin := math.Max(arrive, in.Nodes[c].Ready)
			rt.Cost += in.D(prev, c)
			rt.Duration += in.D(prev, c)
			rt.Service += in.Nodes[c].Service
			rt.WaitingTime += begin - arrive
			load -= in.Nodes[c].Demand
			rt.Steps = append(rt.Steps, Step{Type: "job", ID: p.Jobs[c-1].ID, Location: loc(c), Arrival: arrive, Duration: rt.Duration,
				Service: in.Nodes[c].Service, WaitingTime: begin - arrive, Load: []int{load}})
			t, prev = begin, c
		}
		back := t + in.Nodes[prev].Service + in.D(prev, 0)
		rt.Cost += in.D(prev, 0)
		rt.Duration += in.D(prev, 0)
		rt.Steps = append(rt.Steps, Step{Type: "end", Location: loc(0), Arrival: back, Duration: rt.Duration, Load: []int{load}})
		out.Routes = append(out.Routes, rt)
		out.Summary.Cost += rt.Cost
		out.Summary.Duration += rt.Duration
		out.Summary.Service += rt.Service
		out.Summary.WaitingTime += rt.WaitingTime
	}
	for i, j := range p.Jobs {
		if !served[i+1] {
			out.Unassigned = append(out.Unassigned, Unassigned{ID: j.ID, Location: j.Location, Type: "job"})
		}
	}
	out.Summary.Routes, out.Summary.Unassigned, out.Summary.Violations = len(out.Routes), len(out.Unassigned), []string{}
	out.Summary.ComputingTimes = map[string]float64{"loading": 0, "solving": float64(time.Since(start).Milliseconds()), "routing": 0}
	return out, nil
}
