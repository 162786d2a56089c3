package planning

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestStopsBetweenIsTheFilter: stopsBetween gives the stops a filter on the window would, as a
// capped sub-slice when they are one run.
func TestStopsBetweenIsTheFilter(t *testing.T) {
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return base.Add(time.Duration(h * float64(time.Hour))) }
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		var stops []Stop
		h := 0.0
		for k := range rng.IntN(8) {
			h += rng.Float64() * 3
			d := 0.5 + rng.Float64()*2
			if rng.IntN(6) == 0 { // now and then a long stop reaching past later ones
				d += 6
			}
			stops = append(stops, Stop{JobID: int64(k), Start: at(h), End: at(h + d)})
		}
		from, to := at(rng.Float64()*12-2), at(rng.Float64()*16)
		var want []Stop
		for _, sp := range stops {
			if sp.End.After(from) && sp.Start.Before(to) {
				want = append(want, sp)
			}
		}
		got := stopsBetween(stops, from, to)
		if !slices.Equal(got, want) {
			t.Fatalf("stops %v between %s and %s: got %v, want %v", stops, from, to, got, want)
		}
		if cap(got) != len(got) {
			t.Fatalf("not capped: len %d cap %d", len(got), cap(got))
		}
	}
}

// TestShiftMemoIsShiftWindows: a plan entry's shift windows from its memo are ShiftWindows' for
// every span inside the memo and outside it, with and without time off, across a DST change.
func TestShiftMemoIsShiftWindows(t *testing.T) {
	tech := dispatch.Technician{ID: 1, TimeZone: "Europe/Paris", WeeklyShifts: []dispatch.Shift{
		{Day: "mon", Start: "08:00", End: "12:00"}, {Day: "mon", Start: "13:00", End: "17:30"},
		{Day: "tue", Start: "07:30", End: "16:00"}, {Day: "sat", Start: "09:00", End: "13:00"},
		{Day: "sun", Start: "01:00", End: "04:00"},
	}}
	now := time.Date(2026, 10, 23, 15, 4, 0, 0, time.UTC) // the clocks go back on the 25th in Paris
	e := &planEntry{PlanRead: PlanRead{Technician: tech}, now: now, shifts: &shiftMemo{}}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		from := now.Add(time.Duration(rng.IntN(3*24*60)-36*60) * time.Minute)
		to := from.Add(time.Duration(rng.IntN(9*24*60)) * time.Minute)
		var off []dispatch.Window
		if rng.IntN(2) == 0 {
			s := from.Add(time.Duration(rng.IntN(4*24*60)) * time.Minute)
			off = append(off, dispatch.Window{Start: s, End: s.Add(time.Duration(rng.IntN(30*60)) * time.Minute)})
		}
		got, want := e.shiftWindows(from, to, off), ShiftWindows(tech, from, to, off)
		if !slices.Equal(got, want) {
			t.Fatalf("from %s to %s off %v:\n got %v\nwant %v", from, to, off, got, want)
		}
	}
}

// TestPlanVersionCountsCommittedPicksOnce: a booking's guarded write expects one version more for
// each pick it planned around that committed, unless the plan it read already held that pick's
// job (read between the pick's commit and its settling); rolled-back picks count for nothing.
func TestPlanVersionCountsCommittedPicksOnce(t *testing.T) {
	r := newReservations()
	now := time.Now()
	pick := func() *reservation {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.reserve(Placement{TechnicianID: 7}, r.tempID(), 1, dispatch.Location{}, now)
	}
	committed, inRead, rolledBack := pick(), pick(), pick()
	r.written(committed, 101)
	r.written(inRead, 102)
	r.settle(committed, true, now)
	r.settle(inRead, true, now)
	r.settle(rolledBack, false, now)
	route := []Stop{{JobID: 50}, {JobID: 102}, {JobID: committed.stop.JobID}, {JobID: inRead.stop.JobID}}
	if got := r.planVersion(t.Context(), 10, []*reservation{committed, inRead, rolledBack}, route, time.Second); got != 11 {
		t.Fatalf("plan version %d, want 11 (the read at 10 held job 102; job 101 committed since)", got)
	}
	// A pick not settled yet is waited for, up to the limit, and then not counted.
	pending := pick()
	start := time.Now()
	if got := r.planVersion(t.Context(), 10, []*reservation{pending}, nil, 50*time.Millisecond); got != 10 || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("plan version %d after %s, want 10 after the 50 ms wait", got, time.Since(start))
	}
}
