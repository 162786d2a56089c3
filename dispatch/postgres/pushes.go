package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// pushWorkerSession is a push worker's row in push_workers and the database session that holds
// the advisory lock on its key: a connection of its own, outside the pool, closed on Leave.
type pushWorkerSession struct {
	mu   sync.Mutex // a pgx.Conn serves one statement at a time
	conn *pgx.Conn
	id   int64
}

// JoinPushWorkers registers a push worker: its row, and a session-level advisory lock on a
// random key held on a dedicated connection for as long as the worker lives. When the process
// dies, PostgreSQL ends the session and the lock is free: that is how others see it is gone.
func (s Pushes) JoinPushWorkers(ctx context.Context, name string) (dispatch.PushWorkerSession, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, mapErr(fmt.Errorf("push worker session: %w", err))
	}
	key := rand.Int64()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&locked); err != nil || !locked {
		conn.Close(context.WithoutCancel(ctx))
		if err == nil {
			err = fmt.Errorf("advisory lock %d is taken", key) // a 1 in 2^64 draw
		}
		return nil, mapErr(fmt.Errorf("push worker lock: %w", err))
	}
	id, err := db.New(conn).PushWorkerJoin(ctx, name, key)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, mapErr(fmt.Errorf("push worker join: %w", err))
	}
	return &pushWorkerSession{conn: conn, id: id}, nil
}

func (p *pushWorkerSession) ID() int64 { return p.id }

func (p *pushWorkerSession) Beat(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return dispatch.NotFound("push worker", p.id)
	}
	n, err := db.New(p.conn).PushWorkerBeat(ctx, p.id)
	if err != nil {
		return mapErr(fmt.Errorf("push worker %d heartbeat: %w", p.id, err))
	}
	if n == 0 {
		return dispatch.NotFound("push worker", p.id)
	}
	return nil
}

// Leave frees the worker's leases, deletes its row and closes its session (which lets go of the
// lock even when the statements before failed: others then take the leases within a beat).
func (p *pushWorkerSession) Leave(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return nil
	}
	defer func() { p.conn.Close(context.WithoutCancel(ctx)); p.conn = nil }()
	err := pgx.BeginFunc(ctx, p.conn, func(tx pgx.Tx) error {
		q := db.New(tx)
		if _, err := q.PushLeasesFree(ctx, []int64{p.id}); err != nil {
			return err
		}
		return q.PushWorkersDelete(ctx, []int64{p.id})
	})
	return mapErr(err)
}

// ReapPushWorkers frees the leases of every push worker but self that is gone: its session ended
// (its lock is free) or it has been silent for longer than silent. It returns the names of the
// workers reaped and how many leases were freed.
func (s Pushes) ReapPushWorkers(ctx context.Context, self int64, silent time.Duration) ([]string, int64, error) {
	var (
		names []string
		freed int64
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		gone, err := q.PushWorkersGone(ctx, self, silent.Milliseconds())
		if err != nil || len(gone) == 0 {
			return err
		}
		ids := make([]int64, len(gone))
		for i, g := range gone {
			ids[i] = g.ID
			names = append(names, fmt.Sprintf("%s (worker %d)", g.Name, g.ID))
		}
		if freed, err = q.PushLeasesFree(ctx, ids); err != nil {
			return err
		}
		return q.PushWorkersDelete(ctx, ids)
	})
	if err != nil {
		return nil, 0, mapErr(fmt.Errorf("reap push workers: %w", err))
	}
	return names, freed, nil
}

// ClaimPushes leases up to limit due deliveries to worker.
func (s Pushes) ClaimPushes(ctx context.Context, worker int64, now time.Time, limit int) ([]dispatch.PushDelivery, error) {
	rows, err := s.q.PushClaim(ctx, worker, now, int32(limit))
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.PushDelivery, len(rows))
	for i, r := range rows {
		out[i] = dispatch.PushDelivery{ID: r.ID, NotificationID: r.NotificationID, DeviceID: r.DeviceID, Token: r.Token,
			Attempts: int(r.Attempts), Unreachable: int(r.Unreachable), LeasedBy: worker}
	}
	return out, nil
}

// Notifications reads notifications by id.
func (s Pushes) Notifications(ctx context.Context, ids []int64) (map[int64]dispatch.Notification, error) {
	rows, err := s.q.PushNotifications(ctx, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make(map[int64]dispatch.Notification, len(rows))
	for _, r := range rows {
		var data map[string]any
		_ = json.Unmarshal(r.Data, &data)
		out[r.ID] = dispatch.Notification{ID: r.ID, RecipientKind: r.RecipientKind, RecipientSubject: r.RecipientSubject, Kind: r.Kind,
			JobID: r.JobID, BookingID: r.BookingID, Title: r.Title, Body: r.Body, Data: data, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// SettlePush records one attempt and its outcome; status "pending" schedules another at a.Next.
func (s Pushes) SettlePush(ctx context.Context, c dispatch.PushDelivery, a dispatch.PushAttempt) error {
	return s.inTx(ctx, func(st *Store) error {
		if err := st.q.PushSettle(ctx, db.PushSettleParams{ID: c.ID, Status: a.Status, WasUnreachable: a.Unreachable, NextAttemptAt: a.Next,
			MessageName: a.MessageName, LastError: a.Error, UpdatedAt: a.At, Worker: c.LeasedBy}); err != nil {
			return mapErr(err)
		}
		var started *time.Time
		if !a.StartedAt.IsZero() {
			started = &a.StartedAt
		}
		return mapErr(st.q.PushAttemptInsert(ctx, db.PushAttemptInsertParams{DeliveryID: c.ID, Attempt: int32(c.Attempts + 1),
			Outcome: outcomeOf(a.Status), Code: a.Code, HttpStatus: int32(a.HTTPStatus), RetryAfterMs: a.RetryAfter.Milliseconds(),
			Error: a.Error, StartedAt: started, At: a.At}))
	})
}

// ReleasePushes gives deliveries leased by worker back unsent, due as they were.
func (s Pushes) ReleasePushes(ctx context.Context, worker int64, ids []int64) error {
	return mapErr(s.q.PushRelease(ctx, ids, worker))
}

func outcomeOf(status string) string {
	if status == "pending" {
		return "retryable"
	}
	return status
}

// DisableDevice stops pushes to a token FCM says is dead.
func (s Pushes) DisableDevice(ctx context.Context, id int64, reason string) error {
	return mapErr(s.q.DeviceDisable(ctx, id, reason))
}

// PendingPushes counts deliveries still to make.
func (s Pushes) PendingPushes(ctx context.Context) (int64, error) {
	n, err := s.q.PushPendingCount(ctx)
	return n, mapErr(err)
}
