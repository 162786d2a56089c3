package planning

import (
	"context"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/scheduling"
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
	planner  *Planner
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
	rd := &Routes{techs: techs, stops: make(map[int64][]Stop, len(techs)), shifts: make(map[int64][]dispatch.Window, len(techs)), planner: p}
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

// Horizons cut the time ahead for the customer's wait: scheduling's insertion finds the best
// place starting in each slice (now to 1 h, 1 h to 4 h, 4 h to 24 h, later), and these few answers
// are compared on the objective with the customer's wait in its travel level (see Waiting).
var Horizons = []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour}

// Waiting is what a customer's wait costs a booking placed online, on the objective's
// travel + waiting level: a quarter of it (an hour sooner is worth 15 min of driving). Without
// it the online insertion would give today's visit to tomorrow for a minute of driving, and
// fill the days the later bookings are due in.
func Waiting(wait time.Duration) int64 { return int64(wait/time.Second) / 4 }

// best finds booking b's best place in routes rd whose visit starts inside one of windows (none:
// any time): scheduling's insertion, every told visit kept where it is (see newInsertion).
func (p *Planner) best(b dispatch.Booking, windows []dispatch.Window, rd *Routes, via *Warehouse) (*Placement, scheduling.Cost) {
	in, err := p.newInsertion(b, windows, rd, farFuture, len(windows) == 0, via)
	if err != nil {
		p.Env.Log.Error("insertion: the problem cannot be built", "booking_id", b.ID, "err", err)
		return nil, scheduling.Cost{}
	}
	defer in.release()
	var (
		best          *Placement
		bestCost, cmp scheduling.Cost
	)
	from := rd.now
	for k := 0; k <= len(Horizons); k++ {
		until := farFuture
		if k < len(Horizons) {
			until = rd.now.Add(Horizons[k])
		}
		slice := dispatch.Window{Start: from, End: until}
		from = until
		// A later slice waits at least until its start: it cannot beat a place on time that
		// costs less than that wait.
		if best != nil && cmp.Breaches == 0 && cmp.Lateness == 0 && cmp.Travel+cmp.Disruption <= Waiting(slice.Start.Sub(rd.now)) {
			break
		}
		ws := within(windows, slice)
		if len(ws) == 0 {
			continue
		}
		pl, c := in.place(b, ws)
		if pl == nil {
			continue
		}
		w := c
		w.Travel += Waiting(pl.Start.Sub(rd.now))
		if best == nil || w.Less(cmp) {
			best, bestCost, cmp = pl, c, w
		}
	}
	return best, bestCost
}

// within are the windows cut to w (none: w itself).
func within(ws []dispatch.Window, w dispatch.Window) []dispatch.Window {
	if len(ws) == 0 {
		return []dispatch.Window{w}
	}
	var out []dispatch.Window
	for _, x := range ws {
		if s, e := Later(x.Start, w.Start), earlier(x.End, w.End); s.Before(e) {
			out = append(out, dispatch.Window{Start: s, End: e})
		}
	}
	return out
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// farFuture is past every shift a route is read with.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// insert places job j of booking b in the best gap of the technicians' routes, inside the
// customer's preferred windows when there are any.
func (p *Planner) insert(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, techs []dispatch.Technician, pre *routeRead, via *Warehouse) (*Placement, Reason, error) {
	if j.NotBefore != nil {
		b.PreferredWindows = NotBefore(b.PreferredWindows, *j.NotBefore)
	}
	until := p.Config.until(b)
	rd, err := p.loadRoutes(ctx, st, techs, j.ID, until, pre)
	if err != nil {
		return nil, Reason{}, err
	}
	p.withMatrix(ctx, rd, b.Location)
	// The picks of this process are merged under the lock, the insertion runs without it (bookings
	// are planned in parallel), and the pick is reserved under it again, unless another booking
	// picked on the same technician meanwhile: then the insertion runs again with that pick,
	// holding the lock.
	p.pending.mu.Lock()
	wall := time.Now()
	p.pending.merge(rd, j.ID, wall)
	mark := p.pending.seq
	p.pending.mu.Unlock()
	pl, c := p.best(b, b.PreferredWindows, rd, via)
	p.pending.mu.Lock()
	if pl != nil && p.pending.pickedSince(pl.TechnicianID, mark) {
		p.pending.merge(rd, j.ID, time.Now())
		pl, c = p.best(b, b.PreferredWindows, rd, via)
	}
	p.Env.Count().SolverRun("insert", time.Since(wall), float64(c.Breaches)*1e9+float64(c.Lateness+c.Travel))
	var pick *reservation
	if pl != nil {
		pick = p.pending.reserve(*pl, j.ID, b.ID, b.Location, wall)
		if pl.Pickup != nil {
			pick.stop.Via = &pl.Pickup.Location
		}
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

// Stops are technician id's jobs, in start order, each pick-up still to make as a stop of its own
// before its visit (Stop.Pickup).
func (r *Routes) Stops(id int64) []Stop { return r.planner.withPickups(r.stops[id]) }

// Shifts are technician id's shift windows, time off cut out.
func (r *Routes) Shifts(id int64) []dispatch.Window { return r.shifts[id] }

// Option is a window in which booking b's visit fits, where and when, and what it costs the plan:
// the travel it adds plus its lateness (seconds).
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
	in, err := p.newInsertion(b, ws, rd, until, false, nil)
	if err != nil {
		return nil, err
	}
	defer in.release()
	var out []Option
	for _, w := range ws {
		if pl, c := in.place(b, []dispatch.Window{w}); pl != nil {
			out = append(out, Option{Window: w, Placement: *pl, Cost: float64(c.Travel + c.Lateness)})
		}
	}
	return out, nil
}
