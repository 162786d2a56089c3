package postgres

import (
	"context"
	"time"
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
