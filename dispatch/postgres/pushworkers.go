package postgres

import (
	"context"
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
func (s *Store) JoinPushWorkers(ctx context.Context, name string) (dispatch.PushWorkerSession, error) {
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
func (s *Store) ReapPushWorkers(ctx context.Context, self int64, silent time.Duration) ([]string, int64, error) {
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
