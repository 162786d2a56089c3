package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// ClaimTick records that replica runs name's tick; false when another replica already did.
func (s *Store) ClaimTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time) (bool, error) {
	_, err := s.q.TickClaim(ctx, name, tick, replica, now)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

// FinishTick records how a claimed tick ended.
func (s *Store) FinishTick(ctx context.Context, name string, tick time.Time, now time.Time, outcome string, summary any) error {
	data, err := json.Marshal(summary)
	if err != nil || summary == nil {
		data = []byte("{}")
	}
	return mapErr(s.q.TickFinish(ctx, db.TickFinishParams{Name: name, Tick: tick, FinishedAt: &now, Outcome: outcome, Summary: data}))
}

func (s *Store) AtRiskJobs(ctx context.Context, riskBefore, lateBefore time.Time) ([]dispatch.AtRiskJob, error) {
	rows, err := s.q.AtRiskJobs(ctx, riskBefore, lateBefore)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.AtRiskJob, len(rows))
	for i, r := range rows {
		out[i] = dispatch.AtRiskJob{Job: jobFrom(r.Job, ""), SLADueAt: r.SlaDueAt.UTC(), AtRisk: r.AtRisk}
	}
	return out, nil
}

func (s *Store) SetAtRisk(ctx context.Context, bookingID int64, atRisk bool) (bool, error) {
	_, err := s.q.BookingSetAtRisk(ctx, bookingID, atRisk)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

func (s *Store) ClearAtRisk(ctx context.Context, still []int64) ([]int64, error) {
	if still == nil {
		still = []int64{}
	}
	ids, err := s.q.BookingsClearAtRisk(ctx, still)
	return ids, mapErr(err)
}

func (s *Store) RecordBreaches(ctx context.Context, now time.Time) ([]dispatch.Booking, error) {
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

func (s *Store) FollowUpsDue(ctx context.Context, doneBefore time.Time) ([]int64, error) {
	ids, err := s.q.FollowUpsDue(ctx, doneBefore)
	return ids, mapErr(err)
}

func (s *Store) ClaimFollowUp(ctx context.Context, bookingID int64, at time.Time) (bool, error) {
	_, err := s.q.FollowUpClaim(ctx, bookingID, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

func (s *Store) DisableStaleDevices(ctx context.Context, lastSeenBefore time.Time) (int64, error) {
	n, err := s.q.DevicesDisableStale(ctx, lastSeenBefore)
	return n, mapErr(err)
}

func (s *Store) OpenRegions(ctx context.Context) ([]string, error) {
	rs, err := s.q.OpenRegions(ctx)
	return rs, mapErr(err)
}

func (s *Store) DispatcherSubjects(ctx context.Context) ([]string, error) {
	subs, err := s.q.DispatcherSubjects(ctx)
	return subs, mapErr(err)
}

func (s *Store) SaveDailyKPIs(ctx context.Context, day dispatch.Date, groupBy string, rows []dispatch.KPIRow, at time.Time) error {
	g := groupBy
	if g == "" {
		g = "all"
	}
	for _, r := range rows {
		figures, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := s.q.KPIDailyUpsert(ctx, db.KPIDailyUpsertParams{Day: day.Time(), GroupBy: g, Grp: r.Group, Figures: figures, ComputedAt: at}); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func (s *Store) DailyKPIs(ctx context.Context, groupBy string, from, to dispatch.Date) ([]dispatch.DailyKPI, error) {
	g := groupBy
	if g == "" {
		g = "all"
	}
	rows, err := s.q.KPIDaily(ctx, g, from.Time(), to.Time())
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.DailyKPI, len(rows))
	for i, r := range rows {
		var k dispatch.KPIRow
		if err := json.Unmarshal(r.Figures, &k); err != nil {
			return nil, err
		}
		out[i] = dispatch.DailyKPI{Day: dispatch.DateOf(r.Day), GroupBy: groupBy, Row: k}
	}
	return out, nil
}
