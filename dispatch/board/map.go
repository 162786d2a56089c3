package board

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/geo"
)

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
	now := s.Now()
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
