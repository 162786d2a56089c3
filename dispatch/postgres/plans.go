package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// ChangedPlans reads, of the technicians ids, those whose plan_version differs from known (same
// order; -1 for none held): their rows and versions, their live jobs ending after stopsFrom and
// their time off ending after offFrom, in one statement.
func (s *Store) ChangedPlans(ctx context.Context, ids, known []int64, stopsFrom, offFrom time.Time) ([]planning.PlanRead, error) {
	rows, err := s.q.ChangedPlans(ctx, stopsFrom, offFrom, ids, known)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]planning.PlanRead, len(rows))
	for i, r := range rows {
		n := len(r.JobIds)
		if len(r.BookingIds) != n || len(r.Statuses) != n || len(r.Starts) != n || len(r.Ends) != n || len(r.Pinned) != n ||
			len(r.PinnedStart) != n || len(r.Lats) != n || len(r.Lngs) != n || len(r.Minutes) != n || len(r.OffStarts) != len(r.OffEnds) {
			return nil, fmt.Errorf("changed plans: technician %d: arrays of different lengths", r.Technician.ID)
		}
		p := planning.PlanRead{Technician: technicianFrom(r.Technician), Version: r.Technician.PlanVersion, Stops: make([]planning.Stop, n)}
		for k := range n {
			p.Stops[k] = planning.Stop{JobID: r.JobIds[k], BookingID: r.BookingIds[k], TechnicianID: r.Technician.ID,
				Status: dispatch.JobStatus(r.Statuses[k]), Start: r.Starts[k].UTC(), End: r.Ends[k].UTC(), Pinned: r.Pinned[k],
				PinnedStart: r.PinnedStart[k], Location: dispatch.Location{Lat: r.Lats[k], Lng: r.Lngs[k]},
				Duration: time.Duration(r.Minutes[k]) * time.Minute}
		}
		for k := range r.OffStarts {
			p.TimeOff = append(p.TimeOff, dispatch.Window{Start: r.OffStarts[k].UTC(), End: r.OffEnds[k].UTC()})
		}
		out[i] = p
	}
	return out, nil
}
