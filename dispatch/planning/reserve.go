package planning

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// reservations are this process's picks whose transactions may not have committed yet. The
// planner reads the committed routes from the database without holding any lock, then, under a
// short in-process mutex, adds these picks and reserves its own: concurrent bookings in the
// process see each other's choices and do not race for the same gap. A pick is dropped when its
// transaction rolls back, and ignored by reads that started after its commit (they see the job
// itself). Across replicas, the exclusion constraint settles the rare collision and the loser
// plans again.
type reservations struct {
	mu     sync.Mutex
	byTech map[int64][]*reservation
	ttl    time.Duration // a safety net for a pick whose outcome never arrives
	temp   atomic.Int64  // ids for jobs not yet written (negative)
	seq    uint64        // picks reserved so far (under mu)
}

// tempID is a placeholder id, never a real job's, for a pick made before its job is written.
func (r *reservations) tempID() int64 { return -r.temp.Add(1) }

type reservation struct {
	stop      Stop
	expires   time.Time     // wall clock
	committed time.Time     // zero while pending
	settled   chan struct{} // closed when the outcome is known
	jobID     int64         // the job's id once written, for a pick made before its job had one
	seq       uint64        // its place in the order of picks
}

// id is the id of the pick's job, once it has one (0: not yet).
func (x *reservation) id() int64 {
	if x.jobID != 0 {
		return x.jobID
	}
	return max(x.stop.JobID, 0)
}

func newReservations() *reservations {
	return &reservations{byTech: map[int64][]*reservation{}, ttl: 30 * time.Second}
}

// merge adds to rd the picks its database read could not have seen. The caller holds mu.
func (r *reservations) merge(rd *Routes, placing int64, wall time.Time) {
	for _, t := range rd.techs {
		live := slices.DeleteFunc(r.byTech[t.ID], func(x *reservation) bool {
			return !wall.Before(x.expires) || (!x.committed.IsZero() && !x.committed.After(rd.readAt[t.ID]))
		})
		if len(live) == 0 {
			delete(r.byTech, t.ID)
			continue
		}
		r.byTech[t.ID] = live
		have := map[int64]bool{placing: true}
		for _, s := range rd.stops[t.ID] {
			have[s.JobID] = true
		}
		route := slices.Clone(rd.stops[t.ID])
		for _, x := range live {
			if id := x.id(); !have[x.stop.JobID] && (id == 0 || !have[id]) { // a read may hold it already
				route = append(route, x.stop)
				if rd.seen == nil {
					rd.seen = map[int64][]*reservation{}
				}
				rd.seen[t.ID] = append(rd.seen[t.ID], x)
			}
		}
		slices.SortFunc(route, func(a, b Stop) int { return a.Start.Compare(b.Start) })
		rd.stops[t.ID] = route
	}
}

// reserve records a pick. The caller holds mu.
func (r *reservations) reserve(p Placement, jobID, bookingID int64, loc dispatch.Location, wall time.Time) *reservation {
	x := &reservation{
		stop:    Stop{JobID: jobID, BookingID: bookingID, TechnicianID: p.TechnicianID, Start: p.Start, End: p.End, Location: loc},
		expires: wall.Add(r.ttl),
		settled: make(chan struct{}),
	}
	r.seq++
	x.seq = r.seq
	r.byTech[p.TechnicianID] = append(r.byTech[p.TechnicianID], x)
	return x
}

// pickedSince reports whether a pick was reserved on technician tech after the mark (r.seq when
// it was read). The caller holds mu.
func (r *reservations) pickedSince(tech int64, mark uint64) bool {
	return slices.ContainsFunc(r.byTech[tech], func(x *reservation) bool { return x.seq > mark })
}

// written records the id of a pick's job, written (not yet committed when in a transaction).
func (r *reservations) written(x *reservation, jobID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x.jobID = jobID
}

// settle records the outcome of a pick's transaction.
func (r *reservations) settle(x *reservation, committed bool, wall time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-x.settled:
		return // once
	default:
		close(x.settled)
	}
	if committed {
		x.committed = wall
		return
	}
	tech := x.stop.TechnicianID
	r.byTech[tech] = slices.DeleteFunc(r.byTech[tech], func(y *reservation) bool { return y == x })
}

// planVersion is the plan version a pick made on a plan read at version read expects to find when
// it is written, once the picks of this process it was planned around (seen, on the same
// technician) are settled: one more for each that committed, as each moved the version by one,
// unless the read already held its job (route: the stops planned on, picks included), having
// been made between its commit and its settling. Any other change makes the version differ, and
// the guarded write refuses it. It waits for the seen picks for up to wait (they are ahead of
// it: a pick never sees a later one).
func (r *reservations) planVersion(ctx context.Context, read int64, seen []*reservation, route []Stop, wait time.Duration) int64 {
	if len(seen) > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		for _, x := range seen {
			select {
			case <-x.settled:
			case <-timer.C:
			case <-ctx.Done():
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range seen {
		id := x.id()
		if !x.committed.IsZero() && (id == 0 || !slices.ContainsFunc(route, func(sp Stop) bool { return sp.JobID == id })) {
			read++
		}
	}
	return read
}
