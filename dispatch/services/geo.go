package services

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/geo"
)

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
	if err == nil {
		s.Planner.IndexTechnician(out, now)
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
		r, c, err := geo.MapCellOf(planning.Point(l))
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
			count(s.Planner.StartPosition(t, now), func(c *geo.CellCounts) { c.Technicians++ })
		}
	}
	fc, err := geo.RegionGeoJSON(reg, counts)
	if err != nil {
		return geo.FeatureCollection{}, dispatch.Invalid("region", "invalid_region", "%v", err)
	}
	return fc, nil
}

// refuseUnserved is the refusal of a booking at l, where no technician works.
func refuseUnserved(l dispatch.Location) error {
	e := dispatch.Unprocessable("outside_service_area", "no technician works at %.5f, %.5f: the address is outside every service area", l.Lat, l.Lng)
	e.(*dispatch.Error).Field = "location"
	return e
}
