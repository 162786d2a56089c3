package geo

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/uber/h3-go/v4"
)

var testSkills = []string{"washer", "fridge", "ac", "tv", "water_heater", "install"}

// scatter puts n technicians uniformly in a box of half-size dLat×dLng
// degrees around c (longitudes wrapped into [-180, 180]).
func scatter(r *rand.Rand, n int, c Point, dLat, dLng float64) []Entry {
	out := make([]Entry, n)
	for i := range out {
		lng := c.Lng + (r.Float64()*2-1)*dLng
		if lng > 180 {
			lng -= 360
		}
		if lng < -180 {
			lng += 360
		}
		out[i] = Entry{
			ID:     int64(i + 1),
			Point:  Point{Lat: c.Lat + (r.Float64()*2-1)*dLat, Lng: lng},
			Skills: []string{testSkills[r.IntN(len(testSkills))], testSkills[r.IntN(len(testSkills))]},
			Active: r.IntN(10) != 0,
		}
	}
	return out
}

// bruteNearby is the specification of Nearby: scan everyone.
func bruteNearby(entries []Entry, p Point, filter func(Entry) bool, want int, maxKm float64, ignoreAreas bool) []Candidate {
	var out []Candidate
	for _, e := range entries {
		d := DistanceKm(p, e.Point)
		if d > maxKm || (filter != nil && !filter(e)) || (!ignoreAreas && !e.Area.Contains(p)) {
			continue
		}
		out = append(out, Candidate{Entry: e, DistanceKm: d})
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if c := cmp.Compare(a.DistanceKm, b.DistanceKm); c != 0 {
			return c
		}
		return cmp.Compare(a.Entry.ID, b.Entry.ID)
	})
	return out[:min(want, len(out))]
}

func sameCandidates(t *testing.T, label string, got, want []Candidate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d candidates, brute force %d\n got %v\nwant %v", label, len(got), len(want), ids(got), ids(want))
	}
	for i := range got {
		if got[i].Entry.ID != want[i].Entry.ID || math.Abs(got[i].DistanceKm-want[i].DistanceKm) > 1e-9 {
			t.Fatalf("%s: #%d got %d at %.4f km, brute force %d at %.4f km\n got %v\nwant %v", label, i,
				got[i].Entry.ID, got[i].DistanceKm, want[i].Entry.ID, want[i].DistanceKm, ids(got), ids(want))
		}
	}
}

func ids(cs []Candidate) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Entry.ID
	}
	return out
}

func newTestIndex(t testing.TB, entries []Entry) *Index {
	t.Helper()
	ix := NewIndex()
	for _, e := range entries {
		if err := ix.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

func TestNearbyMatchesBruteForce(t *testing.T) {
	pent, _ := h3.Pentagons(ResBucket)
	pentCentre, _ := h3.CellToLatLng(pent[3])
	scenarios := []struct {
		name       string
		centre     Point
		dLat, dLng float64
		n          int
	}{
		{"dense city", Point{48.85, 2.35}, 0.15, 0.2, 3000},
		{"sparse country", Point{46.5, 2.5}, 3, 4, 2000},
		{"antimeridian", Point{-16.5, 180}, 0.3, 0.3, 1500},
		{"near a pentagon", Point{pentCentre.Lat, pentCentre.Lng}, 0.2, 0.2, 1500},
		{"high latitude", Point{78.2, 15.6}, 0.2, 1.0, 1000},
	}
	for si, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(si), 42))
			entries := scatter(r, sc.n, sc.centre, sc.dLat, sc.dLng)
			ix := newTestIndex(t, entries)
			filters := map[string]func(Entry) bool{
				"all":           nil,
				"active washer": func(e Entry) bool { return e.Active && e.HasSkill("washer") },
				"rare":          func(e Entry) bool { return e.ID%97 == 0 },
			}
			for q := range 60 {
				p := scatter(r, 1, sc.centre, sc.dLat*1.1, sc.dLng*1.1)[0].Point
				want := []int{1, 5, 20}[q%3]
				maxKm := []float64{2, 10, 60}[q%3]
				for fname, f := range filters {
					got, err := ix.Nearby(p, f, want, maxKm)
					if err != nil {
						t.Fatal(err)
					}
					sameCandidates(t, fmt.Sprintf("query %d at %v, %s, want %d within %v km", q, p, fname, want, maxKm),
						got, bruteNearby(entries, p, f, want, maxKm, false))
				}
			}
		})
	}
}

