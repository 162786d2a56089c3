package board

import (
	"context"
	"slices"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// AreaFeature is one GeoJSON feature of the service areas layer: a cell of some technicians'
// service areas (a Polygon with the cell and their ids), or, for a technician without one, the
// point they are reached from with the radius the candidate search looks within.
type AreaFeature struct {
	Type       string         `json:"type"` // "Feature"
	Geometry   geo.Geometry   `json:"geometry"`
	Properties AreaProperties `json:"properties"`
}

// AreaProperties say whose area a feature is.
type AreaProperties struct {
	Cell          string  `json:"cell,omitempty"`
	TechnicianIDs []int64 `json:"technician_ids"`
	RadiusKm      float64 `json:"radius_km,omitempty"`
}

// AreaCollection is the service areas layer, a GeoJSON FeatureCollection.
type AreaCollection struct {
	Type     string        `json:"type"` // "FeatureCollection"
	Features []AreaFeature `json:"features"`
}

// ServiceAreas draws where the active technicians based in region (H3 res-5 cells, separated
// by commas; empty: all)
// take work: their service areas' cells, each once with every technician whose area holds it,
// and, for those without an area, a circle of the candidate search's reach around where they are
// (the latest fresh ping, else the next visit or home), the rule bookings are refused by.
func (s *Service) ServiceAreas(ctx context.Context, a dispatch.Actor, region string) (AreaCollection, error) {
	if !a.Staff() {
		return AreaCollection{}, dispatch.Forbidden("only dispatchers read the map")
	}
	inRegion, err := regionFilter(region)
	if err != nil {
		return AreaCollection{}, err
	}
	ts, err := s.Store.ListTechnicians(ctx, dispatch.Page{Limit: 1 << 30})
	if err != nil {
		return AreaCollection{}, err
	}
	out := AreaCollection{Type: "FeatureCollection", Features: []AreaFeature{}}
	byCell := map[geo.Cell][]int64{}
	now := s.Now()
	for _, t := range ts {
		if !t.Active || !inRegion(t.Home) {
			continue
		}
		if len(t.ServiceArea) == 0 {
			at := s.Planner.StartPosition(t, now)
			out.Features = append(out.Features, AreaFeature{Type: "Feature",
				Geometry:   geo.Geometry{Type: "Point", Coordinates: [2]float64{at.Lng, at.Lat}},
				Properties: AreaProperties{TechnicianIDs: []int64{t.ID}, RadiusKm: s.Planner.Config.MaxRadiusKm}})
			continue
		}
		for _, id := range t.ServiceArea {
			c, err := geo.ParseCell(id)
			if err != nil {
				continue // validated on write
			}
			byCell[c] = append(byCell[c], t.ID)
		}
	}
	cells := make([]geo.Cell, 0, len(byCell))
	for c := range byCell {
		cells = append(cells, c)
	}
	slices.Sort(cells)
	for _, c := range cells {
		slices.Sort(byCell[c])
		g, err := geo.CellGeometry(c)
		if err != nil {
			continue
		}
		out.Features = append(out.Features, AreaFeature{Type: "Feature", Geometry: g, Properties: AreaProperties{Cell: c.String(), TechnicianIDs: byCell[c]}})
	}
	return out, nil
}
