package geo

import (
	"fmt"
	"slices"

	"github.com/uber/h3-go/v4"
)

// CellCounts is what the console's map shows per hexagon.
type CellCounts struct {
	Bookings    int `json:"bookings"`
	Technicians int `json:"technicians"`
}

// FeatureCollection is a GeoJSON (RFC 7946) FeatureCollection of cells.
type FeatureCollection struct {
	Type     string    `json:"type"` // "FeatureCollection"
	Features []Feature `json:"features"`
}

// Feature is one hexagon (or pentagon) with its counts.
type Feature struct {
	Type       string         `json:"type"` // "Feature"
	Geometry   Geometry       `json:"geometry"`
	Properties CellProperties `json:"properties"`
}

// Geometry is a Polygon, or a MultiPolygon for a cell cut by the
// antimeridian (RFC 7946 §3.1.9). Coordinates are [lng, lat]; rings are
// closed (last position repeats the first) and counter-clockwise.
type Geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"` // [][][2]float64 or [][][][2]float64
}

// CellProperties are a feature's properties.
type CellProperties struct {
	Cell string `json:"cell"`
	CellCounts
}

// MapCellOf returns the region and the res-7 map cell a point is counted
// in. Both are hierarchical parents of the point's res-9 cell, so every
// count lands in one of its region's hexagons.
func MapCellOf(p Point) (region, cell Cell, err error) {
	c, err := CellOf(p, ResPosition)
	if err != nil {
		return 0, 0, err
	}
	return Cell(parentBits(uint64(c), ResRegion)), Cell(parentBits(uint64(c), ResBucket)), nil
}

// RegionGeoJSON draws a region's res-7 cells (49; 41 under a pentagon)
// with their counts; cells absent from counts show zeros. region must be a
// ResRegion cell, and every counted cell a ResBucket child of it
// (ErrInvalidCell otherwise), so a caller's bug cannot silently drop counts.
func RegionGeoJSON(region Cell, counts map[Cell]CellCounts) (FeatureCollection, error) {
	if !region.IsValid() {
		return FeatureCollection{}, fmt.Errorf("region map: %w: %x is not an H3 cell", ErrInvalidCell, uint64(region))
	}
	if region.Resolution() != ResRegion {
		return FeatureCollection{}, fmt.Errorf("region map: %w: %s has resolution %d, regions are resolution %d", ErrInvalidCell, region, region.Resolution(), ResRegion)
	}
	for c, n := range counts {
		if !c.IsValid() || c.Resolution() != ResBucket || Cell(parentBits(uint64(c), ResRegion)) != region {
			return FeatureCollection{}, fmt.Errorf("region map: %w: counted cell %s is not a resolution-%d cell of region %s", ErrInvalidCell, c, ResBucket, region)
		}
		if n.Bookings < 0 || n.Technicians < 0 {
			return FeatureCollection{}, fmt.Errorf("region map: %w: negative count in cell %s", ErrInvalidArgument, c)
		}
	}
	kids, err := h3.Cell(region).Children(ResBucket)
	if err != nil {
		return FeatureCollection{}, fmt.Errorf("region map: children of %s: %w", region, err)
	}
	slices.Sort(kids)
	fc := FeatureCollection{Type: "FeatureCollection", Features: make([]Feature, 0, len(kids))}
	for _, k := range kids {
		g, err := cellGeometry(Cell(k))
		if err != nil {
			return FeatureCollection{}, fmt.Errorf("region map: %w", err)
		}
		fc.Features = append(fc.Features, Feature{
			Type:       "Feature",
			Geometry:   g,
			Properties: CellProperties{Cell: Cell(k).String(), CellCounts: counts[Cell(k)]},
		})
	}
	return fc, nil
}

// cellGeometry converts H3's boundary (lat,lng, counter-clockwise) to a
// closed GeoJSON ring, cutting cells that straddle the antimeridian in two
// so map libraries do not draw them across the whole world.
func cellGeometry(c Cell) (Geometry, error) {
	bnd, err := h3.CellToBoundary(h3.Cell(c))
	if err != nil {
		return Geometry{}, fmt.Errorf("boundary of %s: %w", c, err)
	}
	ring := make([][2]float64, 0, len(bnd)+1)
	crosses := false
	for i, v := range bnd {
		lng := v.Lng
		if i > 0 { // unwrap: consecutive vertices of a small cell are < 180° apart
			prev := ring[i-1][0]
			for lng-prev > 180 {
				lng -= 360
			}
			for prev-lng > 180 {
				lng += 360
			}
		}
		if lng > 180 || lng < -180 {
			crosses = true
		}
		ring = append(ring, [2]float64{lng, v.Lat})
	}
	if !crosses {
		return Geometry{Type: "Polygon", Coordinates: [][][2]float64{closeRing(ring)}}, nil
	}
	// The unwrapped ring lies across +180 or -180; clip at that meridian.
	edge := 180.0
	for _, p := range ring {
		if p[0] < -180 {
			edge = -180
		}
	}
	west := clipLng(ring, edge, true)
	east := clipLng(ring, edge, false)
	shift := func(r [][2]float64, by float64) [][2]float64 {
		for i := range r {
			r[i][0] += by
		}
		return r
	}
	if edge == 180 {
		east = shift(east, -360)
	} else {
		west = shift(west, 360)
	}
	return Geometry{Type: "MultiPolygon", Coordinates: [][][][2]float64{{closeRing(west)}, {closeRing(east)}}}, nil
}

// clipLng keeps the part of a convex ring west (keepWest) or east of the
// meridian at lng (Sutherland–Hodgman against one line).
func clipLng(ring [][2]float64, lng float64, keepWest bool) [][2]float64 {
	inside := func(p [2]float64) bool {
		if keepWest {
			return p[0] <= lng
		}
		return p[0] >= lng
	}
	var out [][2]float64
	for i, cur := range ring {
		prev := ring[(i+len(ring)-1)%len(ring)]
		if inside(cur) {
			if !inside(prev) {
				out = append(out, cross(prev, cur, lng))
			}
			out = append(out, cur)
		} else if inside(prev) {
			out = append(out, cross(prev, cur, lng))
		}
	}
	return out
}

func cross(a, b [2]float64, lng float64) [2]float64 {
	t := (lng - a[0]) / (b[0] - a[0])
	return [2]float64{lng, a[1] + t*(b[1]-a[1])}
}

func closeRing(r [][2]float64) [][2]float64 {
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	return r
}

// CellGeometry is a cell's hexagon (or pentagon) as GeoJSON, as RegionGeoJSON draws it.
func CellGeometry(c Cell) (Geometry, error) {
	if !c.IsValid() {
		return Geometry{}, fmt.Errorf("cell geometry: %w: %x is not an H3 cell", ErrInvalidCell, uint64(c))
	}
	return cellGeometry(c)
}
