package planning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// indexEntry is what the geo index keeps of technician t, at pos (the fresh position, else home).
func indexEntry(t dispatch.Technician, pos dispatch.Location) geo.Entry {
	area, _ := geo.ParseArea(t.ServiceArea) // validated on write; an unreadable area means everywhere
	return geo.Entry{ID: t.ID, Point: Point(pos), Skills: t.Skills, Active: t.Active, Area: area}
}

// LoadIndex fills the geo index with every technician (at start, and after a lost LISTEN connection).
func (p *Planner) LoadIndex(ctx context.Context) error {
	if p.Index == nil {
		return nil
	}
	ts, err := p.Store.ListTechnicians(ctx, dispatch.Page{Limit: 1 << 30})
	if err != nil {
		return fmt.Errorf("load geo index: %w", err)
	}
	// Technicians are never deleted (deactivated instead), so an upsert of each is a full sync.
	now := p.Env.Now()
	for _, t := range ts {
		if err := p.Index.Upsert(indexEntry(t, p.StartPosition(t, now))); err != nil {
			p.Env.Log.Warn("technician not indexed", "technician_id", t.ID, "err", err)
		}
	}
	return nil
}

// SyncTechnician refreshes one technician in the geo index (called on every NOTIFY) and returns
// them as read (ok false: gone, unread, or no index).
func (p *Planner) SyncTechnician(ctx context.Context, id int64) (t dispatch.Technician, ok bool) {
	if p.Index == nil {
		return t, false
	}
	t, err := p.Store.GetTechnician(ctx, id)
	if errors.Is(err, dispatch.ErrNotFound) {
		p.Index.Remove(id)
		return t, false
	} else if err != nil {
		p.Env.Log.Warn("geo index sync", "technician_id", id, "err", err)
		return t, false
	}
	if err := p.Index.Upsert(indexEntry(t, p.StartPosition(t, p.Env.Now()))); err != nil {
		p.Env.Log.Warn("technician not indexed", "technician_id", id, "err", err)
	}
	return t, true
}

// Served reports whether an active technician covers l, whatever their trade: l lies inside their
// service area, or, for one without an area, within Planning.MaxRadiusKm of where they are (the
// latest fresh ping, else home), the reach of the candidate search. Elsewhere (a pole, the open
// sea, a city nobody serves) no technician is ever proposed, and a booking would wait forever.
func (p *Planner) Served(ctx context.Context, st Store, l dispatch.Location) (bool, error) {
	if p.Index != nil {
		found, err := p.Index.Nearby(Point(l), func(e geo.Entry) bool { return e.Active }, 1, p.Config.MaxRadiusKm)
		if err == nil && len(found) > 0 {
			return true, nil
		}
	}
	// The index may lag a notification, and proposes a technician with an area only near them:
	// the database has the last word.
	ts, err := st.CandidateTechnicians(ctx, nil)
	if err != nil {
		return false, err
	}
	now := p.Env.Now()
	for _, t := range ts {
		if len(t.ServiceArea) > 0 {
			if Covers(t, l) {
				return true, nil
			}
		} else if geo.DistanceKm(Point(p.StartPosition(t, now)), Point(l)) <= p.Config.MaxRadiusKm {
			return true, nil
		}
	}
	return false, nil
}

// Coverage is the trades (skills) of the active technicians who cover l by the rule of Served,
// sorted; none when l is served by nobody.
func (p *Planner) Coverage(ctx context.Context, st Store, l dispatch.Location) ([]string, error) {
	ts, err := st.CandidateTechnicians(ctx, nil)
	if err != nil {
		return nil, err
	}
	now := p.Env.Now()
	trades := []string{}
	for _, t := range ts {
		if len(t.ServiceArea) > 0 && !Covers(t, l) ||
			len(t.ServiceArea) == 0 && geo.DistanceKm(Point(p.StartPosition(t, now)), Point(l)) > p.Config.MaxRadiusKm {
			continue
		}
		for _, sk := range t.Skills {
			if !slices.Contains(trades, sk) {
				trades = append(trades, sk)
			}
		}
	}
	slices.Sort(trades)
	return trades, nil
}

