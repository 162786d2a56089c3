package geo

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/uber/h3-go/v4"
)

func TestPointValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Point
		ok   bool
		msg  string
	}{
		{"paris", Point{48.8566, 2.3522}, true, ""},
		{"north pole", Point{90, 0}, true, ""},
		{"south pole", Point{-90, 180}, true, ""},
		{"antimeridian west", Point{10, -180}, true, ""},
		{"equator only", Point{0, 12}, true, ""},
		{"meridian only", Point{12, 0}, true, ""},
		{"missing", Point{0, 0}, false, "missing"},
		{"negative zero", Point{math.Copysign(0, -1), 0}, false, "missing"},
		{"lat too big", Point{90.0001, 1}, false, "latitude"},
		{"lat too small", Point{-91, 1}, false, "latitude"},
		{"lng too big", Point{1, 180.5}, false, "longitude"},
		{"lng too small", Point{1, -181}, false, "longitude"},
		{"lat NaN", Point{math.NaN(), 1}, false, "finite"},
		{"lng NaN", Point{1, math.NaN()}, false, "finite"},
		{"lat +Inf", Point{math.Inf(1), 1}, false, "finite"},
		{"lng -Inf", Point{1, math.Inf(-1)}, false, "finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate(%v) = %v, want nil", tt.p, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPoint) {
				t.Fatalf("Validate(%v) = %v, want ErrInvalidPoint", tt.p, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Validate(%v) = %q, want it to mention %q", tt.p, err, tt.msg)
			}
		})
	}
}

func TestParseCell(t *testing.T) {
	valid, _ := CellOf(Point{48.8566, 2.3522}, ResPosition)
	edge, _ := h3.Cell(valid).DirectedEdges()
	tests := []struct {
		in string
		ok bool
	}{
		{valid.String(), true},
		{strings.ToUpper(valid.String()), true},
		{"", false},
		{"0x" + valid.String(), false},
		{"+" + valid.String(), false},
		{"zz", false},
		{"0", false},
		{"ffffffffffffffff", false},
		{"1" + valid.String(), false}, // 17 digits
		{"0" + valid.String(), false}, // leading zero
		{valid.String()[:14], false},  // truncated id
		{edge[0].String(), false},     // a directed edge, not a cell
		{valid.String() + " ", false},
		{"85283473fffffff", true}, // res 5 from H3's docs
	}
	for _, tt := range tests {
		c, err := ParseCell(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("ParseCell(%q) = %v, %v; want ok=%v", tt.in, c, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidCell) {
			t.Errorf("ParseCell(%q) error %v does not wrap ErrInvalidCell", tt.in, err)
		}
		if err == nil && c.String() != strings.ToLower(tt.in) {
			t.Errorf("ParseCell(%q).String() = %q", tt.in, c.String())
		}
	}
	if _, err := ParseCellAt(valid.String(), ResRegion); !errors.Is(err, ErrInvalidCell) {
		t.Errorf("ParseCellAt(res 9 cell, 5) = %v, want ErrInvalidCell", err)
	}
	if c, err := ParseCellAt("85283473fffffff", ResRegion); err != nil || c.Resolution() != 5 {
		t.Errorf("ParseCellAt(res 5) = %v, %v", c, err)
	}
}

func TestCellJSON(t *testing.T) {
	c, _ := CellOf(Point{-33.86, 151.21}, ResBucket)
	b, err := json.Marshal(map[string]Cell{"c": c})
	if err != nil || string(b) != `{"c":"`+c.String()+`"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var back map[string]Cell
	if err := json.Unmarshal(b, &back); err != nil || back["c"] != c {
		t.Fatalf("unmarshal = %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"c":"nothex"}`), &back); !errors.Is(err, ErrInvalidCell) {
		t.Fatalf("unmarshal junk = %v, want ErrInvalidCell", err)
	}
}

