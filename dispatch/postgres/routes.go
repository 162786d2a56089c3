package postgres

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/board"
)

func (s boardStore) RouteJobs(ctx context.Context, ids []int64, from, to time.Time) ([]board.RouteJob, error) {
	rows, err := s.q.BoardRouteJobs(ctx, ids, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]board.RouteJob, len(rows))
	for i, r := range rows {
		out[i] = board.RouteJob{BoardJob: board.BoardJob{Job: jobFrom(r.Job, r.TechnicianName), SLADueAt: r.SlaDueAt.UTC(), Tier: dispatch.Tier(r.Tier),
			Location: dispatch.Location{Lat: r.Job.Lat, Lng: r.Job.Lng}, Appliance: r.Appliance, Address: r.Address,
			CustomerName: r.ContactName, RequiredSkills: r.RequiredSkills}}
	}
	return out, nil
}
