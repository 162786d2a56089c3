package planning

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// Routes is the live plan of some technicians, loaded once and evaluated many times.
type Routes struct {
	techs  []dispatch.Technician
	stops  map[int64][]Stop            // by technician, in start order, without the job being placed
	shifts map[int64][]dispatch.Window // by technician, time off cut out
	now    time.Time
	readAt map[int64]time.Time // by technician, wall clock before the read: picks committed earlier are in it
	// versions are the plan versions read, by technician, when the placement's write is guarded
	// by them (nil: not guarded).
	versions map[int64]int64
	seen     map[int64][]*reservation // by technician, this process's picks merged into the route
	table    map[[2]dispatch.Location]time.Duration
}

// travelIn is the routing engine's time when the matrix has the pair, else the travel model's.
func (p *Planner) travelIn(rd *Routes, from, to dispatch.Location, at time.Time) time.Duration {
	if d, ok := rd.table[[2]dispatch.Location{from, to}]; ok {
		return d
	}
	return p.TravelTime(from, to, at)
}

// withMatrix fills rd.table from the routing engine (OSRM) for every place the insertion of a
// visit at loc may connect; without an engine, or when it fails, the travel model answers.
func (p *Planner) withMatrix(ctx context.Context, rd *Routes, loc dispatch.Location) {
	if p.Matrix == nil {
		return
	}
	seen := map[dispatch.Location]bool{loc: true}
	pts := []dispatch.Location{loc}
	add := func(l dispatch.Location) {
		if !seen[l] {
			seen[l] = true
			pts = append(pts, l)
		}
	}
	for _, t := range rd.techs {
		add(t.Home)
		add(p.PositionAt(t, rd.now, rd.stops[t.ID]))
		for _, sp := range rd.stops[t.ID] {
			add(sp.Location)
		}
	}
	gp := make([]geo.Point, len(pts))
	for i, l := range pts {
		gp[i] = Point(l)
	}
	m, err := p.Matrix.Matrix(ctx, gp, rd.now)
	if err != nil {
		p.Env.Log.Warn("travel matrix unavailable; using the travel model", "err", err)
		return
	}
	rd.table = make(map[[2]dispatch.Location]time.Duration, len(pts)*len(pts))
	for i := range pts {
		for j := range pts {
			rd.table[[2]dispatch.Location{pts[i], pts[j]}] = time.Duration(m[i][j] * float64(time.Second))
		}
	}
}

// routeRead is what candidates read of their routes with them, for loadRoutes.
type routeRead struct {
	ids    map[int64]int // the technicians read
	until  time.Time
	now    time.Time
	readAt map[int64]time.Time // by technician
	stops  map[int64][]Stop    // by technician, in start order; capped slices shared with the plan cache
	offs   map[int64][]dispatch.Window
	// versions are the plans' versions, by technician, when planned on the plan cache.
	versions map[int64]int64
	entries  map[int64]*planEntry // the plans read, by technician (for their shifts)
}

// covers reports whether the read holds the routes of techs until 'until'.
func (r *routeRead) covers(techs []dispatch.Technician, until time.Time) bool {
	if r == nil || !r.until.Equal(until) {
		return false
	}
	for _, t := range techs {
		if _, ok := r.ids[t.ID]; !ok {
			return false
		}
	}
	return true
}

// loadRoutes reads the technicians' planned jobs and shifts from now until 'until' (or takes
// them from pre, when candidates read them already).
func (p *Planner) loadRoutes(ctx context.Context, st Store, techs []dispatch.Technician, jobID int64, until time.Time, pre *routeRead) (*Routes, error) {
	var (
		now      time.Time
		readAt   map[int64]time.Time
		offs     map[int64][]dispatch.Window
		versions map[int64]int64
		entries  map[int64]*planEntry
	)
	rd := &Routes{techs: techs, stops: make(map[int64][]Stop, len(techs)), shifts: make(map[int64][]dispatch.Window, len(techs))}
	if pre.covers(techs, until) {
		now, readAt, offs, versions, entries = pre.now, pre.readAt, pre.offs, pre.versions, pre.entries
		for tid, ss := range pre.stops { // shared with the plan cache: capped, never written
			if slices.ContainsFunc(ss, func(sp Stop) bool { return sp.JobID == jobID }) {
				ss = slices.DeleteFunc(slices.Clone(ss), func(sp Stop) bool { return sp.JobID == jobID })
			}
			rd.stops[tid] = ss
		}
	} else {
		now, readAt = p.Env.Now(), make(map[int64]time.Time, len(techs))
		wall := time.Now()
		ids := make([]int64, len(techs))
		for i, t := range techs {
			ids[i] = t.ID
			readAt[t.ID] = wall
		}
		stops, err := st.RouteStops(ctx, ids, now.Add(-12*time.Hour), until.Add(12*time.Hour))
		if err != nil {
			return nil, err
		}
		if offs, err = st.TimeOffOf(ctx, ids, now, until); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(stops, func(sp Stop) bool { return sp.JobID == jobID }) {
			stops = slices.DeleteFunc(stops, func(sp Stop) bool { return sp.JobID == jobID })
		}
		// Stops come by technician, then start: each technician's run is a sub-slice of them
		// (capped, so that an append copies) rather than a slice grown stop by stop.
		for i := 0; i < len(stops); {
			j, tid := i+1, stops[i].TechnicianID
			for j < len(stops) && stops[j].TechnicianID == tid {
				j++
			}
			if prev, ok := rd.stops[tid]; ok {
				rd.stops[tid] = append(prev, stops[i:j]...)
			} else {
				rd.stops[tid] = stops[i:j:j]
			}
			i = j
		}
	}
	rd.now, rd.readAt, rd.versions = now, readAt, versions
	for _, t := range techs {
		if e := entries[t.ID]; e != nil {
			rd.shifts[t.ID] = e.shiftWindows(now, until, offs[t.ID])
		} else {
			rd.shifts[t.ID] = ShiftWindows(t, now, until, offs[t.ID])
		}
	}
	return rd, nil
}

