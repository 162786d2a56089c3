package planning

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// planCache keeps the candidates' plans in memory, so that a booking reads from the database only
// the plans that changed since this replica last read them (the technicians' plan_version moves,
// in the changing transaction, with every job, time off or technician change, whoever makes it):
// usually the one or two technicians the previous bookings went to, instead of some 30 routes.
//
// A new booking may skip even that read when every candidate's plan was confirmed current less
// than Config.PlanCacheMaxAge ago: its write is guarded by the chosen technician's
// plan_version (BookingPlace), so it is never written on a plan that changed; a plan it did not
// choose is at most that old. This replica's own bookings keep the cache exact: a guarded write
// moves the version by one, with the new stop, and the cache follows. Every other use (slots,
// re-planning after a decline, overrides) reads the changed plans first, as before.
//
// Entries are never changed once stored, only replaced by a later read or write.
type planCache struct {
	mu      sync.Mutex
	m       map[int64]*planEntry
	checked map[int64]time.Time // wall clock of the last read that found the entry current
}

type planEntry struct {
	PlanRead
	readAt time.Time  // wall clock before the read: picks committed earlier are in it
	now    time.Time  // the service's clock at the read: stops ending 12 h before it may be missing
	shifts *shiftMemo // the technician's shifts around now, computed once (kept by wrote's copies)
}

// shiftMemo holds a technician's shift windows (before time off) from a day before an entry's
// read to eight days after: the span any booking planned on the entry asks for, but for a
// preferred window further out.
type shiftMemo struct {
	once     sync.Once
	from, to time.Time
	ws       []dispatch.Window
}

// shiftWindows is ShiftWindows(e.Technician, from, to, off), from the entry's memo when it spans
// [from, to].
func (e *planEntry) shiftWindows(from, to time.Time, off []dispatch.Window) []dispatch.Window {
	m := e.shifts
	if m == nil {
		return ShiftWindows(e.Technician, from, to, off)
	}
	m.once.Do(func() {
		m.from, m.to = e.now.Add(-24*time.Hour), e.now.Add(8*24*time.Hour)
		m.ws = ShiftWindows(e.Technician, m.from, m.to, nil)
	})
	if from.Before(m.from) || to.After(m.to) {
		return ShiftWindows(e.Technician, from, to, off)
	}
	// ShiftWindows keeps whole the windows that overlap [from, to]: in start order, they are one
	// run of the memo's.
	lo := 0
	for lo < len(m.ws) && !m.ws[lo].End.After(from) {
		lo++
	}
	hi := lo
	for hi < len(m.ws) && m.ws[hi].Start.Before(to) {
		hi++
	}
	out := m.ws[lo:hi:hi]
	for _, o := range off {
		out = cut(out, o)
	}
	return out
}

func newPlanCache() *planCache {
	return &planCache{m: map[int64]*planEntry{}, checked: map[int64]time.Time{}}
}

// plans returns the current plans of the technicians ids (those that exist), reading the changed
// ones. now is the service clock. With onCache, the read is skipped when every plan was
// confirmed current within PlanCacheMaxAge (the caller guards its write on the version).
func (p *Planner) plans(ctx context.Context, st Store, ids []int64, now time.Time, onCache bool) ([]*planEntry, error) {
	c := p.cache
	known := make([]int64, len(ids))
	out := make([]*planEntry, 0, len(ids))
	wall := time.Now()
	current := onCache && p.Config.PlanCacheMaxAge > 0
	c.mu.Lock()
	for i, id := range ids {
		known[i] = -1
		// An entry read at a later clock may lack jobs that matter now (tests move the clock back).
		if e := c.m[id]; e != nil && !now.Before(e.now) {
			known[i] = e.Version
			if current && wall.Sub(c.checked[id]) < p.Config.PlanCacheMaxAge {
				out = append(out, e)
				continue
			}
		}
		current = false
	}
	c.mu.Unlock()
	if current {
		p.Env.Count().PlanCache("hit")
		return out, nil
	}
	if onCache {
		p.Env.Count().PlanCache("read")
	}
	readAt := time.Now()
	changed, err := st.ChangedPlans(ctx, ids, known, now.Add(-12*time.Hour), now)
	if err != nil {
		return nil, err
	}
	fresh := make(map[int64]*planEntry, len(changed))
	for _, p := range changed {
		fresh[p.Technician.ID] = &planEntry{PlanRead: p, readAt: readAt, now: now, shifts: &shiftMemo{}}
	}
	out = out[:0]
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, id := range ids {
		e := c.m[id]
		if f := fresh[id]; f != nil {
			if e == nil || e.readAt.Before(f.readAt) { // a slower, older read does not undo a newer one
				c.m[id], c.checked[id] = f, readAt
			}
			e = f
		} else if e != nil && e.Version == known[i] && c.checked[id].Before(readAt) {
			c.checked[id] = readAt // read unchanged
		}
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// wrote records this replica's write of stop on a plan it guarded at version (the write moved it
// by one). at is the wall clock after the write's commit was settled in the reservations.
func (c *planCache) wrote(version int64, stop Stop, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[stop.TechnicianID]
	switch {
	case e == nil || e.Version > version:
		return // gone, or read again since the write
	case e.Version < version:
		// Older than the plan the write was guarded on (picks it was planned around are not in
		// it yet, or a slower read stored it since): the next booking reads the plan.
		delete(c.m, stop.TechnicianID)
		delete(c.checked, stop.TechnicianID)
		return
	}
	n := *e
	n.Version = version + 1
	n.Stops = append(slices.Clip(e.Stops), stop)
	slices.SortStableFunc(n.Stops, func(a, b Stop) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return int(a.JobID - b.JobID)
	})
	n.readAt = at
	c.m[stop.TechnicianID], c.checked[stop.TechnicianID] = &n, at
}

// forget drops a technician's plan, found changed: the next booking reads it.
func (c *planCache) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
	delete(c.checked, id)
}

// PlanRead is what planning needs of one technician, as read at one plan version: the
// technician, their live jobs (in start order) and their time off.
type PlanRead struct {
	Technician dispatch.Technician
	Version    int64
	Stops      []Stop
	TimeOff    []dispatch.Window
}
