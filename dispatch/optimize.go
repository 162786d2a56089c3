package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fieldfix/fieldfix/geo"
)

// OptimizeResult says what a re-optimisation did.
type OptimizeResult struct {
	Considered int     `json:"considered"`
	Moved      []Moved `json:"moved"`
	Assigned   int     `json:"newly_assigned"`
	// Saved is the objective gained: SLA breaches avoided, lateness and travel+wait (seconds).
	BreachesAvoided int     `json:"breaches_avoided"`
	SecondsSaved    float64 `json:"seconds_saved"`
	Elapsed         string  `json:"elapsed"`
	StoppedEarly    bool    `json:"stopped_early"`
}

// FreezeAhead keeps jobs starting this soon where they are: the technician is preparing them.
const FreezeAhead = 30 * time.Minute

// Reoptimize improves the plan of a region ("" for all) within budget: each movable job (not
// pinned, not accepted or started) is taken out and put back into the best gap among nearby
// technicians when that beats where it is (fewer SLA breaches, less lateness, or at least five
// minutes less travel and wait); unassigned jobs get a technician when one has room. Moved
// offers are withdrawn, the technicians told, and the job offered anew. Each move is its own
// transaction, so a concurrent accept or override simply wins.
func (s *Service) Reoptimize(ctx context.Context, a Actor, region string, budget time.Duration) (OptimizeResult, error) {
	if !a.Staff() && a.Role != system.Role {
		return OptimizeResult{}, Forbidden("only dispatchers re-optimise")
	}
	if region != "" {
		if _, err := geo.ParseCellAt(region, geo.ResRegion); err != nil {
			return OptimizeResult{}, Invalid("region", "invalid_region", "region must be an H3 cell at resolution %d: %v", geo.ResRegion, err)
		}
	}
	if budget <= 0 || budget > 2*time.Minute {
		budget = 10 * time.Second
	}
	start := time.Now()
	deadline := start.Add(budget)
	res := OptimizeResult{Moved: []Moved{}}
	ids, err := s.Store.MovableJobs(ctx, s.now().Add(FreezeAhead), region)
	if err != nil {
		return res, err
	}
	for _, id := range ids {
		if time.Now().After(deadline) || ctx.Err() != nil {
			res.StoppedEarly = true
			break
		}
		res.Considered++
		var mv *Moved
		var gain cost
		err := s.Store.Tx(ctx, func(st Store) error {
			var err error
			mv, gain, err = s.improveJob(ctx, st, a, id)
			return err
		})
		if isDoubleBooked(err) || isDeadlock(err) || errors.Is(err, errMovedMeanwhile) {
			continue // someone else changed that corner of the plan: leave it
		}
		if err != nil {
			return res, fmt.Errorf("re-optimise job %d: %w", id, err)
		}
		if mv == nil {
			continue
		}
		res.Moved = append(res.Moved, *mv)
		if mv.FromTechnician == nil {
			res.Assigned++
		}
		res.BreachesAvoided += int(gain[0])
		res.SecondsSaved += gain[1] + gain[2]
	}
	res.Elapsed = time.Since(start).Round(time.Millisecond).String()
	s.metrics().SolverRun("reoptimize", time.Since(start), res.SecondsSaved)
	return res, nil
}

var errMovedMeanwhile = errors.New("job changed meanwhile")

