package planning

import (
	"context"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/scheduling"
)

// The online insertion is scheduling's: planning builds the problem of one booking on the
// candidates' routes and scheduling.Plan.Insert decides, with the one objective (scheduling.Cost).
//
// Every visit already on a route has been told to its customer (and offered to its technician):
// it keeps its technician and its start. Each shift is cut at those visits into parts, each part
// ending with its told visit pinned where it is (the last part with the technician home by the
// shift's end), so that a new visit fits in a gap without moving anything, and its cost is the
// detour it adds: the route's travel with it minus the route's travel without it.

// gapTravel is the scheduling.TimedTravel of one insertion: each leg at the speed of the hour
// it leaves (SecondsAt; scheduling times every leg from its departure, in the search and in
// Check alike), from the routing engine's matrix when there is one; Seconds, which scheduling
// uses only to rank neighbours, times a leg at its part's hour. Every part has places of its
// own. Times are whole minutes, rounded up: a customer is told a time to the minute.
type gapTravel struct {
	p    *Planner
	rd   *Routes
	locs []dispatch.Location
	at   []time.Time // departure hour of the legs of each place; zero: the other end's
	// The legs asked for again and again (each part's, and to and from the visit being placed,
	// place 0), by their other end: -1 when not asked yet.
	toJob, fromJob, next []int64
	nextTo               []int
	// The legs to and from the visit being placed, timed: by their other end, with the departure
	// they were asked for.
	toJobAt, fromJobAt       []int64
	toJobLeave, fromJobLeave []int64
	// via is the place of the warehouse the visit's technician passes first (0: none): the drive
	// into the visit is the drive there, the pick-up (dispatch.PickupDuration) and the drive on.
	via int
}

func (g *gapTravel) add(l dispatch.Location, at time.Time) int {
	g.locs = append(g.locs, l)
	g.at = append(g.at, at)
	g.toJob, g.fromJob, g.next, g.nextTo = append(g.toJob, -1), append(g.fromJob, -1), append(g.next, -1), append(g.nextTo, -1)
	g.toJobAt, g.fromJobAt = append(g.toJobAt, -1), append(g.fromJobAt, -1)
	g.toJobLeave, g.fromJobLeave = append(g.toJobLeave, 0), append(g.fromJobLeave, 0)
	return len(g.locs) - 1
}

// SecondsAt implements scheduling.TimedTravel: the drive leaving at depart (Unix seconds).
func (g *gapTravel) SecondsAt(from, to int, depart int64) int64 {
	switch {
	case from == to:
		return 0
	case to == 0:
		if g.toJobAt[from] < 0 || g.toJobLeave[from] != depart {
			g.toJobAt[from], g.toJobLeave[from] = g.legAt(from, to, time.Unix(depart, 0)), depart
		}
		return g.toJobAt[from]
	case from == 0:
		if g.fromJobAt[to] < 0 || g.fromJobLeave[to] != depart {
			g.fromJobAt[to], g.fromJobLeave[to] = g.legAt(from, to, time.Unix(depart, 0)), depart
		}
		return g.fromJobAt[to]
	}
	return g.legAt(from, to, time.Unix(depart, 0))
}

// Seconds implements scheduling.Travel.
func (g *gapTravel) Seconds(from, to int) int64 {
	switch {
	case from == to:
		return 0
	case to == 0:
		if g.toJob[from] < 0 {
			g.toJob[from] = g.leg(from, to)
		}
		return g.toJob[from]
	case from == 0:
		if g.fromJob[to] < 0 {
			g.fromJob[to] = g.leg(from, to)
		}
		return g.fromJob[to]
	case g.nextTo[from] == to:
		return g.next[from]
	}
	g.nextTo[from], g.next[from] = to, g.leg(from, to)
	return g.next[from]
}

func (g *gapTravel) leg(from, to int) int64 {
	at := g.at[from]
	if at.IsZero() {
		at = g.at[to]
	}
	return g.legAt(from, to, at)
}

