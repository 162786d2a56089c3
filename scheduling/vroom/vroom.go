// Package vroom reads VROOM's problem JSON and writes VROOM's solution JSON, so VROOM users can
// hand the same file to `fieldfix solve --format vroom` and compare.
//
// The problem is mapped onto the field-service model of package scheduling: each vehicle is a
// technician with one shift (its time_window) and that shift's breaks, each job a job. Honoured:
// jobs with id, location or location_index, service, skills, priority, several time_windows,
// delivery and pickup; vehicles with id, start/end (or start_index/end_index; either may be
// missing: an open route), capacity, skills, time_window, breaks (the first time window of each)
// and max_tasks; matrices.<profile>.durations (or the legacy top-level matrix) when given,
// otherwise geo's travel model from the [lon, lat] locations. Amounts use one dimension: delivery
// plus pickup is a job's load, matched against the vehicle's capacity (conservative when both are
// used on one route). Every problem, a plain VRPTW included, is solved by scheduling.Optimize, one
// search per worker; every answer is re-checked by scheduling.Check before it is written.
//
// Refused with a clear error: shipments, setup times, service_per_type, more than one amount
// dimension, costs matrices and vehicle costs, speed_factor, max_travel_time, max_distance,
// vehicle steps, break max_load, vehicles of different profiles. See docs/vroom.md.
package vroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/fieldfix/fieldfix/scheduling"
	"github.com/fieldfix/fieldfix/scheduling/solomon"
)

// Problem is the part of VROOM's input we read. Fields we refuse are read only to say so.
type Problem struct {
	Vehicles  []Vehicle            `json:"vehicles"`
	Jobs      []Job                `json:"jobs"`
	Shipments []json.RawMessage    `json:"shipments"`
	Matrices  map[string]MatrixSet `json:"matrices"`
	Matrix    [][]int64            `json:"matrix"` // legacy: durations

	loading time.Duration // Read's time, reported as computing_times.loading
}

// MatrixSet is one profile's matrices. Distances are not used (no distance is reported).
type MatrixSet struct {
	Durations [][]int64       `json:"durations"`
	Distances json.RawMessage `json:"distances"`
	Costs     json.RawMessage `json:"costs"`
}

// Vehicle is a VROOM vehicle.
type Vehicle struct {
	ID            int64           `json:"id"`
	Profile       string          `json:"profile"`
	Start         []float64       `json:"start"`
	End           []float64       `json:"end"`
	StartIndex    *int            `json:"start_index"`
	EndIndex      *int            `json:"end_index"`
	Capacity      []int64         `json:"capacity"`
	Skills        []int64         `json:"skills"`
	TimeWindow    []int64         `json:"time_window"`
	Breaks        []VehicleBreak  `json:"breaks"`
	MaxTasks      *int            `json:"max_tasks"`
	SpeedFactor   *float64        `json:"speed_factor"`
	Costs         json.RawMessage `json:"costs"`
	MaxTravelTime *int64          `json:"max_travel_time"`
	MaxDistance   *int64          `json:"max_distance"`
	Steps         json.RawMessage `json:"steps"`
}

// VehicleBreak is a VROOM break.
type VehicleBreak struct {
	ID          int64     `json:"id"`
	TimeWindows [][]int64 `json:"time_windows"`
	Service     int64     `json:"service"`
	MaxLoad     []int64   `json:"max_load"`
}

// Job is a VROOM job.
type Job struct {
	ID            int64     `json:"id"`
	Location      []float64 `json:"location"`
	LocationIndex *int      `json:"location_index"`
	Setup         int64     `json:"setup"`
	Service       int64     `json:"service"`
	Delivery      []int64   `json:"delivery"`
	Pickup        []int64   `json:"pickup"`
	Amount        []int64   `json:"amount"`
	Skills        []int64   `json:"skills"`
	Priority      int       `json:"priority"`
	TimeWindows   [][]int64 `json:"time_windows"`

	SetupPerType   map[string]int64 `json:"setup_per_type"`
	ServicePerType map[string]int64 `json:"service_per_type"`
}

// Step, Route, Summary and Solution follow VROOM's output.
type Step struct {
	Type          string    `json:"type"`
	ID            *int64    `json:"id,omitempty"`
	Location      []float64 `json:"location,omitempty"`
	LocationIndex *int      `json:"location_index,omitempty"`
	Arrival       int64     `json:"arrival"`
	Duration      int64     `json:"duration"` // travel so far on the route
	Setup         int64     `json:"setup"`
	Service       int64     `json:"service"`
	WaitingTime   int64     `json:"waiting_time"`
	Load          []int64   `json:"load"`
	Violations    []string  `json:"violations"`
}

type Route struct {
	Vehicle     int64    `json:"vehicle"`
	Cost        int64    `json:"cost"`
	Setup       int64    `json:"setup"`
	Service     int64    `json:"service"`
	Duration    int64    `json:"duration"`
	WaitingTime int64    `json:"waiting_time"`
	Priority    int      `json:"priority"`
	Delivery    []int64  `json:"delivery"`
	Pickup      []int64  `json:"pickup"`
	Steps       []Step   `json:"steps"`
	Violations  []string `json:"violations"`
}

