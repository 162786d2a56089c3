package postgres

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

func (s overridesStore) AddTimeOff(ctx context.Context, techID int64, from, to time.Time, reason string) (dispatch.TimeOff, error) {
	r, err := s.q.TimeOffInsert(ctx, techID, from, to, reason)
	if err != nil {
		return dispatch.TimeOff{}, mapErr(err)
	}
	return timeOffFrom(r), nil
}

func (s overridesStore) SetTimeOffMoved(ctx context.Context, id int64, jobIDs []int64) error {
	if jobIDs == nil {
		jobIDs = []int64{}
	}
	return mapErr(s.q.TimeOffSetMoved(ctx, id, jobIDs))
}

func (s overridesStore) ListTimeOff(ctx context.Context, techID int64, endsAfter time.Time) ([]dispatch.TimeOff, error) {
	rows, err := s.q.TimeOffOfTechnician(ctx, techID, endsAfter)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, timeOffFrom), nil
}

func (s overridesStore) DeleteTimeOff(ctx context.Context, techID, id int64) (dispatch.TimeOff, error) {
	r, err := s.q.TimeOffDelete(ctx, id, techID)
	if err != nil {
		return dispatch.TimeOff{}, notFound(err, "time_off", id)
	}
	return timeOffFrom(r), nil
}

func (s overridesStore) TimeOff(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Window, error) {
	m, err := s.TimeOffOf(ctx, []int64{techID}, from, to)
	return m[techID], err
}

// TimeOffBetween is the time off of the technicians ids overlapping [from, to).
func (s boardStore) TimeOffBetween(ctx context.Context, ids []int64, from, to time.Time) ([]dispatch.TimeOff, error) {
	rows, err := s.q.TimeOffBetween(ctx, ids, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, timeOffFrom), nil
}

func timeOffFrom(r db.TechnicianTimeOff) dispatch.TimeOff {
	return dispatch.TimeOff{ID: r.ID, TechnicianID: r.TechnicianID, Start: r.StartsAt.UTC(), End: r.EndsAt.UTC(), Reason: r.Reason,
		MovedJobs: r.MovedJobIds, CreatedAt: r.CreatedAt.UTC()}
}
