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

// ClaimTick takes name's tick for replica until until (schedule.Claims): the attempt number
// when it did, else 0 and the tick's status.
func (s Ticks) ClaimTick(ctx context.Context, name string, tick time.Time, replica string, now, until time.Time) (int, string, error) {
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
func (s Ticks) FinishTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time, status, outcome string, summary any) error {
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
func (s Ticks) MissTick(ctx context.Context, name string, tick time.Time, replica string, now time.Time, reason string) (bool, error) {
	_, err := s.q.TickMiss(ctx, db.TickMissParams{Name: name, Tick: tick, Replica: replica, NowTime: now, Outcome: "missed: " + reason})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

// TicksDone returns the first tick name recorded and the ticks after since that ran or are
// being run under a live claim.
func (s Ticks) TicksDone(ctx context.Context, name string, since, now time.Time) (time.Time, []time.Time, error) {
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