// The case a naive "stop at the first ring with enough" search gets wrong:
// the query sits at the edge of its cell, a technician in the same cell is
// across it, and a nearer one is just over the edge in the next ring.
func TestNearbyLooksPastTheFirstRing(t *testing.T) {
	origin, _ := CellOf(Point{48.85, 2.35}, ResBucket)
	bnd, _ := h3.CellToBoundary(h3.Cell(origin))
	ctr, _ := origin.Center()
	lerp := func(a, b Point, t float64) Point {
		return Point{a.Lat + (b.Lat-a.Lat)*t, a.Lng + (b.Lng-a.Lng)*t}
	}
	v := func(i int) Point { return Point{bnd[i].Lat, bnd[i].Lng} }
	mid := lerp(v(0), v(1), 0.5)
	p := lerp(mid, ctr, 0.02)     // just inside, at an edge
	near := lerp(mid, ctr, -0.02) // just outside, in ring 1
	far := lerp(v(3), ctr, 0.05)  // inside, across the cell
	if c, _ := CellOf(p, ResBucket); c != origin {
		t.Fatal("setup: query not in origin cell")
	}
	if c, _ := CellOf(far, ResBucket); c != origin {
		t.Fatal("setup: far technician not in origin cell")
	}
	if c, _ := CellOf(near, ResBucket); c == origin {
		t.Fatal("setup: near technician in origin cell")
	}
	ix := newTestIndex(t, []Entry{{ID: 1, Point: far}, {ID: 2, Point: near}})
	got, err := ix.Nearby(p, nil, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Entry.ID != 2 {
		t.Fatalf("Nearby = %v, want technician 2 at %.3f km (technician 1 is %.3f km)", ids(got), DistanceKm(p, near), DistanceKm(p, far))
	}
}

func TestNearbyRespectsAreas(t *testing.T) {
	home := Point{48.85, 2.35}
	area, err := AreaAround(home, 3, ResBucket)
	if err != nil {
		t.Fatal(err)
	}
	away := Point{48.85, 2.60} // ~18 km east, outside the area
	ix := newTestIndex(t, []Entry{
		{ID: 1, Point: Point{48.851, 2.351}, Area: area},
		{ID: 2, Point: Point{48.852, 2.352}}, // everywhere
	})
	got, _ := ix.Nearby(home, nil, 5, 50)
	if !slices.Equal(ids(got), []int64{1, 2}) {
		t.Fatalf("at home: %v, want [1 2]", ids(got))
	}
	got, _ = ix.Nearby(away, nil, 5, 50)
	if !slices.Equal(ids(got), []int64{2}) {
		t.Fatalf("outside technician 1's area: %v, want [2]", ids(got))
	}
	got, _ = ix.Nearby(away, nil, 5, 50, IgnoreAreas())
	if !slices.Equal(ids(got), []int64{2, 1}) {
		t.Fatalf("ignoring areas: %v, want [2 1]", ids(got))
	}

	// Random areas against brute force.
	r := rand.New(rand.NewPCG(9, 9))
	entries := scatter(r, 800, home, 0.2, 0.3)
	for i := range entries {
		if i%2 == 0 {
			a, err := AreaAround(entries[i].Point, 1+r.Float64()*8, []int{6, 7, 8}[i%3])
			if err != nil {
				t.Fatal(err)
			}
			entries[i].Area = a
		}
	}
	ix = newTestIndex(t, entries)
	for q := range 50 {
		p := scatter(r, 1, home, 0.2, 0.3)[0].Point
		for _, ignore := range []bool{false, true} {
			var opts []NearbyOption
			if ignore {
				opts = append(opts, IgnoreAreas())
			}
			got, err := ix.Nearby(p, nil, 8, 15, opts...)
			if err != nil {
				t.Fatal(err)
			}
			sameCandidates(t, fmt.Sprintf("query %d ignoreAreas=%v", q, ignore), got, bruteNearby(entries, p, nil, 8, 15, ignore))
		}
	}
}

func TestNearbyInputErrors(t *testing.T) {
	ix := NewIndex()
	if _, err := ix.Nearby(Point{}, nil, 1, 1); !errors.Is(err, ErrInvalidPoint) {
		t.Errorf("(0,0): %v", err)
	}
	for _, want := range []int{0, -1} {
		if _, err := ix.Nearby(Point{1, 1}, nil, want, 1); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("want %d: %v", want, err)
		}
	}
	for _, km := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := ix.Nearby(Point{1, 1}, nil, 1, km); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("radius %v: %v", km, err)
		}
	}
	if got, err := ix.Nearby(Point{1, 1}, nil, 3, 100); err != nil || len(got) != 0 {
		t.Errorf("empty index: %v, %v", got, err)
	}
}