type Unassigned struct {
	ID            int64     `json:"id"`
	Location      []float64 `json:"location,omitempty"`
	LocationIndex *int      `json:"location_index,omitempty"`
	Type          string    `json:"type"`
}

type Summary struct {
	Cost           int64            `json:"cost"`
	Routes         int              `json:"routes"`
	Unassigned     int              `json:"unassigned"`
	Setup          int64            `json:"setup"`
	Service        int64            `json:"service"`
	Duration       int64            `json:"duration"`
	WaitingTime    int64            `json:"waiting_time"`
	Priority       int              `json:"priority"`
	Delivery       []int64          `json:"delivery"`
	Pickup         []int64          `json:"pickup"`
	Violations     []string         `json:"violations"`
	ComputingTimes map[string]int64 `json:"computing_times"`
}

type Solution struct {
	Code       int          `json:"code"`
	Summary    Summary      `json:"summary"`
	Unassigned []Unassigned `json:"unassigned"`
	Routes     []Route      `json:"routes"`
	// Search says what the scheduling search did (a FieldFix addition, not in VROOM's output).
	Search *scheduling.Stats `json:"search,omitempty"`
}

// FromSolomon is a Solomon instance as a VROOM problem in VROOM's integer units (distances and
// times ×100, rounded; the distances as the duration matrix), so Solomon's files can be handed to
// this path and its answers compared with the best known.
func FromSolomon(in *solomon.Instance) *Problem {
	n := len(in.Nodes)
	p := &Problem{Matrix: make([][]int64, n)}
	for a := range n {
		p.Matrix[a] = make([]int64, n)
		for b := range n {
			p.Matrix[a][b] = int64(math.Round(100 * in.D(a, b)))
		}
	}
	depot := in.Nodes[0]
	for v := range in.Vehicles {
		zero := 0
		p.Vehicles = append(p.Vehicles, Vehicle{ID: int64(v + 1), StartIndex: &zero, EndIndex: &zero, Capacity: []int64{int64(in.Capacity)},
			TimeWindow: []int64{int64(100 * depot.Ready), int64(100 * depot.Due)}})
	}
	for c := 1; c < n; c++ {
		nd := in.Nodes[c]
		p.Jobs = append(p.Jobs, Job{ID: int64(c), LocationIndex: &c, Service: int64(100 * nd.Service), Delivery: []int64{int64(nd.Demand)},
			TimeWindows: [][]int64{{int64(100 * nd.Ready), int64(100 * nd.Due)}}})
	}
	return p
}

// Read decodes a problem.
func Read(r io.Reader) (*Problem, error) {
	began := time.Now()
	var p Problem
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("vroom: not a problem JSON: %w", err)
	}
	if len(p.Vehicles) == 0 || len(p.Jobs) == 0 {
		return nil, errors.New("vroom: the problem needs vehicles and jobs")
	}
	p.loading = time.Since(began)
	return &p, nil
}

// noWindow is the shift of a vehicle without time_window: from 0 to far beyond any timestamp.
const noWindow = int64(1) << 40

// loadSkill is held by the vehicles that may carry a load; jobs with a load need it (a VROOM
// capacity of 0 forbids loaded jobs, while scheduling reads 0 as no limit).
const loadSkill = "vroom:load"

// Options bound a solve.
type Options struct {
	TimeLimit time.Duration // wall-clock budget (0: none; with no Iterations either, 1000 iterations a search)
	Workers   int           // parallel searches, one a core (0: 1)
	Seed      uint64        // the searches use Seed, Seed+1, ...
	// Iterations bounds each scheduling search by iterations instead of (or as well as) time:
	// with no TimeLimit the answer depends only on the problem and the seed.
	Iterations int
}

// Solve solves p within o and answers in VROOM's shape. The plan is re-checked by
// scheduling.Check: an answer that fails it is an error, never written.
func Solve(ctx context.Context, p *Problem, o Options) (*Solution, error) {
	began := time.Now()
	m, err := p.build()
	if err != nil {
		return nil, err
	}
	empty, err := scheduling.NewPlan(m.pr, nil)
	if err != nil {
		return nil, fmt.Errorf("vroom: %w", err)
	}
	loading := p.loading + time.Since(began)
	solving := time.Now()
	plan, stats := scheduling.Optimize(ctx, empty, scheduling.Budget{Time: o.TimeLimit, Iterations: o.Iterations, Seed: o.Seed, Searches: max(1, o.Workers)})
	if _, err := scheduling.Check(plan); err != nil {
		return nil, fmt.Errorf("vroom: the plan fails its check, not answering: %w", err)
	}
	out, err := m.answer(plan)
	if err != nil {
		return nil, err
	}
	out.Search = &stats
	out.Summary.ComputingTimes = map[string]int64{"loading": loading.Milliseconds(), "solving": time.Since(solving).Milliseconds(), "routing": 0}
	return out, nil
}

// amount is a VROOM amount vector with x in the dimension in use.
func (m *model) amount(x int64) []int64 {
	a := make([]int64, m.width)
	if m.dim >= 0 {
		a[m.dim] = x
	}
	return a
}
