package dispatch

import (
	"context"
	"sync"
	"time"
)

// PlanRead is what planning needs of one technician, as read at one plan version: the
// technician, their live jobs (in start order) and their time off.
type PlanRead struct {
	Technician Technician
	Version    int64
	Stops      []Stop
	TimeOff    []Window
}

// planCache keeps the candidates' plans in memory, so that a booking reads from the database only
// the plans that changed since this replica last read them (the technicians' plan_version moves,
// in the changing transaction, with every job, time off or technician change, whoever makes it):
// usually the one or two technicians the previous bookings went to, instead of some 30 routes.
// An entry is only ever replaced by one read later; it is as fresh as a read made when the
// booking starts, which is what planning had before the cache.
type planCache struct {
	mu sync.Mutex
	m  map[int64]*planEntry
}

type planEntry struct {
	PlanRead
	readAt time.Time // wall clock before the read: picks committed earlier are in it
	now    time.Time // the service's clock at the read: stops ending 12 h before it may be missing
}

func newPlanCache() *planCache { return &planCache{m: map[int64]*planEntry{}} }

// plans returns the current plans of the technicians ids (those that exist), reading the changed
// ones. now is the service clock.
func (s *Service) plans(ctx context.Context, st Store, ids []int64, now time.Time) ([]*planEntry, error) {
	c := s.planCache
	known := make([]int64, len(ids))
	c.mu.Lock()
	for i, id := range ids {
		known[i] = -1
		// An entry read at a later clock may lack jobs that matter now (tests move the clock back).
		if e := c.m[id]; e != nil && !now.Before(e.now) {
			known[i] = e.Version
		}
	}
	c.mu.Unlock()
	readAt := time.Now()
	changed, err := st.ChangedPlans(ctx, ids, known, now.Add(-12*time.Hour), now)
	if err != nil {
		return nil, err
	}
	fresh := make(map[int64]*planEntry, len(changed))
	for _, p := range changed {
		fresh[p.Technician.ID] = &planEntry{PlanRead: p, readAt: readAt, now: now}
	}
	out := make([]*planEntry, 0, len(ids))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		e := c.m[id]
		if f := fresh[id]; f != nil {
			if e == nil || e.readAt.Before(f.readAt) { // a slower, older read does not undo a newer one
				c.m[id] = f
			}
			e = f
		}
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}
