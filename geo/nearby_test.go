package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/uber/h3-go/v4"
)

// randomIndexCase drives an Index and a plain map of the same entries through
// interleaved upserts, moves and removals, and checks many random queries
// against bruteNearby after each batch.
type randomIndexCase struct {
	r       *rand.Rand
	ix      *Index
	live    map[int64]Entry
	centre  Point
	span    float64  // half-size of the box, degrees of latitude
	skills  []string // the pool entries draw from
	maxID   int64
	queries int
}

func (c *randomIndexCase) point(scale float64) Point {
	dLng := c.span / max(0.05, math.Cos(c.centre.Lat*degToRad))
	return scatter(c.r, 1, c.centre, c.span*scale, dLng*scale)[0].Point
}

func (c *randomIndexCase) entry(t *testing.T, id int64) Entry {
	e := Entry{ID: id, Point: c.point(1), Active: c.r.IntN(8) != 0}
	if len(c.live) > 0 && c.r.IntN(15) == 0 { // exactly on someone else: distance ties
		for _, o := range c.live {
			e.Point = o.Point
			break
		}
	}
	for range c.r.IntN(4) {
		e.Skills = append(e.Skills, c.skills[c.r.IntN(len(c.skills))])
	}
	if c.r.IntN(4) == 0 {
		a, err := AreaAround(c.point(1), 0.5+c.r.Float64()*8, 6+c.r.IntN(3))
		if err != nil {
			t.Fatal(err)
		}
		e.Area = a
	}
	return e
}

func (c *randomIndexCase) mutate(t *testing.T, n int) {
	for range n {
		switch op := c.r.IntN(10); {
		case op < 5 || len(c.live) == 0: // a new technician, or a new version of one
			id := c.maxID + 1
			if c.maxID > 0 && c.r.IntN(3) == 0 {
				id = 1 + c.r.Int64N(c.maxID)
			}
			c.maxID = max(c.maxID, id)
			e := c.entry(t, id)
			if err := c.ix.Upsert(e); err != nil {
				t.Fatal(err)
			}
			c.live[id] = e
		case op < 8: // a location ping
			id := 1 + c.r.Int64N(c.maxID)
			p := c.point(1)
			err := c.ix.Move(id, p)
			if e, ok := c.live[id]; ok {
				if err != nil {
					t.Fatal(err)
				}
				e.Point = p
				c.live[id] = e
			} else if err == nil {
				t.Fatalf("moved technician %d, who is not indexed", id)
			}
		default:
			id := 1 + c.r.Int64N(c.maxID)
			_, was := c.live[id]
			if c.ix.Remove(id) != was {
				t.Fatalf("Remove(%d) disagrees with the map (indexed: %v)", id, was)
			}
			delete(c.live, id)
		}
	}
	if c.ix.Len() != len(c.live) {
		t.Fatalf("Len = %d, map has %d", c.ix.Len(), len(c.live))
	}
}

func (c *randomIndexCase) query(t *testing.T) {
	entries := make([]Entry, 0, len(c.live))
	for _, e := range c.live {
		entries = append(entries, e)
	}
	for range c.queries {
		p := c.point(1.2)
		if len(entries) > 0 && c.r.IntN(10) == 0 {
			p = entries[c.r.IntN(len(entries))].Point // on a technician: distance 0
		}
		want := []int{1, 3, 10, 30, 200}[c.r.IntN(5)]
		maxKm := []float64{0.5, 2, 10, 60, 20_000}[c.r.IntN(5)]
		var exclude []int64
		for range c.r.IntN(4) {
			exclude = append(exclude, 1+c.r.Int64N(c.maxID+1))
		}
		filters := []struct {
			name string
			f    func(Entry) bool
		}{
			{"nil", nil},
			{"active", func(e Entry) bool { return e.Active }},
			{"active, not excluded", func(e Entry) bool { return e.Active && !slices.Contains(exclude, e.ID) }},
			{"id%3", func(e Entry) bool { return e.ID%3 != 0 }},
		}
		fl := filters[c.r.IntN(len(filters))]
		var opts []NearbyOption
		ignoreAreas := c.r.IntN(4) == 0
		if ignoreAreas {
			opts = append(opts, IgnoreAreas())
		}
		var req []string
		if c.r.IntN(3) != 0 {
			for range c.r.IntN(3) {
				req = append(req, c.skills[c.r.IntN(len(c.skills))])
			}
			if c.r.IntN(20) == 0 {
				req = append(req, "nobody-has-this")
			}
			opts = append(opts, RequireSkills(req...))
		}
		ref := func(e Entry) bool {
			return (fl.f == nil || fl.f(e)) && hasSkills(e.Skills, req)
		}
		got, err := c.ix.Nearby(p, fl.f, want, maxKm, opts...)
		if err != nil {
			t.Fatal(err)
		}
		label := fmt.Sprintf("at %v want %d within %v km, filter %s, ignoreAreas %v, RequireSkills %q", p, want, maxKm, fl.name, ignoreAreas, req)
		sameExactly(t, label, got, bruteNearby(entries, p, ref, want, maxKm, ignoreAreas))
	}
}

