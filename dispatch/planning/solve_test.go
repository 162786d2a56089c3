package planning

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestInsertionKeepsEveryToldVisit: a property over random routes (technicians with told visits
// spread over three days, some under way, some back to back) and random bookings (durations,
// customers' windows, due times): every placement the insertion answers lies in a gap of its
// technician's route that the travel model can drive (from the visit before or the start
// position, to the visit after or home by the shift's end), inside a shift, inside one of the
// customer's windows, never before now; and the told visits are exactly as they were.
func TestInsertionKeepsEveryToldVisit(t *testing.T) {
	planner := NewPlanner(nil, dispatch.NewEnv(dispatch.DefaultRules(), nil, nil))
	rng := rand.New(rand.NewPCG(29, 29))
	near := func() dispatch.Location {
		r, a := 12*math.Sqrt(rng.Float64()), rng.Float64()*2*math.Pi
		return dispatch.Location{Lat: 45.764 + r/111.32*math.Sin(a), Lng: 4.8357 + r/77.8*math.Cos(a)}
	}
	var shifts []dispatch.Shift
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		shifts = append(shifts, dispatch.Shift{Day: d, Start: "08:00", End: "18:00"})
	}
	placed := 0
	for round := range 40 {
		now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(10*60)) * time.Minute)
		rd := &Routes{stops: map[int64][]Stop{}, shifts: map[int64][]dispatch.Window{}, now: now}
		for i := range 8 {
			tech := dispatch.Technician{ID: int64(i + 1), Home: near(), TimeZone: "Europe/Paris", WeeklyShifts: shifts}
			rd.techs = append(rd.techs, tech)
			rd.shifts[tech.ID] = ShiftWindows(tech, now, now.Add(72*time.Hour), nil)
			at := now.Add(-time.Duration(rng.IntN(90)) * time.Minute).Truncate(time.Minute)
			for k := range rng.IntN(12) {
				at = at.Add(time.Duration(rng.IntN(4)*20) * time.Minute)
				d := time.Duration(30+15*rng.IntN(6)) * time.Minute
				rd.stops[tech.ID] = append(rd.stops[tech.ID], Stop{JobID: int64(100*i + k + 1), TechnicianID: tech.ID, Start: at, End: at.Add(d), Location: near()})
				at = at.Add(d + time.Duration(rng.IntN(8)*30)*time.Minute)
			}
		}
		told := map[int64][]Stop{}
		for id, ss := range rd.stops {
			told[id] = slices.Clone(ss)
		}
		for range 10 {
			b := dispatch.Booking{Location: near(), Duration: time.Duration(30+15*rng.IntN(6)) * time.Minute,
				SLADueAt: now.Add(time.Duration(4+rng.IntN(44)) * time.Hour), Tier: dispatch.Tier([]string{"paid", "warranty"}[rng.IntN(2)])}
			var ws []dispatch.Window
			if rng.IntN(3) == 0 {
				from := now.Add(time.Duration(rng.IntN(48)) * time.Hour).Truncate(time.Hour)
				ws = []dispatch.Window{{Start: from, End: from.Add(time.Duration(2+rng.IntN(3)) * time.Hour)}}
			}
			pl, _ := planner.best(b, ws, rd, nil)
			if pl == nil {
				continue
			}
			placed++
			checkPlacement(t, planner, rd, b, ws, pl, round)
			// The visit is told in its turn: later bookings go around it.
			sp := Stop{JobID: int64(10000 + placed), TechnicianID: pl.TechnicianID, Start: pl.Start, End: pl.End, Location: b.Location}
			rd.stops[pl.TechnicianID] = append(slices.Clone(rd.stops[pl.TechnicianID]), sp)
			slices.SortFunc(rd.stops[pl.TechnicianID], func(x, y Stop) int { return x.Start.Compare(y.Start) })
			told[pl.TechnicianID] = slices.Clone(rd.stops[pl.TechnicianID])
		}
		for id, ss := range told {
			if !slices.Equal(ss, rd.stops[id]) {
				t.Fatalf("round %d: technician %d's told visits changed", round, id)
			}
		}
	}
	if placed < 200 {
		t.Fatalf("only %d of 400 bookings placed: the property says little", placed)
	}
}

// checkPlacement recomputes placement pl of booking b from the routes, without the insertion's
// code: the gap it sits in, the travel on each side (each leg at the hour it leaves: the gap's
// start, the visit's end), the shift, the windows.
func checkPlacement(t *testing.T, p *Planner, rd *Routes, b dispatch.Booking, ws []dispatch.Window, pl *Placement, round int) {
	t.Helper()
	mins := func(d time.Duration) time.Duration { return (d + time.Minute - 1) / time.Minute * time.Minute }
	if pl.Start.Before(rd.now) || !pl.End.Equal(pl.Start.Add(b.Duration)) {
		t.Fatalf("round %d: %v–%v now %v", round, pl.Start, pl.End, rd.now)
	}
	if len(ws) > 0 && !slices.ContainsFunc(ws, func(w dispatch.Window) bool { return !pl.Start.Before(w.Start) && pl.Start.Before(w.End) }) {
		t.Fatalf("round %d: start %v outside the windows %v", round, pl.Start, ws)
	}
	tech := rd.techs[slices.IndexFunc(rd.techs, func(x dispatch.Technician) bool { return x.ID == pl.TechnicianID })]
	var shift dispatch.Window
	if i := slices.IndexFunc(rd.shifts[tech.ID], func(w dispatch.Window) bool { return !pl.Start.Before(w.Start) && !pl.End.After(w.End) }); i >= 0 {
		shift = rd.shifts[tech.ID][i]
	} else {
		t.Fatalf("round %d: %v–%v outside technician %d's shifts", round, pl.Start, pl.End, tech.ID)
	}
	// The visit before (or the shift's start, from home or, once it has begun, from where the
	// technician is now).
	from, free := tech.Home, shift.Start
	if !shift.Start.After(rd.now) {
		from, free = p.PositionAt(tech, rd.now, rd.stops[tech.ID]), rd.now.Truncate(time.Minute)
		if free.Before(rd.now) {
			free = free.Add(time.Minute)
		}
	}
	var next *Stop
	for i, sp := range rd.stops[tech.ID] {
		if sp.Start.Before(pl.End) && sp.End.After(pl.Start) {
			t.Fatalf("round %d: %v–%v overlaps told visit %d (%v–%v)", round, pl.Start, pl.End, sp.JobID, sp.Start, sp.End)
		}
		if sp.End.After(free) && !sp.End.After(pl.Start) {
			from, free = sp.Location, sp.End
		}
		if !sp.Start.Before(pl.End) && next == nil {
			next = &rd.stops[tech.ID][i]
		}
	}
	if in := mins(p.TravelTime(from, b.Location, free)); free.Add(in).After(pl.Start) {
		t.Fatalf("round %d: %v from %v, %v to drive: cannot start at %v", round, free, from, in, pl.Start)
	}
	if next != nil && next.Start.Before(shift.End) {
		if out := mins(p.TravelTime(b.Location, next.Location, pl.End)); pl.End.Add(out).After(next.Start) {
			t.Fatalf("round %d: ends %v, %v to the next told visit at %v", round, pl.End, out, next.Start)
		}
	} else if home := mins(p.TravelTime(b.Location, tech.Home, pl.End)); pl.End.Add(home).After(shift.End) {
		t.Fatalf("round %d: ends %v, %v home, the shift ends %v", round, pl.End, home, shift.End)
	}
}
