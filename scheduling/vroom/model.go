package vroom

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/scheduling"
)

// voidTravel is a Travel with one extra location, void, at no distance from anywhere: the start
// or end of an open route.
type voidTravel struct {
	t    scheduling.Travel
	void int
}

// padded is the matrix with the void location as one more row and column of zeros: a plain
// Matrix, which the search reads directly (no memo, no wrapper).
func padded(mat [][]int64, void int) scheduling.Travel {
	if void != len(mat) {
		return voidTravel{scheduling.Matrix(mat), void}
	}
	out := make(scheduling.Matrix, len(mat)+1)
	for i, row := range mat {
		out[i] = append(make([]int64, 0, len(row)+1), row...)
		out[i] = append(out[i], 0)
	}
	out[len(mat)] = make([]int64, len(mat)+1)
	return out
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
		m.pr.Travel = padded(mat, m.void)
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
	m := &model{p: p, pr: &scheduling.Problem{DepartLate: true}, breaks: map[int64][]int64{}, veh: map[int64]int{}, job: map[int64]int{}}
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
