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
// used on one route). A plain homogeneous VRPTW (alike vehicles at one depot, at most one window a
// job, no breaks, max_tasks, priorities or skills a vehicle lacks) is also solved by package
// vrptw's search, side by side, and the better answer is kept. Every answer is re-checked by
// scheduling.Check before it is written.
//
// Refused with a clear error: shipments, setup times, service_per_type, more than one amount
// dimension, costs matrices and vehicle costs, speed_factor, max_travel_time, max_distance,
// vehicle steps, break max_load, vehicles of different profiles. See docs/vroom.md.
package vroom

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/scheduling"
	"github.com/fieldfix/fieldfix/scheduling/vrptw"
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
	// Solver says which search produced the routes: "scheduling" or "vrptw" (not in VROOM's
	// output; a FieldFix addition for comparisons).
	Solver string `json:"solver"`
}

// FromSolomon is a Solomon instance as a VROOM problem in VROOM's integer units (distances and
// times ×100, rounded; the distances as the duration matrix), so Solomon's files can be handed to
// this path and its answers compared with the best known.
func FromSolomon(in *vrptw.Instance) *Problem {
	n := in.N()
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

// voidTravel is a Travel with one extra location, void, at no distance from anywhere: the start
// or end of an open route.
type voidTravel struct {
	t    scheduling.Travel
	void int
}

func (v voidTravel) Seconds(from, to int) int64 {
	if from == v.void || to == v.void {
		return 0
	}
	return v.t.Seconds(from, to)
}

// model is the problem mapped onto package scheduling, with what the answer needs to go back.
type model struct {
	p      *Problem
	pr     *scheduling.Problem
	dim    int // the amount dimension in use, -1: none
	width  int // the length of amount vectors in the output
	void   int
	jobLoc []int // each job's location index
	start  []int // each vehicle's start and end location (void: none)
	end    []int
	breaks map[int64][]int64 // break ids per vehicle, in the order the technician takes them
	veh    map[int64]int     // vehicle id → index
	job    map[int64]int     // job id → index
}

func (p *Problem) refusals() error {
	if len(p.Shipments) > 0 {
		return errors.New("vroom: shipments are not supported (jobs only)")
	}
	for name, m := range p.Matrices {
		if len(m.Costs) > 0 && string(m.Costs) != "null" {
			return fmt.Errorf("vroom: matrices.%s.costs is not supported: the cost is the travel duration", name)
		}
	}
	for _, v := range p.Vehicles {
		switch {
		case v.SpeedFactor != nil && *v.SpeedFactor != 1:
			return fmt.Errorf("vroom: vehicle %d: speed_factor is not supported", v.ID)
		case len(v.Costs) > 0 && string(v.Costs) != "null":
			return fmt.Errorf("vroom: vehicle %d: costs are not supported: the cost is the travel duration", v.ID)
		case v.MaxTravelTime != nil:
			return fmt.Errorf("vroom: vehicle %d: max_travel_time is not supported", v.ID)
		case v.MaxDistance != nil:
			return fmt.Errorf("vroom: vehicle %d: max_distance is not supported", v.ID)
		case len(v.Steps) > 0 && string(v.Steps) != "null":
			return fmt.Errorf("vroom: vehicle %d: steps (plan mode) are not supported", v.ID)
		case cmp.Or(v.Profile, "car") != cmp.Or(p.Vehicles[0].Profile, "car"):
			return fmt.Errorf("vroom: vehicles %d and %d have different profiles; one travel matrix is supported", p.Vehicles[0].ID, v.ID)
		}
		for _, b := range v.Breaks {
			if len(b.MaxLoad) > 0 {
				return fmt.Errorf("vroom: vehicle %d break %d: max_load is not supported", v.ID, b.ID)
			}
		}
	}
	for _, j := range p.Jobs {
		switch {
		case j.Setup != 0 || len(j.SetupPerType) > 0:
			return fmt.Errorf("vroom: job %d: setup is not supported", j.ID)
		case len(j.ServicePerType) > 0:
			return fmt.Errorf("vroom: job %d: service_per_type is not supported (one service time a job)", j.ID)
		case len(j.Amount) > 0:
			return fmt.Errorf("vroom: job %d: amount is deprecated in VROOM; use delivery or pickup", j.ID)
		case j.Priority < 0 || j.Priority > 100:
			return fmt.Errorf("vroom: job %d: priority %d outside [0, 100]", j.ID, j.Priority)
		case j.Service < 0:
			return fmt.Errorf("vroom: job %d: negative service", j.ID)
		}
	}
	return nil
}

// amounts finds the one dimension the amounts use and the width of the amount vectors.
func (p *Problem) amounts() (dim, width int, err error) {
	dim = -1
	see := func(what string, a []int64) error {
		width = max(width, len(a))
		for i, x := range a {
			if x < 0 {
				return fmt.Errorf("vroom: %s: negative amount", what)
			}
			if x != 0 && dim != i {
				if dim >= 0 {
					return fmt.Errorf("vroom: %s uses amount dimension %d and another uses %d; one capacity dimension is supported", what, i, dim)
				}
				dim = i
			}
		}
		return nil
	}
	for _, v := range p.Vehicles {
		if err := see(fmt.Sprintf("vehicle %d capacity", v.ID), v.Capacity); err != nil {
			return 0, 0, err
		}
	}
	for _, j := range p.Jobs {
		if err := see(fmt.Sprintf("job %d delivery", j.ID), j.Delivery); err != nil {
			return 0, 0, err
		}
		if err := see(fmt.Sprintf("job %d pickup", j.ID), j.Pickup); err != nil {
			return 0, 0, err
		}
	}
	return dim, width, nil
}

func at(a []int64, i int) int64 {
	if i >= 0 && i < len(a) {
		return a[i]
	}
	return 0
}

func window(what string, w []int64) (scheduling.Window, error) {
	if len(w) != 2 || w[1] < w[0] {
		return scheduling.Window{}, fmt.Errorf("vroom: %s: a time window is [start, end] with start ≤ end, got %v", what, w)
	}
	return scheduling.Window{Start: w[0], End: w[1]}, nil
}

func skills(s []int64) []string {
	out := make([]string, 0, len(s)+1)
	for _, x := range s {
		out = append(out, strconv.FormatInt(x, 10))
	}
	return out
}

// travel builds the Travel and every location: from the matrix by index, or from [lon, lat].
func (m *model) travel() error {
	p := m.p
	var mat [][]int64
	if len(p.Matrices) > 0 {
		profile := cmp.Or(p.Vehicles[0].Profile, "car")
		set, ok := p.Matrices[profile]
		if !ok && len(p.Matrices) == 1 {
			for _, s := range p.Matrices {
				set = s
			}
		} else if !ok {
			return fmt.Errorf("vroom: no matrices.%s for the vehicles' profile", profile)
		}
		mat = set.Durations
		if mat == nil {
			return fmt.Errorf("vroom: matrices.%s has no durations", profile)
		}
	} else if p.Matrix != nil {
		mat = p.Matrix
	}
	nj, nv := len(p.Jobs), len(p.Vehicles)
	m.jobLoc, m.start, m.end = make([]int, nj), make([]int, nv), make([]int, nv)
	if mat != nil {
		n := len(mat)
		for i, row := range mat {
			if len(row) != n {
				return fmt.Errorf("vroom: the matrix is not square: row %d has %d entries for %d rows", i, len(row), n)
			}
			for k, d := range row {
				if d < 0 {
					return fmt.Errorf("vroom: matrix entry (%d,%d) is negative", i, k)
				}
			}
		}
		m.void = n
		idx := func(what string, i *int, coords []float64) (int, error) {
			if i == nil {
				if coords != nil {
					return 0, fmt.Errorf("vroom: %s: with a matrix, a location needs its index", what)
				}
				return m.void, nil
			}
			if *i < 0 || *i >= n {
				return 0, fmt.Errorf("vroom: %s: location_index %d outside the %d×%d matrix", what, *i, n, n)
			}
			return *i, nil
		}
		var err error
		for k, v := range p.Vehicles {
			if m.start[k], err = idx(fmt.Sprintf("vehicle %d start", v.ID), v.StartIndex, v.Start); err != nil {
				return err
			}
			if m.end[k], err = idx(fmt.Sprintf("vehicle %d end", v.ID), v.EndIndex, v.End); err != nil {
				return err
			}
		}
		for k, j := range p.Jobs {
			if j.LocationIndex == nil {
				return fmt.Errorf("vroom: job %d: with a matrix, jobs need location_index", j.ID)
			}
			if m.jobLoc[k], err = idx(fmt.Sprintf("job %d", j.ID), j.LocationIndex, j.Location); err != nil {
				return err
			}
		}
		m.pr.Travel = voidTravel{scheduling.Matrix(mat), m.void}
		return nil
	}
	// geo's model, off-peak: VROOM's timestamps carry no date, so no rush hour applies.
	pl := scheduling.NewPlaces(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	seen := map[[2]float64]int{}
	loc := func(what string, l []float64, optional bool) (int, error) {
		if l == nil && optional {
			return -1, nil
		}
		if len(l) != 2 {
			return 0, fmt.Errorf("vroom: %s: without a matrix, a location is [lon, lat], got %v", what, l)
		}
		pt := geo.Point{Lng: l[0], Lat: l[1]}
		if err := pt.Validate(); err != nil {
			return 0, fmt.Errorf("vroom: %s: %w", what, err)
		}
		k := [2]float64{l[0], l[1]}
		if i, ok := seen[k]; ok {
			return i, nil
		}
		seen[k] = pl.Add(pt)
		return seen[k], nil
	}
	var err error
	for k, v := range p.Vehicles {
		if m.start[k], err = loc(fmt.Sprintf("vehicle %d start", v.ID), v.Start, true); err != nil {
			return err
		}
		if m.end[k], err = loc(fmt.Sprintf("vehicle %d end", v.ID), v.End, true); err != nil {
			return err
		}
	}
	for k, j := range p.Jobs {
		if m.jobLoc[k], err = loc(fmt.Sprintf("job %d", j.ID), j.Location, false); err != nil {
			return err
		}
	}
	m.void = len(pl.Points)
	for k := range p.Vehicles {
		if m.start[k] < 0 {
			m.start[k] = m.void
		}
		if m.end[k] < 0 {
			m.end[k] = m.void
		}
	}
	var t scheduling.Travel = pl
	if n := len(pl.Points); n <= 2000 { // a table is faster to search than the model, and small
		mat := make(scheduling.Matrix, n)
		for a := range n {
			mat[a] = make([]int64, n)
			for b := range n {
				mat[a][b] = pl.Seconds(a, b)
			}
		}
		t = mat
	}
	m.pr.Travel = voidTravel{t, m.void}
	return nil
}

// build maps p onto a scheduling problem.
func (p *Problem) build() (*model, error) {
	if err := p.refusals(); err != nil {
		return nil, err
	}
	m := &model{p: p, pr: &scheduling.Problem{}, breaks: map[int64][]int64{}, veh: map[int64]int{}, job: map[int64]int{}}
	var err error
	if m.dim, m.width, err = p.amounts(); err != nil {
		return nil, err
	}
	if err := m.travel(); err != nil {
		return nil, err
	}
	zeroCapacity := false
	for k, v := range p.Vehicles {
		if _, dup := m.veh[v.ID]; dup {
			return nil, fmt.Errorf("vroom: vehicle id %d twice", v.ID)
		}
		m.veh[v.ID] = k
		if v.MaxTasks != nil && *v.MaxTasks <= 0 {
			continue // may do nothing: no technician
		}
		t := scheduling.Technician{ID: v.ID, Skills: skills(v.Skills), Start: m.start[k], End: m.end[k]}
		sh := scheduling.Shift{Window: scheduling.Window{Start: 0, End: noWindow}}
		if v.TimeWindow != nil {
			if sh.Window, err = window(fmt.Sprintf("vehicle %d", v.ID), v.TimeWindow); err != nil {
				return nil, err
			}
		}
		if v.MaxTasks != nil {
			t.MaxJobs = *v.MaxTasks
		}
		if c := at(v.Capacity, m.dim); v.Capacity == nil || c > 0 {
			t.Capacity = int(c) // nil: no limit
			t.Skills = append(t.Skills, loadSkill)
		} else {
			zeroCapacity = true
		}
		type brk struct {
			id int64
			b  scheduling.Break
		}
		var bs []brk
		for _, b := range v.Breaks {
			if b.Service < 0 {
				return nil, fmt.Errorf("vroom: vehicle %d break %d: negative service", v.ID, b.ID)
			}
			x := brk{b.ID, scheduling.Break{Window: sh.Window, Duration: b.Service}}
			if len(b.TimeWindows) > 0 { // the first window only
				if x.b.Window, err = window(fmt.Sprintf("vehicle %d break %d", v.ID, b.ID), b.TimeWindows[0]); err != nil {
					return nil, err
				}
			}
			bs = append(bs, x)
		}
		slices.SortStableFunc(bs, func(a, b brk) int { return cmp.Compare(a.b.Start, b.b.Start) })
		for _, b := range bs {
			sh.Breaks = append(sh.Breaks, b.b)
			m.breaks[v.ID] = append(m.breaks[v.ID], b.id)
		}
		t.Shifts = []scheduling.Shift{sh}
		m.pr.Technicians = append(m.pr.Technicians, t)
	}
	for k, j := range p.Jobs {
		if _, dup := m.job[j.ID]; dup {
			return nil, fmt.Errorf("vroom: job id %d twice", j.ID)
		}
		m.job[j.ID] = k
		sj := scheduling.Job{ID: j.ID, Loc: m.jobLoc[k], Duration: j.Service, Skills: skills(j.Skills), Priority: j.Priority,
			Load: int(at(j.Delivery, m.dim) + at(j.Pickup, m.dim))}
		if sj.Load > 0 && zeroCapacity {
			sj.Skills = append(sj.Skills, loadSkill)
		}
		for _, w := range j.TimeWindows {
			x, err := window(fmt.Sprintf("job %d", j.ID), w)
			if err != nil {
				return nil, err
			}
			sj.Windows = append(sj.Windows, x)
		}
		m.pr.Jobs = append(m.pr.Jobs, sj)
	}
	return m, nil
}

// plain says whether the problem is a homogeneous VRPTW that package vrptw also solves: alike
// vehicles that start and end at one depot, with a capacity > 0 if jobs carry loads, no breaks
// or max_tasks; jobs with at most one window, no priority, and skills the fleet holds.
func (m *model) plain() bool {
	p := m.p
	if len(m.pr.Technicians) != len(p.Vehicles) {
		return false
	}
	t0 := m.pr.Technicians[0]
	if t0.Start != t0.End || t0.Start == m.void {
		return false
	}
	for _, t := range m.pr.Technicians {
		if t.Start != t0.Start || t.End != t0.End || t.Capacity != t0.Capacity || t.MaxJobs != 0 ||
			!slices.Equal(sorted(t.Skills), sorted(t0.Skills)) || len(t.Shifts[0].Breaks) > 0 || t.Shifts[0].Window != t0.Shifts[0].Window {
			return false
		}
	}
	for _, j := range m.pr.Jobs {
		if len(j.Windows) > 1 || j.Priority != 0 {
			return false
		}
		for _, s := range j.Skills {
			if !slices.Contains(t0.Skills, s) {
				return false
			}
		}
	}
	return true
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// vrptwPlan solves the plain problem with package vrptw and returns its answer as a scheduling
// plan (NewPlan re-checks every route).
func (m *model) vrptwPlan(ctx context.Context, o Options) (*scheduling.Plan, error) {
	t0 := m.pr.Technicians[0]
	sh := t0.Shifts[0].Window
	nodes := []vrptw.Node{{Ready: float64(sh.Start), Due: float64(sh.End)}}
	for _, j := range m.pr.Jobs {
		nd := vrptw.Node{Service: float64(j.Duration), Ready: float64(sh.Start), Due: float64(sh.End), Demand: j.Load}
		if len(j.Windows) == 1 {
			nd.Ready, nd.Due = float64(j.Windows[0].Start), float64(j.Windows[0].End)
		}
		nodes = append(nodes, nd)
	}
	loc := func(i int) int {
		if i == 0 {
			return t0.Start
		}
		return m.pr.Jobs[i-1].Loc
	}
	n := len(nodes)
	d := make([][]float64, n)
	for a := range n {
		d[a] = make([]float64, n)
		for b := range n {
			d[a][b] = float64(m.pr.Travel.Seconds(loc(a), loc(b)))
		}
	}
	capacity := t0.Capacity
	if capacity == 0 {
		capacity = math.MaxInt32
	}
	in, err := vrptw.NewInstance("vroom", len(m.pr.Technicians), capacity, nodes, d)
	if err != nil {
		return nil, fmt.Errorf("vroom: %w", err)
	}
	// The search's temperatures are tuned in Solomon's units (3 to 0.03 for arcs of about 40 on
	// average): scale them to this matrix.
	var sum float64
	for a := range n {
		for b := range n {
			sum += d[a][b]
		}
	}
	temp := max(1e-3, 3*sum/float64(n*n)/40)
	s := vrptw.Solve(ctx, in, vrptw.Options{TimeLimit: o.TimeLimit, Seed: o.Seed, Workers: o.Workers, T0: temp, Tf: temp / 100})
	var routes []scheduling.Assignment
	for ri, r := range s.Routes {
		a := scheduling.Assignment{Technician: m.pr.Technicians[ri].ID}
		for _, c := range r {
			a.Jobs = append(a.Jobs, m.pr.Jobs[c-1].ID)
		}
		routes = append(routes, a)
	}
	plan, err := scheduling.NewPlan(m.pr, routes)
	if err != nil {
		return nil, fmt.Errorf("vroom: the VRPTW search's routes do not hold in the field-service model: %w", err)
	}
	return plan, nil
}

// better is VROOM's order: more priority served, then more jobs served, then less travel.
func better(a, b scheduling.Cost) bool {
	if a.UnassignedPriority != b.UnassignedPriority {
		return a.UnassignedPriority < b.UnassignedPriority
	}
	if a.Unassigned != b.Unassigned {
		return a.Unassigned < b.Unassigned
	}
	return a.Travel < b.Travel
}

// Options bound a solve.
type Options struct {
	TimeLimit time.Duration // wall-clock budget (0: 1000 iterations a scheduling search, 1 s of vrptw)
	Workers   int           // parallel searches, one a core (0: 1)
	Seed      uint64        // the searches use Seed, Seed+1, ...
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
	workers := max(1, o.Workers)
	limit, seed := o.TimeLimit, o.Seed
	var plan *scheduling.Plan
	solver := "scheduling"
	if m.plain() {
		// Both searches side by side, the cores shared between them.
		var other *scheduling.Plan
		var otherErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			other, otherErr = m.vrptwPlan(ctx, Options{TimeLimit: cmp.Or(limit, time.Second), Workers: max(1, workers/2), Seed: seed})
		}()
		plan, _ = scheduling.Optimize(ctx, empty, scheduling.Budget{Time: limit, Seed: seed, Searches: max(1, workers-workers/2)})
		wg.Wait()
		if otherErr != nil {
			return nil, otherErr
		}
		if better(other.Cost(), plan.Cost()) {
			plan, solver = other, "vrptw"
		}
	} else {
		plan, _ = scheduling.Optimize(ctx, empty, scheduling.Budget{Time: limit, Seed: seed, Searches: workers})
	}
	if _, err := scheduling.Check(plan); err != nil {
		return nil, fmt.Errorf("vroom: the plan fails its check, not answering: %w", err)
	}
	out, err := m.answer(plan)
	if err != nil {
		return nil, err
	}
	out.Solver = solver
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