func TestIndexUpdates(t *testing.T) {
	ix := NewIndex()
	skills := []string{"washer"}
	if err := ix.Upsert(Entry{ID: 7, Point: Point{48.85, 2.35}, Skills: skills, Active: true}); err != nil {
		t.Fatal(err)
	}
	skills[0] = "mutated" // the index kept its own copy
	if e, _ := ix.Get(7); e.Skills[0] != "washer" {
		t.Fatalf("skills aliased the caller's slice: %v", e.Skills)
	}
	if err := ix.Upsert(Entry{ID: 8, Point: Point{}}); !errors.Is(err, ErrInvalidPoint) {
		t.Fatalf("upsert at (0,0): %v", err)
	}
	// Move across the city: found at the new place, not the old.
	if err := ix.Move(7, Point{48.90, 2.25}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.Nearby(Point{48.85, 2.35}, nil, 1, 2); len(got) != 0 {
		t.Fatalf("still found at the old place: %v", ids(got))
	}
	got, _ := ix.Nearby(Point{48.90, 2.25}, nil, 1, 2)
	if len(got) != 1 || got[0].Entry.ID != 7 || !got[0].Entry.Active || got[0].Entry.Skills[0] != "washer" {
		t.Fatalf("after move: %+v", got)
	}
	if err := ix.Move(99, Point{1, 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("move unknown: %v", err)
	}
	if err := ix.Move(7, Point{91, 1}); !errors.Is(err, ErrInvalidPoint) {
		t.Fatalf("move to bad point: %v", err)
	}
	// Upsert of an existing id replaces it rather than duplicating it.
	_ = ix.Upsert(Entry{ID: 7, Point: Point{48.90, 2.25}, Active: false})
	if ix.Len() != 1 {
		t.Fatalf("Len = %d after re-upsert", ix.Len())
	}
	if !ix.Remove(7) || ix.Remove(7) || ix.Len() != 0 {
		t.Fatal("Remove did not remove exactly once")
	}
	if got, _ := ix.Nearby(Point{48.90, 2.25}, nil, 1, 2); len(got) != 0 {
		t.Fatalf("found after removal: %v", ids(got))
	}
}

// Run with -race: readers and writers at once, and the index still agrees
// with brute force once the writers stop.
func TestIndexConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	centre := Point{45.76, 4.84}
	entries := scatter(r, 2000, centre, 0.1, 0.15)
	ix := newTestIndex(t, entries)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := rand.New(rand.NewPCG(uint64(w), 1))
			for range 500 {
				i := wr.IntN(len(entries))
				p := scatter(wr, 1, centre, 0.1, 0.15)[0].Point
				if err := ix.Move(entries[i].ID, p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for rd := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(rd), 2))
			for range 300 {
				p := scatter(rr, 1, centre, 0.1, 0.15)[0].Point
				got, err := ix.Nearby(p, func(e Entry) bool { return e.Active }, 5, 5)
				if err != nil {
					t.Error(err)
					return
				}
				for i := 1; i < len(got); i++ {
					if got[i].DistanceKm < got[i-1].DistanceKm {
						t.Error("unsorted result under concurrency")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// The truth is each technician's last position as the index reports it;
	// every bucket must agree with it.
	for i := range entries {
		e, ok := ix.Get(entries[i].ID)
		if !ok {
			t.Fatalf("technician %d lost", entries[i].ID)
		}
		entries[i].Point = e.Point
	}
	for range 30 {
		p := scatter(r, 1, centre, 0.1, 0.15)[0].Point
		got, _ := ix.Nearby(p, nil, 10, 8)
		sameCandidates(t, "after concurrent moves", got, bruteNearby(entries, p, nil, 10, 8, false))
	}
}

// BenchmarkNearby: 100,000 technicians over a metropolitan region; the
// report with percentiles and baselines is scripts/bench-geo.sh.
func BenchmarkNearby(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	centre := Point{48.85, 2.35}
	ix := newTestIndex(b, scatter(r, 100_000, centre, 1.0, 1.5))
	qs := make([]Point, 4096)
	for i := range qs {
		qs[i] = scatter(r, 1, centre, 1.0, 1.5)[0].Point
	}
	filter := func(e Entry) bool { return e.Active && e.HasSkill("washer") }
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := ix.Nearby(qs[i%len(qs)], filter, 10, 25); err != nil {
			b.Fatal(err)
		}
	}
}
