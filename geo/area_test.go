package geo

import (
	"errors"
	"slices"
	"testing"

	"github.com/uber/h3-go/v4"
)

func TestNewAreaCompactsLikeH3(t *testing.T) {
	for _, p := range []Point{{48.85, 2.35}, {0.5, 179.99}} {
		origin, _ := CellOf(p, 8)
		disk, err := h3.GridDisk(h3.Cell(origin), 12)
		if err != nil {
			t.Fatal(err)
		}
		want, err := h3.CompactCells(disk)
		if err != nil {
			t.Fatal(err)
		}
		cells := make([]Cell, len(disk))
		for i, c := range disk {
			cells[i] = Cell(c)
		}
		a, err := NewArea(append(cells, cells[:10]...)) // duplicates are fine
		if err != nil {
			t.Fatal(err)
		}
		got := a.Cells()
		wantCells := make([]Cell, len(want))
		for i, c := range want {
			wantCells[i] = Cell(c)
		}
		slices.Sort(wantCells)
		if !slices.Equal(got, wantCells) {
			t.Fatalf("at %v: compacted %d cells, h3 %d", p, len(got), len(wantCells))
		}
		if len(got) >= len(disk) {
			t.Fatalf("nothing compacted: %d of %d", len(got), len(disk))
		}
		back, err := a.Uncompact(8)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(cells)
		if !slices.Equal(back, cells) {
			t.Fatalf("uncompact gave %d cells, started with %d", len(back), len(cells))
		}
	}
}

func TestNewAreaMixedResolutions(t *testing.T) {
	p := Point{52.52, 13.40}
	r7, _ := CellOf(p, 7)
	r9, _ := CellOf(p, 9) // inside r7: redundant
	kids, _ := h3.Cell(r7).Children(8)
	far, _ := CellOf(Point{52.0, 13.0}, 8)
	cells := []Cell{r9, far}
	for _, k := range kids {
		cells = append(cells, Cell(k)) // all of r7's children: compact to r7
	}
	a, err := NewArea(cells)
	if err != nil {
		t.Fatal(err)
	}
	want := []Cell{r7, far}
	slices.Sort(want)
	if !slices.Equal(a.Cells(), want) {
		t.Fatalf("area = %v, want %v", a.Strings(), want)
	}
	if _, err := a.Uncompact(7); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("uncompact coarser than a stored cell: %v", err)
	}
	if _, err := NewArea([]Cell{r7, 12345}); !errors.Is(err, ErrInvalidCell) {
		t.Fatalf("invalid cell: %v", err)
	}
	if _, err := ParseArea([]string{r7.String(), "nope"}); !errors.Is(err, ErrInvalidCell) {
		t.Fatalf("invalid id: %v", err)
	}
	pa, err := ParseArea(a.Strings())
	if err != nil || !slices.Equal(pa.Cells(), a.Cells()) {
		t.Fatalf("ParseArea(Strings()) = %v, %v", pa.Strings(), err)
	}
}

func TestAreaMembership(t *testing.T) {
	home := Point{40.4168, -3.7038} // Madrid
	a, err := AreaAround(home, 5, 8)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    Point
		in   bool
	}{
		{"home", home, true},
		{"2 km north", Point{40.4348, -3.7038}, true},
		{"3 km west", Point{40.4168, -3.7390}, true},
		{"8 km east", Point{40.4168, -3.6100}, false},
		{"Barcelona", Point{41.3874, 2.1686}, false},
		{"invalid point", Point{}, false},
	}
	for _, tt := range tests {
		if got := a.Contains(tt.p); got != tt.in {
			t.Errorf("%s %v: Contains = %v, want %v", tt.name, tt.p, got, tt.in)
		}
	}
	// Membership equals "in one of the uncompacted cells".
	fine, err := a.Uncompact(8)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Point{home, {40.44, -3.70}, {40.40, -3.66}, {40.37, -3.70}, {40.5, -3.7}} {
		c, _ := CellOf(p, 15)
		c8, _ := c.Parent(8)
		_, inList := slices.BinarySearch(fine, c8)
		if a.Contains(p) != inList {
			t.Errorf("%v: Contains = %v, uncompacted list says %v", p, a.Contains(p), inList)
		}
	}
	var everywhere Area
	if !everywhere.IsEverywhere() || !everywhere.Contains(Point{-33.9, 18.4}) || everywhere.Contains(Point{100, 0}) {
		t.Error("the zero area must contain every valid point and no invalid one")
	}
	if _, err := everywhere.Uncompact(7); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("uncompact everywhere: %v", err)
	}
	if _, err := AreaAround(home, -1, 7); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative radius: %v", err)
	}
	if _, err := AreaAround(home, 5000, 9); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("huge radius at a fine resolution: %v", err)
	}
	if _, err := AreaAround(Point{}, 5, 7); !errors.Is(err, ErrInvalidPoint) {
		t.Errorf("area around (0,0): %v", err)
	}
}

func TestAreaAcrossAntimeridianAndPentagon(t *testing.T) {
	a, err := AreaAround(Point{-17.0, 179.99}, 10, 7) // Fiji
	if err != nil {
		t.Fatal(err)
	}
	if !a.Contains(Point{-17.0, -179.97}) || !a.Contains(Point{-17.0, 179.95}) {
		t.Error("area around a point on the antimeridian must cover both sides")
	}
	if a.Contains(Point{-17.0, -179.7}) {
		t.Error("area reaches 30 km east across the antimeridian")
	}
	pents, _ := h3.Pentagons(7)
	pc, _ := h3.CellToLatLng(pents[0])
	centre := Point{pc.Lat, pc.Lng}
	a, err = AreaAround(centre, 6, 7)
	if err != nil {
		t.Fatal(err)
	}
	// A pentagon has 6 children; all present must compact back to the pentagon.
	kids, _ := pents[0].Children(8)
	kc := make([]Cell, len(kids))
	for i, k := range kids {
		kc[i] = Cell(k)
	}
	pa, err := NewArea(kc)
	if err != nil || len(kids) != 6 || !slices.Equal(pa.Cells(), []Cell{Cell(pents[0])}) {
		t.Fatalf("pentagon children compact to %v (%d kids), %v", pa.Strings(), len(kids), err)
	}
	if !a.Contains(centre) {
		t.Error("area around a pentagon misses its centre")
	}
}
