package services

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// indexEntry is what the geo index keeps of a technician: the fresh position, else home.
func (s *Service) indexEntry(t dispatch.Technician, now time.Time) geo.Entry {
	area, _ := geo.ParseArea(t.ServiceArea) // validated on write; an unreadable area means everywhere
	return geo.Entry{ID: t.ID, Point: point(s.startPosition(t, now)), Skills: t.Skills, Active: t.Active, Area: area}
}

// LoadIndex fills the geo index with every technician (at start, and after a lost LISTEN connection).
func (s *Service) LoadIndex(ctx context.Context) error {
	if s.Index == nil {
		return nil
	}
	ts, err := s.Store.ListTechnicians(ctx, dispatch.Page{Limit: 1 << 30})
	if err != nil {
		return fmt.Errorf("load geo index: %w", err)
	}
	// Technicians are never deleted (deactivated instead), so an upsert of each is a full sync.
	now := s.now()
	for _, t := range ts {
		if err := s.Index.Upsert(s.indexEntry(t, now)); err != nil {
			s.Log.Warn("technician not indexed", "technician_id", t.ID, "err", err)
		}
	}
	return nil
}

// SyncTechnician refreshes one technician in the geo index (called on every NOTIFY).
func (s *Service) SyncTechnician(ctx context.Context, id int64) {
	if s.Index == nil {
		return
	}
	t, err := s.Store.GetTechnician(ctx, id)
	if errors.Is(err, dispatch.ErrNotFound) {
		s.Index.Remove(id)
		return
	} else if err != nil {
		s.Log.Warn("geo index sync", "technician_id", id, "err", err)
		return
	}
	if err := s.Index.Upsert(s.indexEntry(t, s.now())); err != nil {
		s.Log.Warn("technician not indexed", "technician_id", id, "err", err)
	}
}

// PingLocation stores the calling technician's position (database and index).
func (s *Service) PingLocation(ctx context.Context, a dispatch.Actor, l dispatch.Location, at *time.Time) (dispatch.Technician, error) {
	if err := dispatch.ValidateLocation("location", l); err != nil {
		return dispatch.Technician{}, err
	}
	now := s.now()
	when := now
	if at != nil {
		if at.After(now.Add(time.Minute)) || at.Before(now.Add(-24*time.Hour)) {
			return dispatch.Technician{}, dispatch.Invalid("recorded_at", "invalid_time", "recorded_at must be within the last 24 h and not in the future")
		}
		when = *at
	}
	var out dispatch.Technician
	err := s.Store.Tx(ctx, func(st dispatch.Store) error {
		t, err := s.technicianFor(ctx, st, a)
		if err != nil {
			return err
		}
		if t.LastSeenAt != nil && t.LastSeenAt.After(when) {
			out = t // an older ping arriving late changes nothing
			return nil
		}
		if err := st.SetTechnicianPosition(ctx, t.ID, l, when); err != nil {
			return err
		}
		t.LastPosition, t.LastSeenAt = &l, &when
		out = t
		return nil
	})
	if err == nil && s.Index != nil {
		_ = s.Index.Upsert(s.indexEntry(out, now))
	}
	return out, err
}

// GeoCells draws a region's hexagons with the open bookings and technicians in each.
func (s *Service) GeoCells(ctx context.Context, a dispatch.Actor, region string) (geo.FeatureCollection, error) {
	if !a.Staff() {
		return geo.FeatureCollection{}, dispatch.Forbidden("only dispatchers read the map")
	}
	if region == "" {
		return geo.FeatureCollection{}, dispatch.Invalid("region", "missing_field", "region (an H3 res-%d cell) is required", geo.ResRegion)
	}
	reg, err := geo.ParseCellAt(region, geo.ResRegion)
	if err != nil {
		return geo.FeatureCollection{}, dispatch.Invalid("region", "invalid_region", "region must be an H3 cell at resolution %d: %v", geo.ResRegion, err)
	}
	counts := map[geo.Cell]geo.CellCounts{}
	count := func(l dispatch.Location, add func(*geo.CellCounts)) {
		r, c, err := geo.MapCellOf(point(l))
		if err != nil || r != reg {
			return
		}
		cc := counts[c]
		add(&cc)
		counts[c] = cc
	}
	pts, err := s.Store.OpenBookingPoints(ctx)
	if err != nil {
		return geo.FeatureCollection{}, err
	}
	for _, p := range pts {
		count(p, func(c *geo.CellCounts) { c.Bookings++ })
	}
	ts, err := s.Store.ListTechnicians(ctx, dispatch.Page{Limit: 1 << 30})
	if err != nil {
		return geo.FeatureCollection{}, err
	}
	now := s.now()
	for _, t := range ts {
		if t.Active {
			count(s.startPosition(t, now), func(c *geo.CellCounts) { c.Technicians++ })
		}
	}
	fc, err := geo.RegionGeoJSON(reg, counts)
	if err != nil {
		return geo.FeatureCollection{}, dispatch.Invalid("region", "invalid_region", "%v", err)
	}
	return fc, nil
}