func (g *gapTravel) legAt(from, to int, at time.Time) int64 {
	if to == 0 && g.via > 0 && from != g.via {
		d1 := g.legAt(from, g.via, at)
		stop := int64(dispatch.PickupDuration / time.Second)
		return d1 + stop + g.legAt(g.via, 0, at.Add(time.Duration(d1+stop)*time.Second))
	}
	if g.locs[from] == g.locs[to] {
		return 0
	}
	d := g.p.travelIn(g.rd, g.locs[from], g.locs[to], at)
	return int64((d + time.Minute - 1) / time.Minute * 60)
}

// insertion is the scheduling problem of one booking's visit on the candidates' routes.
type insertion struct {
	plan   *scheduling.Plan
	jobLoc int
	techs  map[int64]*dispatch.Technician // into the routes' technicians
	via    *Warehouse                     // passed first, to collect the visit's parts (nil: none)
	p      *Planner
	sc     *scratch // what its problem is built in, released when it is done
}

// ceilMinute is t rounded up to the minute.
func ceilMinute(t time.Time) time.Time {
	if r := t.Truncate(time.Minute); r.Before(t) {
		return r.Add(time.Minute)
	}
	return t
}

// newInsertion builds the problem of booking b's visit (duration d) on routes rd: the shifts
// starting before 'until' (and, when onTimeFirst, only those starting before b's due time plus
// each technician's first one after it), cut at their told visits; parts too short for the visit
// or outside every one of windows (none: any time) are left out.
func (p *Planner) newInsertion(b dispatch.Booking, windows []dispatch.Window, rd *Routes, until time.Time, uptoDue bool, via *Warehouse) (*insertion, error) {
	parts := 0 // at most: a part per told visit (and pick-up) and one per shift
	routeOf := make(map[int64][]Stop, len(rd.techs))
	for _, t := range rd.techs {
		routeOf[t.ID] = p.withPickups(rd.stops[t.ID])
		parts += len(routeOf[t.ID]) + len(rd.shifts[t.ID])
	}
	n := 2 + 2*parts
	sc := scratchPool.Get().(*scratch)
	tr := sc.travel(p, rd, n)
	ends := sized(sc.ends, 2*parts)                                                                                                               // the parts' From and To: never grown, so pointers into it hold
	in := &insertion{jobLoc: tr.add(b.Location, time.Time{}), techs: make(map[int64]*dispatch.Technician, len(rd.techs)), via: via, p: p, sc: sc} // place 0
	if via != nil {
		tr.via = tr.add(via.Location, time.Time{}) // place 1
	}
	nowS := ceilMinute(rd.now)
	// fits reports whether a visit may start in [from, to-b.Duration] inside one of the windows.
	fits := func(from, to time.Time) bool {
		last := to.Add(-b.Duration)
		if last.Before(from) {
			return false
		}
		if len(windows) == 0 {
			return true
		}
		for _, w := range windows {
			if !w.Start.After(last) && w.End.After(from) {
				return true
			}
		}
		return false
	}
	pr := &scheduling.Problem{Travel: tr, Now: nowS.Unix(), Jobs: sized(sc.jobs, parts),
		Technicians: make([]scheduling.Technician, 0, len(rd.techs))}
	routes := sized(sc.routes, parts)
	ids := sized(sc.ids, parts)[:parts] // each part's told visit
	told := func(t, start, end int64, loc int) int64 {
		id := int64(len(pr.Jobs) + 1)
		pr.Jobs = append(pr.Jobs, scheduling.Job{ID: id, Loc: loc, Duration: end - start, PinnedTech: t, PinnedStart: start})
		return id
	}
	shifts := sized(sc.shifts, parts) // every technician's parts, each technician's a slice of it
	for ti := range rd.techs {
		t := &rd.techs[ti]
		st := scheduling.Technician{ID: t.ID}
		first := len(shifts)
		route := routeOf[t.ID]
		var last time.Time // where the previous part ended: parts never overlap
		afterDue := false
		for _, w := range rd.shifts[t.ID] {
			if !w.Start.Before(until) || afterDue {
				break
			}
			if uptoDue && w.Start.After(b.SLADueAt) {
				afterDue = true // the first shift after the due time, and no later one
			}
			cur := Later(Later(w.Start, nowS), last)
			if !cur.Before(w.End) {
				continue
			}
			from := t.Home
			if !w.Start.After(rd.now) {
				from = p.PositionAt(*t, rd.now, route)
			}
			// part adds the part [cur, end] from 'from' to 'to' (the told visit pin, or home
			// by end), unless the model cannot reach its end in time (a visit planned by hand,
			// or on other travel times): that gap takes no new visit.
			part := func(end time.Time, to dispatch.Location, toAt time.Time, pin *Stop) {
				fi, ti := tr.add(from, cur), tr.add(to, toAt)
				if reach := reachBy(pin, end); cur.Unix()+tr.SecondsAt(fi, ti, cur.Unix()) > reach.Unix() {
					return
				}
				ends = append(ends, fi, ti)
				sh := scheduling.Shift{Window: scheduling.Window{Start: cur.Unix(), End: end.Unix()}, From: &ends[len(ends)-2], To: &ends[len(ends)-1]}
				a := scheduling.Assignment{Technician: t.ID, Shift: len(st.Shifts)}
				k := len(pr.Jobs)
				if pin != nil {
					ids[k] = told(t.ID, pin.Start.Unix(), pin.End.Unix(), ti)
				} else { // home by the shift's end
					ids[k] = told(t.ID, end.Unix(), end.Unix(), ti)
				}
				a.Jobs = ids[k : k+1 : k+1]
				shifts = append(shifts, sh)
				st.Shifts = shifts[first:len(shifts):len(shifts)]
				routes = append(routes, a)
			}
			for i := range route {
				sp := &route[i]
				if !sp.End.After(cur) || !sp.Start.Before(w.End) {
					continue
				}
				if sp.Start.After(cur) && fits(cur, sp.Start) {
					part(sp.End, sp.Location, sp.Start, sp)
				}
				cur, from = Later(cur, sp.End), sp.Location
			}
			if cur.Before(w.End) && fits(cur, w.End) {
				part(w.End, t.Home, w.End, nil)
			}
			last = Later(cur, w.End)
		}
		if len(st.Shifts) > 0 {
			pr.Technicians = append(pr.Technicians, st)
			in.techs[t.ID] = t
		}
	}
	sc.jobs, sc.routes, sc.ids, sc.ends, sc.shifts = pr.Jobs, routes, ids, ends, shifts
	plan, err := scheduling.NewPlan(pr, nil)
	if err != nil {
		in.release()
		return nil, err
	}
	for _, a := range routes {
		if err := plan.Assign(a); err != nil {
			in.release()
			return nil, err
		}
	}
	in.plan = plan
	return in, nil
}