// nearbyCandidates asks the geo index for the nearest skilled, active technicians whose area
// covers the address, leaving out the excluded ones.
func (p *Planner) nearbyCandidates(ctx context.Context, st Store, b dispatch.Booking, exclude []int64, until time.Time, onCache bool) ([]dispatch.Technician, *routeRead, Reason, error) {
	cands, err := p.Index.Nearby(Point(b.Location), func(e geo.Entry) bool {
		return e.Active && !slices.Contains(exclude, e.ID)
	}, p.Config.Candidates, p.Config.MaxRadiusKm, geo.RequireSkills(b.RequiredSkills...))
	if err != nil {
		return nil, nil, Reason{}, dispatch.Invalid("location", "invalid_location", "%v", err)
	}
	if len(cands) == 0 {
		ts, reason, err := p.storeCandidates(ctx, st, b, exclude) // for the precise reason
		return ts, nil, reason, err
	}
	ids := make([]int64, len(cands))
	rank := map[int64]int{}
	for i, c := range cands {
		ids[i] = c.Entry.ID
		rank[c.Entry.ID] = i
	}
	// With the horizon known, the candidates come with their plans, of which only those that
	// changed since this replica last read them are read.
	var (
		ts  []dispatch.Technician
		pre *routeRead
	)
	if until.IsZero() {
		ts, err = st.TechniciansByIDs(ctx, ids)
	} else {
		now := p.Env.Now()
		var plans []*planEntry
		if plans, err = p.plans(ctx, st, ids, now, onCache); err == nil {
			pre = &routeRead{ids: rank, until: until, now: now, readAt: make(map[int64]time.Time, len(plans)),
				stops: make(map[int64][]Stop, len(plans)), offs: map[int64][]dispatch.Window{}, entries: make(map[int64]*planEntry, len(plans))}
			if onCache {
				pre.versions = make(map[int64]int64, len(plans))
			}
			ts = make([]dispatch.Technician, 0, len(plans))
			from, to := now.Add(-12*time.Hour), until.Add(12*time.Hour)
			for _, p := range plans {
				id := p.Technician.ID
				ts = append(ts, p.Technician)
				pre.readAt[id], pre.entries[id] = p.readAt, p
				if onCache {
					pre.versions[id] = p.Version
				}
				pre.stops[id] = stopsBetween(p.Stops, from, to)
				for _, o := range p.TimeOff {
					if o.End.After(now) && o.Start.Before(until) {
						pre.offs[id] = append(pre.offs[id], o)
					}
				}
			}
		}
	}
	// The index may lag a change by a notification; the database has the last word.
	ts = slices.DeleteFunc(ts, func(t dispatch.Technician) bool { return !t.Active || !t.HasSkills(b.RequiredSkills) })
	slices.SortFunc(ts, func(x, y dispatch.Technician) int { return rank[x.ID] - rank[y.ID] })
	if len(ts) == 0 {
		ts, reason, err := p.storeCandidates(ctx, st, b, exclude)
		return ts, nil, reason, err
	}
	return ts, pre, Reason{}, nil
}

// stopsBetween are the stops (in start order) that end after from and start before to: a capped
// sub-slice of stops when they are one run of it (the usual case: a technician's stops do not
// overlap), else a copy.
func stopsBetween(stops []Stop, from, to time.Time) []Stop {
	lo, hi := -1, -1
	contiguous := true
	for i, sp := range stops {
		if sp.End.After(from) && sp.Start.Before(to) {
			if lo < 0 {
				lo = i
			} else if hi != i {
				contiguous = false
			}
			hi = i + 1
		}
	}
	switch {
	case lo < 0:
		return nil
	case contiguous:
		return stops[lo:hi:hi]
	}
	var out []Stop
	for _, sp := range stops {
		if sp.End.After(from) && sp.Start.Before(to) {
			out = append(out, sp)
		}
	}
	return slices.Clip(out)
}