// Served reports whether an active technician covers l, whatever their trade: l lies inside their
// service area, or, for one without an area, within Planning.MaxRadiusKm of where they are (the
// latest fresh ping, else home), the reach of the candidate search. Elsewhere (a pole, the open
// sea, a city nobody serves) no technician is ever proposed, and a booking would wait forever.
func (s *Service) Served(ctx context.Context, st dispatch.Store, l dispatch.Location) (bool, error) {
	if s.Index != nil {
		found, err := s.Index.Nearby(point(l), func(e geo.Entry) bool { return e.Active }, 1, s.Planning.MaxRadiusKm)
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
	now := s.now()
	for _, t := range ts {
		if len(t.ServiceArea) > 0 {
			if covers(t, l) {
				return true, nil
			}
		} else if geo.DistanceKm(point(s.startPosition(t, now)), point(l)) <= s.Planning.MaxRadiusKm {
			return true, nil
		}
	}
	return false, nil
}

// refuseUnserved is the refusal of a booking at l, where no technician works.
func refuseUnserved(l dispatch.Location) error {
	e := dispatch.Unprocessable("outside_service_area", "no technician works at %.5f, %.5f: the address is outside every service area", l.Lat, l.Lng)
	e.(*dispatch.Error).Field = "location"
	return e
}

// nearbyCandidates asks the geo index for the nearest skilled, active technicians whose area
// covers the address, leaving out the excluded ones.
func (s *Service) nearbyCandidates(ctx context.Context, st dispatch.Store, b dispatch.Booking, exclude []int64, until time.Time, onCache bool) ([]dispatch.Technician, *routeRead, Reason, error) {
	cands, err := s.Index.Nearby(point(b.Location), func(e geo.Entry) bool {
		return e.Active && !slices.Contains(exclude, e.ID)
	}, s.Planning.Candidates, s.Planning.MaxRadiusKm, geo.RequireSkills(b.RequiredSkills...))
	if err != nil {
		return nil, nil, Reason{}, dispatch.Invalid("location", "invalid_location", "%v", err)
	}
	if len(cands) == 0 {
		ts, reason, err := s.storeCandidates(ctx, st, b, exclude) // for the precise reason
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
		now := s.now()
		var plans []*planEntry
		if plans, err = s.plans(ctx, st, ids, now, onCache); err == nil {
			pre = &routeRead{ids: rank, until: until, now: now, readAt: make(map[int64]time.Time, len(plans)),
				stops: make(map[int64][]dispatch.Stop, len(plans)), offs: map[int64][]dispatch.Window{}, entries: make(map[int64]*planEntry, len(plans))}
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
		ts, reason, err := s.storeCandidates(ctx, st, b, exclude)
		return ts, nil, reason, err
	}
	return ts, pre, Reason{}, nil
}

// stopsBetween are the stops (in start order) that end after from and start before to: a capped
// sub-slice of stops when they are one run of it (the usual case: a technician's stops do not
// overlap), else a copy.
func stopsBetween(stops []dispatch.Stop, from, to time.Time) []dispatch.Stop {
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
	var out []dispatch.Stop
	for _, sp := range stops {
		if sp.End.After(from) && sp.Start.Before(to) {
			out = append(out, sp)
		}
	}
	return slices.Clip(out)
}