// cost ranks an option: SLA breach (paid weighted above warranty), lateness (s), then the travel
// it adds plus a quarter of the wait (s).
type cost [3]float64

func (a cost) less(b cost) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// best finds the cheapest gap for booking b whose visit starts inside one of windows (none: any
// time). Planned jobs keep their committed times (a technician may have accepted them), so the
// online insertion scans the gaps between them inside shifts.
func (p *Planner) best(b dispatch.Booking, windows []dispatch.Window, rd *Routes) (*Placement, cost) {
	var (
		best     Placement // kept by value: a better option is found many times per call
		found    bool
		bestCost cost
	)
	now := rd.now
	var inShift []Stop // reused: the stops of the shift at hand
	for _, t := range rd.techs {
		route := rd.stops[t.ID]
		onTime := false // an option without breach in an earlier shift of t
		for _, w := range rd.shifts[t.ID] {
			if onTime {
				break // a later shift of the same technician adds hours of waiting: never cheaper
			}
			// The gaps of this shift: between its stops, from the shift start (or now) to its end.
			prevLoc, prevEnd := t.Home, Later(w.Start, now)
			if !w.Start.After(now) {
				prevLoc = p.PositionAt(t, now, route)
			}
			inShift = inShift[:0]
			for _, sp := range route {
				if sp.End.After(w.Start) && sp.Start.Before(w.End) {
					inShift = append(inShift, sp)
				}
			}
			for i := 0; i <= len(inShift); i++ {
				gapEnd, nextLoc, hasNext := w.End, dispatch.Location{}, i < len(inShift)
				if hasNext {
					gapEnd, nextLoc = inShift[i].Start, inShift[i].Location
				}
				if i > 0 {
					prevLoc, prevEnd = inShift[i-1].Location, Later(inShift[i-1].End, now)
				}
				// The visit starts after prevEnd (travel is never negative): a gap shorter than
				// the visit cannot take it, whatever the travel, which need not be asked for.
				if !prevEnd.Add(b.Duration).Before(gapEnd) {
					continue
				}
				in := p.travelIn(rd, prevLoc, b.Location, prevEnd)
				earliest := prevEnd.Add(in).Truncate(time.Minute).Add(time.Minute)
				start, ok := fitWindows(earliest, windows)
				if !ok {
					continue
				}
				end := start.Add(b.Duration)
				out := time.Duration(0)
				if hasNext {
					out = p.travelIn(rd, b.Location, nextLoc, end)
				}
				if end.Add(out).After(gapEnd) || end.After(w.End) {
					continue
				}
				c := p.insertionCost(rd, b, start, now, in, out, hasNext, prevLoc, nextLoc)
				onTime = onTime || c[0] == 0
				if !found || c.less(bestCost) {
					best, found, bestCost = Placement{TechnicianID: t.ID, Technician: t, Start: start, End: end}, true, c
				}
			}
		}
	}
	if !found {
		return nil, bestCost
	}
	return &best, bestCost
}