// parentBits replaces a cgo call on the hot path; it must agree with H3.
func TestParentBitsMatchesH3(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		p := Point{Lat: r.Float64()*180 - 90, Lng: r.Float64()*360 - 180}
		res := r.IntN(16)
		c, err := CellOf(p, res)
		if err != nil {
			t.Fatal(err)
		}
		for pr := 0; pr <= res; pr++ {
			want, err := h3.Cell(c).Parent(pr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Parent(pr)
			if err != nil || uint64(got) != uint64(want) {
				t.Fatalf("Parent(%s, %d) = %s, %v; h3 says %s", c, pr, got, err, want)
			}
		}
	}
	c, _ := CellOf(Point{1, 1}, 5)
	if _, err := c.Parent(6); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Parent finer than the cell = %v", err)
	}
}

func TestDistanceMatchesH3(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		a := Point{Lat: r.Float64()*180 - 90, Lng: r.Float64()*360 - 180}
		b := Point{Lat: r.Float64()*180 - 90, Lng: r.Float64()*360 - 180}
		want := h3.GreatCircleDistanceKm(h3.NewLatLng(a.Lat, a.Lng), h3.NewLatLng(b.Lat, b.Lng))
		if got := DistanceKm(a, b); math.Abs(got-want) > 1e-6*math.Max(1, want) {
			t.Fatalf("DistanceKm(%v, %v) = %v, h3 says %v", a, b, got, want)
		}
	}
	// Across the antimeridian two points 0.02° apart are ~2 km apart, not 40,000.
	if d := DistanceKm(Point{0.5, 179.99}, Point{0.5, -179.99}); d > 2.3 || d < 2.1 {
		t.Fatalf("antimeridian distance = %v km", d)
	}
}

func TestCellOfAndRegionOf(t *testing.T) {
	p := Point{48.8566, 2.3522}
	for _, res := range []int{ResRegion, ResBucket, ResPosition} {
		c, err := CellOf(p, res)
		if err != nil || c.Resolution() != res || !c.IsValid() {
			t.Fatalf("CellOf(res %d) = %v, %v", res, c, err)
		}
	}
	reg, err := RegionOf(p)
	if err != nil || reg.Resolution() != ResRegion {
		t.Fatalf("RegionOf = %v, %v", reg, err)
	}
	pos, _ := CellOf(p, ResPosition)
	if par, _ := pos.Parent(ResRegion); par != reg {
		t.Fatalf("RegionOf = %s, parent of position cell = %s", reg, par)
	}
	if _, err := CellOf(Point{}, 7); !errors.Is(err, ErrInvalidPoint) {
		t.Fatalf("CellOf(0,0) = %v", err)
	}
	if _, err := CellOf(p, 16); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("CellOf(res 16) = %v", err)
	}
	// Both sides of the antimeridian at the equator: distinct, adjacent-ish cells.
	w, _ := CellOf(Point{0.5, -179.999}, ResBucket)
	e, _ := CellOf(Point{0.5, 179.999}, ResBucket)
	if d, err := h3.GridDistance(h3.Cell(w), h3.Cell(e)); err != nil || d > 2 {
		t.Fatalf("grid distance across the antimeridian = %d, %v", d, err)
	}
}

// FuzzPointValidate: every accepted point has cells and a region; every
// refused one says ErrInvalidPoint.
func FuzzPointValidate(f *testing.F) {
	f.Add(48.8566, 2.3522)
	f.Add(0.0, 0.0)
	f.Add(90.0, 180.0)
	f.Add(-90.0, -180.0)
	f.Add(0.5, 179.99)
	f.Add(math.NaN(), 1.0)
	f.Add(math.Inf(1), 1.0)
	f.Add(1e308, -1e308)
	f.Fuzz(func(t *testing.T, lat, lng float64) {
		p := Point{lat, lng}
		err := p.Validate()
		if err != nil {
			if !errors.Is(err, ErrInvalidPoint) {
				t.Fatalf("Validate(%v) = %v without ErrInvalidPoint", p, err)
			}
			if _, err := RegionOf(p); err == nil {
				t.Fatalf("RegionOf accepted invalid %v", p)
			}
			return
		}
		reg, err := RegionOf(p)
		if err != nil || !reg.IsValid() || reg.Resolution() != ResRegion {
			t.Fatalf("RegionOf(%v) = %v, %v", p, reg, err)
		}
		c, err := CellOf(p, ResBucket)
		if err != nil {
			t.Fatalf("CellOf(%v) = %v", p, err)
		}
		ctr, err := c.Center()
		if err != nil || DistanceKm(p, ctr) > 3 { // res-7 circumradius is < 3 km
			t.Fatalf("point %v is %v km from its cell's centre %v (%v)", p, DistanceKm(p, ctr), ctr, err)
		}
	})
}

