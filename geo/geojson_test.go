package geo

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/uber/h3-go/v4"
)

func TestRegionGeoJSON(t *testing.T) {
	p := Point{48.8566, 2.3522}
	region, cell, err := MapCellOf(p)
	if err != nil {
		t.Fatal(err)
	}
	if r2, _ := RegionOf(p); r2 != region {
		t.Fatalf("MapCellOf region %s, RegionOf %s", region, r2)
	}
	fc, err := RegionGeoJSON(region, map[Cell]CellCounts{cell: {Bookings: 3, Technicians: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 49 {
		t.Fatalf("type %q with %d features, want 49", fc.Type, len(fc.Features))
	}
	found := false
	for _, f := range fc.Features {
		c, err := ParseCellAt(f.Properties.Cell, ResBucket)
		if err != nil {
			t.Fatal(err)
		}
		if f.Geometry.Type != "Polygon" {
			t.Fatalf("%s: geometry %s", c, f.Geometry.Type)
		}
		ring := f.Geometry.Coordinates.([][][2]float64)[0]
		if len(ring) != 7 || ring[0] != ring[6] {
			t.Fatalf("%s: ring of %d positions, closed=%v", c, len(ring), ring[0] == ring[len(ring)-1])
		}
		// [lng, lat]: the vertices' mean is the cell's centre in that order.
		ctr, _ := c.Center()
		var lng, lat float64
		for _, v := range ring[:6] {
			lng += v[0] / 6
			lat += v[1] / 6
		}
		if math.Abs(lng-ctr.Lng) > 0.01 || math.Abs(lat-ctr.Lat) > 0.01 {
			t.Fatalf("%s: ring centre (%v,%v) is not [lng,lat] of %v", c, lng, lat, ctr)
		}
		if c == cell {
			found = true
			if f.Properties.Bookings != 3 || f.Properties.Technicians != 2 {
				t.Fatalf("counts of %s = %+v", c, f.Properties)
			}
		} else if f.Properties.Bookings != 0 || f.Properties.Technicians != 0 {
			t.Fatalf("uncounted cell %s = %+v", c, f.Properties)
		}
	}
	if !found {
		t.Fatal("the counted cell is not in the collection")
	}
	b, _ := json.Marshal(fc.Features[0])
	var back map[string]any
	_ = json.Unmarshal(b, &back)
	props := back["properties"].(map[string]any)
	if _, ok := props["cell"]; !ok || props["bookings"] == nil || props["technicians"] == nil {
		t.Fatalf("properties JSON = %s", b)
	}
}

func TestRegionGeoJSONRejectsBadInput(t *testing.T) {
	region, _ := RegionOf(Point{48.85, 2.35})
	res7, _ := CellOf(Point{48.85, 2.35}, ResBucket)
	elsewhere, _ := CellOf(Point{40.4, -3.7}, ResBucket)
	res9, _ := CellOf(Point{48.85, 2.35}, ResPosition)
	tests := map[string]struct {
		region Cell
		counts map[Cell]CellCounts
		kind   error
	}{
		"region at res 7":      {res7, nil, ErrInvalidCell},
		"junk region":          {12345, nil, ErrInvalidCell},
		"count outside region": {region, map[Cell]CellCounts{elsewhere: {Bookings: 1}}, ErrInvalidCell},
		"count at res 9":       {region, map[Cell]CellCounts{res9: {Bookings: 1}}, ErrInvalidCell},
		"negative count":       {region, map[Cell]CellCounts{res7: {Technicians: -1}}, ErrInvalidArgument},
	}
	for name, tt := range tests {
		if _, err := RegionGeoJSON(tt.region, tt.counts); !errors.Is(err, tt.kind) {
			t.Errorf("%s: %v, want %v", name, err, tt.kind)
		}
	}
}

func TestRegionGeoJSONAntimeridianAndPentagon(t *testing.T) {
	region, _ := RegionOf(Point{-16.8, 179.999}) // Fiji, on the antimeridian
	fc, err := RegionGeoJSON(region, nil)
	if err != nil {
		t.Fatal(err)
	}
	multi := 0
	for _, f := range fc.Features {
		var rings [][][2]float64
		switch f.Geometry.Type {
		case "Polygon":
			rings = f.Geometry.Coordinates.([][][2]float64)
		case "MultiPolygon":
			multi++
			for _, poly := range f.Geometry.Coordinates.([][][][2]float64) {
				rings = append(rings, poly...)
			}
		}
		for _, ring := range rings {
			if ring[0] != ring[len(ring)-1] {
				t.Fatalf("%s: open ring", f.Properties.Cell)
			}
			minLng, maxLng := 180.0, -180.0
			for _, v := range ring {
				if v[0] < -180 || v[0] > 180 {
					t.Fatalf("%s: longitude %v out of range", f.Properties.Cell, v[0])
				}
				minLng, maxLng = min(minLng, v[0]), max(maxLng, v[0])
			}
			if maxLng-minLng > 1 { // a res-7 cell spans ~0.03°; a wrap spans ~360°
				t.Fatalf("%s: ring spans %v° of longitude", f.Properties.Cell, maxLng-minLng)
			}
		}
	}
	if multi == 0 {
		t.Fatal("no cell of a region on the antimeridian was split")
	}

	pents, _ := h3.Pentagons(ResRegion)
	fc, err = RegionGeoJSON(Cell(pents[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) != 41 { // 1 pentagon child of 6 + 5 hexagons of 7
		t.Fatalf("pentagon region has %d cells, want 41", len(fc.Features))
	}
	pentagons := 0
	for _, f := range fc.Features {
		c, _ := ParseCell(f.Properties.Cell)
		if c.IsPentagon() {
			pentagons++
		}
		if ring := f.Geometry.Coordinates.([][][2]float64)[0]; ring[0] != ring[len(ring)-1] || len(ring) < 6 {
			t.Fatalf("%s: ring of %d positions", c, len(ring))
		}
	}
	if pentagons != 1 {
		t.Fatalf("pentagon region holds %d pentagons, want 1", pentagons)
	}
}