// insert places job j of booking b in the best gap of the technicians' routes, inside the
// customer's preferred windows when there are any.
func (p *Planner) insert(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, techs []dispatch.Technician, pre *routeRead) (*Placement, Reason, error) {
	until := p.Config.until(b)
	rd, err := p.loadRoutes(ctx, st, techs, j.ID, until, pre)
	if err != nil {
		return nil, Reason{}, err
	}
	p.withMatrix(ctx, rd, b.Location)
	p.pending.mu.Lock()
	wall := time.Now()
	p.pending.merge(rd, j.ID, wall)
	pl, c := p.best(b, b.PreferredWindows, rd)
	p.Env.Count().SolverRun("insert", time.Since(wall), c[0]*1e9+c[1]+c[2])
	var pick *reservation
	if pl != nil {
		pick = p.pending.reserve(*pl, j.ID, b.ID, b.Location, wall)
		pl.pick, pl.planner = pick, p
		if v, ok := rd.versions[pl.TechnicianID]; ok {
			pl.PlanVersion, pl.seen, pl.route = &v, rd.seen[pl.TechnicianID], rd.stops[pl.TechnicianID]
		}
	}
	p.pending.mu.Unlock()
	if pl != nil {
		st.AfterTx(func(committed bool) { p.pending.settle(pick, committed, time.Now()) })
		return pl, Reason{}, nil
	}
	onShift := false
	for _, ws := range rd.shifts {
		onShift = onShift || len(ws) > 0
	}
	switch {
	case !onShift:
		return nil, Reason{"no_shift", "no technician with the skills has a shift before " + until.Format(time.RFC3339)}, nil
	case len(b.PreferredWindows) > 0:
		return nil, Reason{"no_room_in_windows", "no technician has room inside the customer's preferred windows"}, nil
	default:
		return nil, Reason{"no_room", "every technician with the skills is fully booked until " + until.Format(time.RFC3339)}, nil
	}
}

// until is how far ahead insert looks for booking b: the horizon past its due time, or the
// end of its last preferred window when later.
func (c Config) until(b dispatch.Booking) time.Time {
	until := b.SLADueAt.Add(c.Horizon)
	for _, w := range b.PreferredWindows {
		if w.End.After(until) {
			until = w.End
		}
	}
	return until
}

// fitWindows is the earliest start ≥ earliest inside one of the windows (none: any).
func fitWindows(earliest time.Time, ws []dispatch.Window) (time.Time, bool) {
	if len(ws) == 0 {
		return earliest, true
	}
	var best time.Time
	for _, w := range ws {
		st := Later(earliest, w.Start)
		if st.Before(w.End) && (best.IsZero() || st.Before(best)) {
			best = st
		}
	}
	return best, !best.IsZero()
}

func (p *Planner) insertionCost(rd *Routes, b dispatch.Booking, start, now time.Time, in, out time.Duration, hasNext bool, prev, next dispatch.Location) cost {
	breach, late := 0.0, 0.0
	if start.After(b.SLADueAt) {
		breach = 1
		if b.Tier == dispatch.TierPaid {
			breach = 2
		}
		late = start.Sub(b.SLADueAt).Seconds()
	}
	added := in + out
	if hasNext {
		added -= p.travelIn(rd, prev, next, start)
	}
	return cost{breach, late, added.Seconds() + 0.25*math.Max(0, start.Sub(now).Seconds())}
}

// Later is the later of two times.
func Later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Routes reads the technicians' planned jobs and shifts from now until 'until', for a plan of
// their own (the re-optimisation's).
func (p *Planner) Routes(ctx context.Context, st Store, techs []dispatch.Technician, until time.Time) (*Routes, error) {
	return p.loadRoutes(ctx, st, techs, 0, until, nil)
}

// Stops are technician id's jobs, in start order.
func (r *Routes) Stops(id int64) []Stop { return r.stops[id] }

// Shifts are technician id's shift windows, time off cut out.
func (r *Routes) Shifts(id int64) []dispatch.Window { return r.shifts[id] }

// Option is a window in which booking b's visit fits, where and when, and what it costs the plan:
// the travel it adds plus a quarter of the wait until it (seconds).
type Option struct {
	Window    dispatch.Window
	Placement Placement
	Cost      float64
}

// Options are the windows, among ws, in which the candidates' routes until 'until' have room for
// booking b's visit, each placed by the same insertion the booking itself will use.
func (p *Planner) Options(ctx context.Context, st Store, b dispatch.Booking, until time.Time, ws []dispatch.Window) ([]Option, error) {
	techs, pre, _, err := p.candidates(ctx, st, b, nil, until, false)
	if err != nil || len(techs) == 0 {
		return nil, err
	}
	rd, err := p.loadRoutes(ctx, st, techs, 0, until, pre)
	if err != nil {
		return nil, err
	}
	p.withMatrix(ctx, rd, b.Location)
	p.pending.mu.Lock()
	p.pending.merge(rd, 0, time.Now())
	p.pending.mu.Unlock()
	var out []Option
	for _, w := range ws {
		if pl, c := p.best(b, []dispatch.Window{w}, rd); pl != nil {
			out = append(out, Option{Window: w, Placement: *pl, Cost: c[2]})
		}
	}
	return out, nil
}
