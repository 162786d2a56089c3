package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/aftersales"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
	"github.com/fieldfix/fieldfix/dispatch/watchdog"
)

// ClaimTick takes name's tick for replica until until (schedule.Claims): the attempt number
// when it did, else 0 and the tick's status.
func (s *Store) ClaimTick(ctx context.Context, name string, tick time.Time, replica string, now, until time.Time) (int, string, error) {
	attempt, err := s.q.TickClaim(ctx, db.TickClaimParams{Name: name, Tick: tick, Replica: replica, NowTime: now, ClaimedUntil: until})
	if err == nil {
		return int(attempt), "", nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, "", mapErr(err)
	}
	status, err := s.q.TickStatus(ctx, name, tick)
	return 0, status, mapErr(err)
}

// FinishTick records how replica's run of a tick ended.
func (s *Store) FinishTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time, status, outcome string, summary any) error {
	data, err := json.Marshal(summary)
	if err != nil || summary == nil {
		data = []byte("{}")
	}
	n, err := s.q.TickFinish(ctx, db.TickFinishParams{Name: name, Tick: tick, Replica: replica, FinishedAt: &now, Status: status, Outcome: outcome, Summary: data})
	if err == nil && n == 0 {
		return dispatch.Conflict("schedule_claim_lost", "%s tick %s: the claim ran out and another replica took it", name, tick.Format(time.RFC3339))
	}
	return mapErr(err)
}

// MissTick records a tick given up unless it ran or is being run.
func (s *Store) MissTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time, reason string) (bool, error) {
	_, err := s.q.TickMiss(ctx, db.TickMissParams{Name: name, Tick: tick, Replica: replica, NowTime: now, Outcome: "missed: " + reason})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

// TicksDone returns the first tick name recorded and the ticks after since that ran or are
// being run under a live claim.
func (s *Store) TicksDone(ctx context.Context, name string, since, now time.Time) (time.Time, []time.Time, error) {
	first, err := s.q.TickFirst(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil, nil
	}
	if err != nil {
		return time.Time{}, nil, mapErr(err)
	}
	done, err := s.q.TicksDone(ctx, name, since, &now)
	return first, done, mapErr(err)
}

func (s *Store) AtRiskJobs(ctx context.Context, riskBefore, lateBefore time.Time) ([]watchdog.AtRiskJob, error) {
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

func (s *Store) SaveDailyKPIs(ctx context.Context, day dispatch.Date, groupBy string, rows []aftersales.KPIRow, at time.Time) error {
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

func (s *Store) DailyKPIs(ctx context.Context, groupBy string, from, to dispatch.Date) ([]aftersales.DailyKPI, error) {
	g := groupBy
	if g == "" {
		g = "all"
	}
	rows, err := s.q.KPIDaily(ctx, g, from.Time(), to.Time())
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]aftersales.DailyKPI, len(rows))
	for i, r := range rows {
		var k aftersales.KPIRow
		if err := json.Unmarshal(r.Figures, &k); err != nil {
			return nil, err
		}
		out[i] = aftersales.DailyKPI{Day: dispatch.DateOf(r.Day), GroupBy: groupBy, Row: k}
	}
	return out, nil
}
