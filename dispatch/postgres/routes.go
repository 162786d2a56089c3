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

func (s boardStore) BookingExists(ctx context.Context, id int64) (bool, error) {
	ok, err := s.q.BookingExists(ctx, id)
	return ok, mapErr(err)
}

func (s boardStore) BookingMessages(ctx context.Context, bookingID int64, page dispatch.Page) ([]board.Message, error) {
	rows, err := s.q.BookingMessages(ctx, &bookingID, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]board.Message, len(rows))
	for i, r := range rows {
		out[i] = board.Message{Notification: notificationFrom(r.Notification), PushesDelivered: int(r.PushesDelivered),
			PushesPending: int(r.PushesPending), PushesFailed: int(r.PushesFailed)}
	}
	return out, nil
}
