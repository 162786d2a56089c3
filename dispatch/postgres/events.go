package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The live feed follows the audit trail by polling it: each replica reads the events committed
// since its cursor every interval. Ids come from a sequence, so a transaction that took an id
// earlier may commit after a later one was read: the ids skipped are kept as holes and asked for
// again until they turn up or holeTTL passes (a rolled-back transaction's ids never do).
const (
	holeTTL  = 30 * time.Second
	maxHoles = 10000
	feedPage = 1000
)

// FollowEvents calls fn with each audited change (one JSON object) that any replica commits,
// within about interval of its commit; resync() when it starts, and after the database was
// unreachable (the feed carries on from where it was, but a client may have timed out). It
// returns when ctx ends.
func (s *Store) FollowEvents(ctx context.Context, interval time.Duration, fn func(event []byte), resync func()) {
	var (
		cursor int64
		holes  = map[int64]time.Time{} // id → when to give up on it
		up     bool
	)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if !up {
			last, err := s.q.AuditLastID(ctx)
			if err == nil {
				cursor, up = last, true
				clear(holes)
				resync()
			}
		}
		if up {
			if err := s.pollEvents(ctx, &cursor, holes, fn); err != nil {
				up = false
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Store) pollEvents(ctx context.Context, cursor *int64, holes map[int64]time.Time, fn func([]byte)) error {
	now := time.Now()
	if len(holes) > 0 {
		ids := make([]int64, 0, len(holes))
		for id, until := range holes {
			if now.After(until) {
				delete(holes, id) // rolled back, most likely
				continue
			}
			ids = append(ids, id)
		}
		if len(ids) > 0 {
			late, err := s.q.AuditFeedIDs(ctx, ids)
			if err != nil {
				return err
			}
			for _, r := range late {
				delete(holes, r.ID)
				fn([]byte(r.Event))
			}
		}
	}
	for {
		rows, err := s.q.AuditFeed(ctx, *cursor, feedPage)
		if err != nil {
			return err
		}
		for _, r := range rows {
			for id := max(*cursor+1, r.ID-maxHoles); id < r.ID; id++ {
				holes[id] = now.Add(holeTTL)
			}
			*cursor = r.ID
			fn([]byte(r.Event))
		}
		for id := range holes {
			if len(holes) <= maxHoles {
				break
			}
			delete(holes, id) // bounded memory after a mass rollback
		}
		if len(rows) < feedPage {
			return nil
		}
	}
}

// TechnicianChannel is the LISTEN/NOTIFY channel (suffixed ":<schema>") on which every
// technician change is announced, in the changing transaction, so each replica's index can follow.
const TechnicianChannel = "fieldfix_technicians"

func (s *Store) announceTechnician(ctx context.Context, id int64) error {
	return mapErr(s.q.TechnicianNotifyChanged(ctx, id))
}

// ListenTechnicians calls changed(id) for every technician change any replica commits, and
// resync() after each (re)connection, since notifications sent while disconnected are lost.
func (s *Store) ListenTechnicians(ctx context.Context, changed func(id int64), resync func()) {
	s.Listen(ctx, TechnicianChannel, func(payload string) {
		var id int64
		if _, err := fmt.Sscan(payload, &id); err == nil {
			changed(id)
		}
	}, resync)
}

// Listen calls fn with each payload NOTIFYed on channel by any replica, and resync() after each
// (re)connection. It reconnects with backoff and returns when ctx ends.
func (s *Store) Listen(ctx context.Context, channel string, fn func(payload string), resync func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		connected := s.listenOnce(ctx, channel, fn, resync)
		if connected {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// listenOnce listens until the connection fails or ctx ends; it reports whether it got connected.
func (s *Store) listenOnce(ctx context.Context, channel string, fn func(string), resync func()) bool {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false
	}
	defer conn.Release()
	// Channels are per schema, so several FieldFix databases in one cluster (or test schemas)
	// do not hear each other.
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
		return false
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel + ":" + schema}.Sanitize()); err != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
		return false
	}
	resync()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			// A connection that was listening must not go back to the pool still subscribed.
			conn.Conn().Close(context.WithoutCancel(ctx))
			return true
		}
		fn(n.Payload)
	}
}