// sameExactly wants the same technicians, entries and distances to the bit.
func sameExactly(t *testing.T, label string, got, want []Candidate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d candidates, brute force %d\n got %v\nwant %v", label, len(got), len(want), ids(got), ids(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Entry.ID != w.Entry.ID || g.DistanceKm != w.DistanceKm || g.Entry.Point != w.Entry.Point ||
			g.Entry.Active != w.Entry.Active || !slices.Equal(g.Entry.Skills, w.Entry.Skills) || !slices.Equal(g.Entry.Area.cells, w.Entry.Area.cells) {
			t.Fatalf("%s: #%d got %+v at %v km, brute force %+v at %v km\n got %v\nwant %v", label, i,
				g.Entry, g.DistanceKm, w.Entry, w.DistanceKm, ids(got), ids(want))
		}
	}
}

func TestNearbyRandomizedAgainstBruteForce(t *testing.T) {
	pent, _ := h3.Pentagons(ResBucket)
	pentCentre, _ := h3.CellToLatLng(pent[5])
	common := []string{"washing_machine", "refrigerator", "air_conditioning", "dishwasher",
		"oven", "water_heater", "tumble_dryer", "installation"}
	many := slices.Clone(common)
	for i := range 90 {
		many = append(many, fmt.Sprintf("extra-%02d", i))
	}
	scenarios := []struct {
		name   string
		centre Point
		span   float64
		skills []string
		// primer is upserted first and removed: its skill names take bits
		// before the pool's, which then have none beyond maxSkillBits.
		primer  int
		small   bool // tiny geometry and ring caches: the uncached paths
		n, ops  int
		queries int
	}{
		{"Lyon", Point{45.764, 4.8357}, 0.11, common, 0, false, 1500, 150, 15},
		{"Lyon, small caches", Point{45.764, 4.8357}, 0.11, common, 0, true, 800, 100, 10},
		{"more than 64 skill names", Point{45.764, 4.8357}, 0.11, many, 0, false, 1200, 150, 15},
		{"common skills without bits", Point{48.85, 2.35}, 0.2, many, 60, false, 1200, 150, 15},
		{"country", Point{46.5, 2.5}, 3, common, 0, false, 1500, 150, 10},
		{"antimeridian", Point{-16.5, 179.95}, 0.3, common, 0, false, 800, 100, 10},
		{"near a pentagon", Point{pentCentre.Lat, pentCentre.Lng}, 0.2, common, 0, false, 800, 100, 10},
		{"high latitude", Point{78.2, 15.6}, 0.2, common, 0, false, 800, 100, 10},
	}
	for si, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			c := &randomIndexCase{r: rand.New(rand.NewPCG(uint64(si), 2026)), ix: NewIndex(), live: map[int64]Entry{},
				centre: sc.centre, span: sc.span, skills: sc.skills, queries: sc.queries}
			if sc.small {
				c.ix.maxGeoms, c.ix.maxRingCells = 40, 60
			}
			if sc.primer > 0 {
				var names []string
				for i := range sc.primer {
					names = append(names, fmt.Sprintf("primer-%02d", i))
				}
				names = append(names, sc.skills[len(sc.skills)-1:]...) // a pool name that gets a bit
				if err := c.ix.Upsert(Entry{ID: -1, Point: sc.centre, Skills: names}); err != nil {
					t.Fatal(err)
				}
				c.ix.Remove(-1)
			}
			c.mutate(t, sc.n) // the initial population, with churn
			for range 12 {
				c.query(t)
				c.mutate(t, sc.ops)
			}
			c.query(t)
		})
	}
}