// scratch is what an insertion's problem is built in, kept between bookings: each booking built
// some 350 KB of it afresh for its 30 candidates' routes, most of the server's garbage under load.
type scratch struct {
	tr     gapTravel
	jobs   []scheduling.Job
	routes []scheduling.Assignment
	ends   []int
	ids    []int64
	shifts []scheduling.Shift
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// sized is s emptied, with room for n (a new slice when it has less).
func sized[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// travel is the scratch's gapTravel, emptied, for n places on routes rd.
func (sc *scratch) travel(p *Planner, rd *Routes, n int) *gapTravel {
	g := &sc.tr
	g.p, g.rd, g.via = p, rd, 0
	g.locs, g.at = sized(g.locs, n), sized(g.at, n)
	g.toJob, g.fromJob, g.next, g.nextTo = sized(g.toJob, n), sized(g.fromJob, n), sized(g.next, n), sized(g.nextTo, n)
	g.toJobAt, g.fromJobAt = sized(g.toJobAt, n), sized(g.fromJobAt, n)
	g.toJobLeave, g.fromJobLeave = sized(g.toJobLeave, n), sized(g.fromJobLeave, n)
	return g
}

// release hands the insertion's scratch back: in is not used after it.
func (in *insertion) release() {
	if in.sc == nil {
		return
	}
	in.sc.tr.p, in.sc.tr.rd = nil, nil
	scratchPool.Put(in.sc)
	in.sc, in.plan = nil, nil
}

// reachBy is when a part must reach its end: its told visit's start, or the shift's end.
func reachBy(pin *Stop, end time.Time) time.Time {
	if pin != nil {
		return pin.Start
	}
	return end
}

// newJobID is the id of the visit being placed: the told ones are numbered from 1.
const newJobID = -1

// place puts booking b's visit at its best place inside one of windows (none: any time): the
// placement and what it costs the plan (nil when it fits nowhere). The visit is taken out again,
// so that one insertion can try several windows.
func (in *insertion) place(b dispatch.Booking, windows []dispatch.Window) (*Placement, scheduling.Cost) {
	j := scheduling.Job{ID: newJobID, Loc: in.jobLoc, Duration: int64(b.Duration / time.Second), Tier: tierOf(b.Tier)}
	if !b.SLADueAt.IsZero() {
		j.Due = b.SLADueAt.Unix()
	}
	for _, w := range windows {
		// The visit starts inside [Start, End), as the customer's window has it.
		j.Windows = append(j.Windows, scheduling.Window{Start: w.Start.Unix(), End: w.End.Unix() - 1})
	}
	before := in.plan.Cost()
	pl, err := in.plan.Insert(j, nil)
	if err != nil {
		return nil, scheduling.Cost{}
	}
	after := in.plan.Cost()
	if err := in.plan.Remove(newJobID); err != nil || !pl.Assigned {
		return nil, scheduling.Cost{}
	}
	start := time.Unix(pl.Start, 0).UTC()
	t := *in.techs[pl.Technician]
	var pickup *Pickup
	if in.via != nil {
		pickup = in.p.PickupBefore(*in.via, b.Location, start)
	}
	return &Placement{TechnicianID: t.ID, Technician: t, Start: start, End: start.Add(b.Duration), Pickup: pickup},
		scheduling.Cost{Breaches: after.Breaches - before.Breaches, Lateness: after.Lateness - before.Lateness,
			Travel: after.Travel - before.Travel, Disruption: after.Disruption - before.Disruption}
}

// TierOf is the scheduling tier of a dispatch tier.
func tierOf(t dispatch.Tier) scheduling.Tier {
	if t == dispatch.TierPaid {
		return scheduling.Paid
	}
	return scheduling.Warranty
}

// Fits reports whether booking b's job j can start at 'start' in technician t's route as it
// stands, every other told visit kept where it is, under the same model the insertion plans with
// (travel from the visit before, to the one after, home by the shift's end): the check of a
// dispatcher's assignment.
func (p *Planner) Fits(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, t dispatch.Technician, start time.Time) (bool, error) {
	rd, err := p.loadRoutes(ctx, st, []dispatch.Technician{t}, j.ID, start.Add(b.Duration+24*time.Hour), nil)
	if err != nil {
		return false, err
	}
	p.withMatrix(ctx, rd, b.Location)
	ws := []dispatch.Window{{Start: start, End: start.Add(time.Minute)}}
	via, err := PickupOf(ctx, st, j)
	if err != nil {
		return false, err
	}
	in, err := p.newInsertion(b, ws, rd, farFuture, false, via)
	if err != nil {
		return false, err
	}
	defer in.release()
	pl, _ := in.place(b, ws)
	return pl != nil, nil
}