// FuzzParseCell: whatever parses is a valid cell whose string parses back
// to itself; nothing else is accepted.
func FuzzParseCell(f *testing.F) {
	f.Add("85283473fffffff")
	f.Add("8928308280fffff")
	f.Add("")
	f.Add("0x85283473fffffff")
	f.Add("ffffffffffffffff")
	f.Add("115283473fffffff") // a directed edge
	f.Add("8f2830828052d25")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCell(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCell) {
				t.Fatalf("ParseCell(%q) = %v without ErrInvalidCell", s, err)
			}
			return
		}
		if !h3.Cell(c).IsValid() {
			t.Fatalf("ParseCell(%q) accepted invalid %x", s, uint64(c))
		}
		back, err := ParseCell(c.String())
		if err != nil || back != c {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
		if _, err := c.Center(); err != nil {
			t.Fatalf("centre of parsed %q: %v", s, err)
		}
	})
}

// The series asin and sin take below smallAngle agree with the math package's to a couple of
// units in the last place, at the edge, in between and near zero, of either sign.
func TestSeriesMatchMath(t *testing.T) {
	const ulps = 2
	near := func(got, want float64) bool {
		return math.Abs(got-want) <= ulps*(math.Nextafter(math.Abs(want), math.Inf(1))-math.Abs(want))
	}
	r := rand.New(rand.NewPCG(5, 6))
	xs := []float64{0, smallAngle, math.Nextafter(smallAngle, 0), 1e-300, 1e-9}
	for range 200000 {
		xs = append(xs, r.Float64()*smallAngle)
	}
	for _, x := range xs {
		if got, want := asin(x), math.Asin(x); !near(got, want) {
			t.Fatalf("asin(%v) = %v, math.Asin %v", x, got, want)
		}
		for _, y := range []float64{x, -x} {
			if got, want := sin(y), math.Sin(y); !near(got, want) {
				t.Fatalf("sin(%v) = %v, math.Sin %v", y, got, want)
			}
		}
	}
	// Beyond the bound, and where the math package answers NaN, they are the math package's.
	for _, x := range []float64{math.Nextafter(smallAngle, 1), 0.5, 1, 1.5, -0.1, math.NaN(), math.Inf(1)} {
		if got, want := asin(x), math.Asin(x); got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("asin(%v) = %v, math.Asin %v", x, got, want)
		}
		if got, want := sin(x), math.Sin(x); got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("sin(%v) = %v, math.Sin %v", x, got, want)
		}
	}
}

// Trips across a city: DistanceKm agrees with H3's great-circle distance to the millimetre.
func TestCityDistanceMatchesH3(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 10000 {
		a := Point{Lat: 45.6 + r.Float64()*0.4, Lng: 4.6 + r.Float64()*0.5}
		b := Point{Lat: 45.6 + r.Float64()*0.4, Lng: 4.6 + r.Float64()*0.5}
		want := h3.GreatCircleDistanceKm(h3.NewLatLng(a.Lat, a.Lng), h3.NewLatLng(b.Lat, b.Lng))
		if got := DistanceKm(a, b); math.Abs(got-want) > 1e-6 {
			t.Fatalf("DistanceKm(%v, %v) = %v, h3 says %v", a, b, got, want)
		}
	}
}

func BenchmarkDistanceKmCity(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	pts := make([]Point, 1024)
	for i := range pts {
		pts[i] = Point{Lat: 45.6 + r.Float64()*0.4, Lng: 4.6 + r.Float64()*0.5}
	}
	var sum float64
	for i := 0; b.Loop(); i++ {
		sum += DistanceKm(pts[i&1023], pts[(i*7+3)&1023])
	}
	if sum < 0 {
		b.Fatal(sum)
	}
}
