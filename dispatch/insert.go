package dispatch

import (
	"context"
	"math"
	"time"
)

// insert places job j of booking b in the best gap of the technicians' routes. Planned jobs keep
// their committed times (a technician may have accepted them), so the online insertion scans the
// gaps between them inside shifts, honouring customer windows, and ranks the options by SLA
// breach, then lateness, then added travel plus a small price for waiting.
func (s *Service) insert(ctx context.Context, st Store, b Booking, j Job, techs []Technician) (*Placement, Reason, error) {
	now := s.now()
	horizonEnd := b.SLADueAt.Add(s.Planning.Horizon)
	for _, w := range b.PreferredWindows {
		if w.End.After(horizonEnd) {
			horizonEnd = w.End
		}
	}
	ids := make([]int64, len(techs))
	for i, t := range techs {
		ids[i] = t.ID
	}
	stops, err := st.RouteStops(ctx, ids, now.Add(-12*time.Hour), horizonEnd.Add(12*time.Hour))
	if err != nil {
		return nil, Reason{}, err
	}
	offs, err := st.TimeOffOf(ctx, ids, now, horizonEnd)
	if err != nil {
		return nil, Reason{}, err
	}
	byTech := map[int64][]Stop{}
	for _, sp := range stops {
		if sp.JobID != j.ID {
			byTech[sp.TechnicianID] = append(byTech[sp.TechnicianID], sp)
		}
	}
	var (
		best     *Placement
		bestCost [3]float64
		onShift  bool
	)
	for _, t := range techs {
		shifts := ShiftWindows(t, now, horizonEnd, offs[t.ID])
		if len(shifts) > 0 {
			onShift = true
		}
		route := byTech[t.ID]
		for _, w := range shifts {
			// The gaps of this shift: between its stops, from the shift start (or now) to its end.
			prevLoc, prevEnd := s.startPosition(t, now), maxTime(w.Start, now)
			if !w.Start.After(now) {
				prevLoc = s.startPosition(t, now)
			} else {
				prevLoc = t.Home
			}
			var inShift []Stop
			for _, sp := range route {
				if sp.End.After(w.Start) && sp.Start.Before(w.End) {
					inShift = append(inShift, sp)
				}
			}
			for i := 0; i <= len(inShift); i++ {
				gapEnd, nextLoc, hasNext := w.End, Location{}, i < len(inShift)
				if hasNext {
					gapEnd, nextLoc = inShift[i].Start, inShift[i].Location
				}
				if i > 0 {
					prevLoc, prevEnd = inShift[i-1].Location, maxTime(inShift[i-1].End, now)
				}
				in := s.travel(prevLoc, b.Location, prevEnd)
				earliest := prevEnd.Add(in).Truncate(time.Minute).Add(time.Minute)
				start, ok := fitWindows(earliest, b.Duration, b.PreferredWindows)
				if !ok {
					continue
				}
				end := start.Add(b.Duration)
				out := time.Duration(0)
				if hasNext {
					out = s.travel(b.Location, nextLoc, end)
				}
				if end.Add(out).After(gapEnd) || end.After(w.End) {
					continue
				}
				cost := insertionCost(b, start, now, in, out, hasNext, prevLoc, nextLoc, s)
				if best == nil || less3(cost, bestCost) {
					best, bestCost = &Placement{TechnicianID: t.ID, Start: start, End: end}, cost
				}
			}
		}
	}
	if best == nil {
		switch {
		case !onShift:
			return nil, Reason{"no_shift", "no technician with the skills has a shift before " + horizonEnd.Format(time.RFC3339)}, nil
		case len(b.PreferredWindows) > 0:
			return nil, Reason{"no_room_in_windows", "no technician has room inside the customer's preferred windows"}, nil
		default:
			return nil, Reason{"no_room", "every technician with the skills is fully booked until " + horizonEnd.Format(time.RFC3339)}, nil
		}
	}
	return best, Reason{}, nil
}

// fitWindows is the earliest start ≥ earliest whose visit lies in one of the windows (none: any).
func fitWindows(earliest time.Time, d time.Duration, ws []Window) (time.Time, bool) {
	if len(ws) == 0 {
		return earliest, true
	}
	var best time.Time
	for _, w := range ws {
		st := maxTime(earliest, w.Start)
		if st.Before(w.End) && (best.IsZero() || st.Before(best)) {
			best = st
		}
	}
	return best, !best.IsZero()
}

// insertionCost ranks an option: SLA breach (paid weighted above warranty), lateness, then the
// travel it adds plus a quarter of the wait, in seconds.
func insertionCost(b Booking, start, now time.Time, in, out time.Duration, hasNext bool, prev, next Location, s *Service) [3]float64 {
	breach, late := 0.0, 0.0
	if start.After(b.SLADueAt) {
		breach = 1
		if b.Tier == TierPaid {
			breach = 2
		}
		late = start.Sub(b.SLADueAt).Seconds()
	}
	added := in + out
	if hasNext {
		added -= s.travel(prev, next, start)
	}
	return [3]float64{breach, late, added.Seconds() + 0.25*math.Max(0, start.Sub(now).Seconds())}
}

func less3(a, b [3]float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