// improveJob moves one job when a better gap exists; it returns the move and the gain.
func (s *Service) improveJob(ctx context.Context, st Store, a Actor, id int64) (*Moved, cost, error) {
	j, err := st.LockJob(ctx, id)
	if err != nil {
		return nil, cost{}, err
	}
	if j.Pinned || (j.Status != JobUnassigned && j.Status != JobOffered) {
		return nil, cost{}, errMovedMeanwhile
	}
	b, err := st.GetBooking(ctx, j.BookingID)
	if err != nil {
		return nil, cost{}, err
	}
	refused, err := st.RefusedTechnicians(ctx, j.ID)
	if err != nil {
		return nil, cost{}, err
	}
	techs, _, _, err := s.candidates(ctx, st, b, refused, time.Time{})
	if err != nil || len(techs) == 0 {
		return nil, cost{}, err
	}
	if j.TechnicianID != nil && !containsTech(techs, *j.TechnicianID) {
		t, err := st.GetTechnician(ctx, *j.TechnicianID)
		if err != nil {
			return nil, cost{}, err
		}
		techs = append(techs, t)
	}
	until := b.SLADueAt.Add(s.Planning.Horizon)
	rd, err := s.loadRoutes(ctx, st, techs, j.ID, until, nil)
	if err != nil {
		return nil, cost{}, err
	}
	s.withMatrix(ctx, rd, b.Location)
	s.pending.mu.Lock()
	wall := time.Now()
	s.pending.merge(rd, j.ID, wall)
	p, newCost := s.best(b, b.PreferredWindows, rd)
	var pick *reservation
	var gain cost
	better := false
	if p != nil {
		if j.TechnicianID == nil || j.PlannedStart == nil {
			better, gain = true, cost{}
		} else {
			cur := s.costAt(b, rd, *j.TechnicianID, *j.PlannedStart)
			gain = cost{cur[0] - newCost[0], cur[1] - newCost[1], cur[2] - newCost[2]}
			better = (p.TechnicianID != *j.TechnicianID || !p.Start.Equal(*j.PlannedStart)) &&
				(gain[0] > 0 || (gain[0] == 0 && gain[1] > 0) || (gain[0] == 0 && gain[1] == 0 && gain[2] >= 300))
		}
		if better {
			pick = s.pending.reserve(*p, j.ID, b.ID, b.Location, wall)
		}
	}
	s.pending.mu.Unlock()
	if !better {
		return nil, cost{}, nil
	}
	st.AfterTx(func(committed bool) { s.pending.settle(pick, committed, time.Now()) })

	now := s.now()
	prev, prevStart, from := j.TechnicianID, j.PlannedStart, j.Status
	if err := s.withdrawOffer(ctx, st, j, "re-optimised"); err != nil {
		return nil, cost{}, err
	}
	if prev != nil && *prev != p.TechnicianID {
		if err := s.tellTechnician(ctx, st, prev, j, "cancellation", "Job moved", fmt.Sprintf("Job %d went to a colleague closer to it.", j.ID)); err != nil {
			return nil, cost{}, err
		}
	}
	j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.TechnicianName = &p.TechnicianID, &p.Start, &p.End, p.Technician.Name
	j.Status, j.OfferExpiresAt, j.UpdatedAt = JobUnassigned, nil, now
	if err := st.AddAudit(ctx, AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: j.ID,
		Action: "reoptimized", FromStatus: string(from), ToStatus: string(JobUnassigned),
		Data: map[string]any{"booking_id": b.ID, "previous_technician_id": prev, "previous_start": prevStart, "technician_id": p.TechnicianID,
			"planned_start": p.Start, "gain": gain}}); err != nil {
		return nil, cost{}, err
	}
	if p.Start.Before(now.Add(s.Lifecycle.OfferHorizon)) {
		if err := s.offerTo(ctx, st, a, b, &j, &p.Technician); err != nil {
			return nil, cost{}, err
		}
	} else if _, err := st.UpdateJob(ctx, j); err != nil {
		return nil, cost{}, err
	}
	if err := s.setBookingStatus(ctx, st, b.ID, BookingScheduled); err != nil {
		return nil, cost{}, err
	}
	return &Moved{JobID: j.ID, BookingID: b.ID, FromTechnician: prev, ToTechnician: j.TechnicianID, Status: string(j.Status),
		PlannedStartNew: j.PlannedStart}, gain, nil
}

func containsTech(ts []Technician, id int64) bool {
	for _, t := range ts {
		if t.ID == id {
			return true
		}
	}
	return false
}

// costAt is the cost of the booking's visit at start in tech's route (without the visit itself).
func (s *Service) costAt(b Booking, rd *routes, tech int64, start time.Time) cost {
	var t Technician
	for _, x := range rd.techs {
		if x.ID == tech {
			t = x
		}
	}
	now := rd.now
	prevLoc, prevEnd := s.positionAt(t, now, rd.stops[tech]), now
	var next *Stop
	for i, sp := range rd.stops[tech] {
		if !sp.Start.After(start) {
			prevLoc, prevEnd = sp.Location, sp.End
			continue
		}
		next = &rd.stops[tech][i]
		break
	}
	in := s.travelIn(rd, prevLoc, b.Location, maxTime(prevEnd, now))
	out, nextLoc := time.Duration(0), Location{}
	if next != nil {
		out, nextLoc = s.travelIn(rd, b.Location, next.Location, start.Add(b.Duration)), next.Location
	}
	return s.insertionCost(rd, b, start, now, in, out, next != nil, prevLoc, nextLoc)
}
