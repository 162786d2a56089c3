package board

import (
	"context"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// RouteJob is a visit on a technician's route as the console draws it: the job, what its
// booking says, and the drive before it.
type RouteJob struct {
	BoardJob
	// Travel is the drive to the visit from the previous one on the route (the first: from the
	// technician's home base), under the travel model, leaving when the previous one ends; with a
	// pick-up, to the warehouse and from it.
	Travel time.Duration
	// Pickup is the stop at a warehouse before the visit to collect its parts, while it is to be
	// made (nil: none).
	Pickup *planning.Pickup
}

// fillRoutes reads the routes' visits in one query and puts each in its route with its drive.
func (s *Service) fillRoutes(ctx context.Context, routes []Route, from, to time.Time) error {
	ids := make([]int64, len(routes))
	at := make(map[int64]int, len(routes))
	for i, r := range routes {
		ids[i], at[r.Technician.ID] = r.Technician.ID, i
	}
	jobs, err := s.Store.RouteJobs(ctx, ids, from, to)
	if err != nil {
		return err
	}
	var whIDs []int64
	for _, rj := range jobs {
		if rj.Job.PickupPending() && !slices.Contains(whIDs, *rj.Job.PickupLocationID) {
			whIDs = append(whIDs, *rj.Job.PickupLocationID)
		}
	}
	whs := map[int64]planning.Warehouse{}
	if len(whIDs) > 0 {
		ws, err := s.Store.WarehousesByIDs(ctx, whIDs)
		if err != nil {
			return err
		}
		for _, w := range ws {
			whs[w.ID] = w
		}
	}
	for _, rj := range jobs {
		i, ok := at[*rj.Job.TechnicianID]
		if !ok {
			continue
		}
		r := &routes[i]
		prev, left := r.Technician.Home, from
		if n := len(r.Jobs); n > 0 {
			prev = r.Jobs[n-1].Location
			if e := r.Jobs[n-1].Job.PlannedEnd; e != nil {
				left = *e
			}
		} else if rj.Job.PlannedStart != nil {
			left = *rj.Job.PlannedStart
		}
		if rj.Job.PickupPending() && rj.Job.PlannedStart != nil {
			if w, ok := whs[*rj.Job.PickupLocationID]; ok {
				rj.Pickup = s.Planner.PickupBefore(w, rj.Location, *rj.Job.PlannedStart)
			}
		}
		if p := rj.Pickup; p != nil {
			rj.Travel = s.Planner.TravelTime(prev, p.Location, left) + s.Planner.TravelTime(p.Location, rj.Location, p.End)
		} else {
			rj.Travel = s.Planner.TravelTime(prev, rj.Location, left)
		}
		r.Jobs = append(r.Jobs, rj)
	}
	return nil
}

// Slack is how long before the SLA due time the visit is planned to start (negative: after it);
// without a start, the time left to the due time.
func (it Item) Slack(now time.Time) time.Duration {
	if it.Job.PlannedStart != nil && it.Job.State() != dispatch.JobOnSite {
		return it.SLADueAt.Sub(*it.Job.PlannedStart)
	}
	return it.SLADueAt.Sub(now)
}
