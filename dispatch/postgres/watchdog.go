package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/watchdog"
	"github.com/jackc/pgx/v5"
)

func (s watchdogStore) AtRiskJobs(ctx context.Context, riskBefore, lateBefore time.Time) ([]watchdog.AtRiskJob, error) {
	rows, err := s.q.AtRiskJobs(ctx, riskBefore, lateBefore)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]watchdog.AtRiskJob, len(rows))
	for i, r := range rows {
		out[i] = watchdog.AtRiskJob{Job: jobFrom(r.Job, ""), SLADueAt: r.SlaDueAt.UTC(), AtRisk: r.AtRisk}
	}
	return out, nil
}

func (s watchdogStore) SetAtRisk(ctx context.Context, bookingID int64, atRisk bool) (bool, error) {
	_, err := s.q.BookingSetAtRisk(ctx, bookingID, atRisk)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

func (s watchdogStore) ClearAtRisk(ctx context.Context, still []int64) ([]int64, error) {
	if still == nil {
		still = []int64{}
	}
	ids, err := s.q.BookingsClearAtRisk(ctx, still)
	return ids, mapErr(err)
}

func (s watchdogStore) RecordBreaches(ctx context.Context, now time.Time) ([]dispatch.Booking, error) {
	rows, err := s.q.BookingsBreach(ctx, now)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.Booking, len(rows))
	for i, r := range rows {
		out[i] = dispatch.Booking{ID: r.ID, SLADueAt: r.SlaDueAt.UTC(), Tier: dispatch.Tier(r.Tier)}
	}
	return out, nil
}

func (s watchdogStore) DispatcherSubjects(ctx context.Context) ([]string, error) {
	subs, err := s.q.DispatcherSubjects(ctx)
	return subs, mapErr(err)
}