func TestRequireSkills(t *testing.T) {
	ix := newTestIndex(t, []Entry{
		{ID: 1, Point: Point{48.850, 2.350}, Skills: []string{"oven", "washer"}, Active: true},
		{ID: 2, Point: Point{48.851, 2.351}, Skills: []string{"washer"}, Active: true},
		{ID: 3, Point: Point{48.852, 2.352}, Skills: []string{"oven"}},
		{ID: 4, Point: Point{48.853, 2.353}},
	})
	cases := []struct {
		opts   []NearbyOption
		filter func(Entry) bool
		want   []int64
	}{
		{nil, nil, []int64{1, 2, 3, 4}},
		{[]NearbyOption{RequireSkills()}, nil, []int64{1, 2, 3, 4}},
		{[]NearbyOption{RequireSkills("washer")}, nil, []int64{1, 2}},
		{[]NearbyOption{RequireSkills("oven")}, nil, []int64{1, 3}},
		{[]NearbyOption{RequireSkills("oven", "washer")}, nil, []int64{1}},
		{[]NearbyOption{RequireSkills("oven"), RequireSkills("washer")}, nil, []int64{1}}, // options add up
		{[]NearbyOption{RequireSkills("Oven")}, nil, nil},                                 // exact names
		{[]NearbyOption{RequireSkills("unknown")}, nil, nil},
		{[]NearbyOption{RequireSkills("oven")}, func(e Entry) bool { return e.Active }, []int64{1}}, // the filter still runs
	}
	for i, tc := range cases {
		got, err := ix.Nearby(Point{48.85, 2.35}, tc.filter, 10, 5, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("case %d: %v, want %v", i, ids(got), tc.want)
		}
	}
	// The filter sees only technicians with the skills.
	_, _ = ix.Nearby(Point{48.85, 2.35}, func(e Entry) bool {
		if !e.HasSkill("washer") {
			t.Errorf("filter called for technician %d, who lacks the required skill", e.ID)
		}
		return true
	}, 10, 5, RequireSkills("washer"))
	// Skills change with an upsert, and stay with a move.
	if err := ix.Upsert(Entry{ID: 4, Point: Point{48.853, 2.353}, Skills: []string{"washer"}}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Move(2, Point{48.854, 2.354}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.Nearby(Point{48.85, 2.35}, nil, 10, 5, RequireSkills("washer")); !slices.Equal(ids(got), []int64{1, 4, 2}) {
		t.Errorf("after upsert and move: %v, want [1 4 2]", ids(got))
	}
}

// Run with -race: upserts bring new skill names while queries require skills.
func TestRequireSkillsConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	centre := Point{45.76, 4.84}
	ix := newTestIndex(t, scatter(r, 500, centre, 0.1, 0.15))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		wr := rand.New(rand.NewPCG(8, 1))
		for i := range 300 {
			e := scatter(wr, 1, centre, 0.1, 0.15)[0]
			e.ID = int64(1 + wr.IntN(600))
			e.Skills = append(e.Skills, fmt.Sprintf("new-%d", i%90))
			if err := ix.Upsert(e); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		rr := rand.New(rand.NewPCG(9, 2))
		for i := range 300 {
			p := scatter(rr, 1, centre, 0.1, 0.15)[0].Point
			got, err := ix.Nearby(p, nil, 5, 10, RequireSkills(testSkills[i%len(testSkills)], fmt.Sprintf("new-%d", i%90)))
			if err != nil {
				t.Error(err)
				return
			}
			for _, c := range got {
				if !c.Entry.HasSkill(testSkills[i%len(testSkills)]) || !c.Entry.HasSkill(fmt.Sprintf("new-%d", i%90)) {
					t.Errorf("technician %d lacks a required skill: %v", c.Entry.ID, c.Entry.Skills)
					return
				}
			}
		}
	}()
	wg.Wait()
}
