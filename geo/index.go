package geo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/uber/h3-go/v4"
)

// Entry is what the index knows of a technician. Skills, shifts and any
// other eligibility rule are judged by the caller's filter; Area by Nearby.
type Entry struct {
	ID     int64
	Point  Point
	Skills []string // read-only once indexed: Nearby hands the same slice to filters
	Active bool
	Area   Area // the zero Area covers everywhere
}

// HasSkill is a convenience for filters.
func (e Entry) HasSkill(skill string) bool { return slices.Contains(e.Skills, skill) }

// Candidate is a technician proposed by Nearby, with the great-circle
// distance from the query point.
type Candidate struct {
	Entry      Entry
	DistanceKm float64
}

// Index keeps technicians in buckets of ResBucket cells so a query looks at
// the few cells around a point instead of every technician. It is safe for
// concurrent use: queries share a read lock, updates take the write lock.
type Index struct {
	mu      sync.RWMutex
	byID    map[int64]*item
	buckets map[Cell]*bucket

	// geoms caches the centre and radius of cells a query looked at, so a
	// ring's lower bounds cost a map read instead of two cgo calls. Cells'
	// shapes never change, so entries are written once; the cache stops
	// growing at maxGeoms (each entry is ~50 bytes).
	geoms     sync.Map // Cell → cellGeom
	geomCount atomic.Int64
	maxGeoms  int64
}

type item struct {
	e      Entry
	latR   float64
	lngR   float64
	cosLat float64
	bucket Cell
}

type bucket struct {
	geom  cellGeom
	items []*item
}

// cellGeom is a cell's centre (radians) and circumradius: no point of the
// cell is farther than radiusKm from the centre.
type cellGeom struct {
	latR, lngR, cosLat float64
	radiusKm           float64
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		byID:     map[int64]*item{},
		buckets:  map[Cell]*bucket{},
		maxGeoms: 1 << 20,
	}
}

// Len is the number of technicians indexed.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Get returns the technician's entry.
func (ix *Index) Get(id int64) (Entry, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	it, ok := ix.byID[id]
	if !ok {
		return Entry{}, false
	}
	return it.e, true
}

// Upsert adds or replaces a technician. The entry's Skills are copied.
func (ix *Index) Upsert(e Entry) error {
	if err := e.Point.Validate(); err != nil {
		return fmt.Errorf("index technician %d: %w", e.ID, err)
	}
	it, geom, err := ix.newItem(e)
	if err != nil {
		return fmt.Errorf("index technician %d: %w", e.ID, err)
	}
	it.e.Skills = slices.Clone(e.Skills)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old, ok := ix.byID[e.ID]; ok {
		ix.unlink(old)
	}
	ix.link(it, geom)
	return nil
}

// Move updates a technician's position (a location ping). ErrNotFound when
// the technician was never upserted.
func (ix *Index) Move(id int64, p Point) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("move technician %d: %w", id, err)
	}
	ix.mu.RLock()
	old, ok := ix.byID[id]
	var e Entry
	if ok {
		e = old.e
	}
	ix.mu.RUnlock()
	if !ok {
		return fmt.Errorf("move technician %d: %w", id, ErrNotFound)
	}
	e.Point = p
	it, geom, err := ix.newItem(e) // cgo outside the lock
	if err != nil {
		return fmt.Errorf("move technician %d: %w", id, err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	cur, ok := ix.byID[id]
	if !ok {
		return fmt.Errorf("move technician %d: %w", id, ErrNotFound)
	}
	it.e = cur.e // keep a concurrent Upsert's skills and area
	it.e.Point = p
	ix.unlink(cur)
	ix.link(it, geom)
	return nil
}

// Remove drops a technician; it reports whether one was there.
func (ix *Index) Remove(id int64) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	it, ok := ix.byID[id]
	if ok {
		ix.unlink(it)
	}
	return ok
}

func (ix *Index) newItem(e Entry) (*item, cellGeom, error) {
	c, err := CellOf(e.Point, ResBucket)
	if err != nil {
		return nil, cellGeom{}, err
	}
	g, err := ix.geom(c)
	if err != nil {
		return nil, cellGeom{}, err
	}
	lat := e.Point.Lat * degToRad
	return &item{e: e, latR: lat, lngR: e.Point.Lng * degToRad, cosLat: math.Cos(lat), bucket: c}, g, nil
}

// link and unlink run under the write lock.
func (ix *Index) link(it *item, g cellGeom) {
	b := ix.buckets[it.bucket]
	if b == nil {
		b = &bucket{geom: g}
		ix.buckets[it.bucket] = b
	}
	b.items = append(b.items, it)
	ix.byID[it.e.ID] = it
}

func (ix *Index) unlink(it *item) {
	delete(ix.byID, it.e.ID)
	b := ix.buckets[it.bucket]
	i := slices.Index(b.items, it)
	last := len(b.items) - 1
	b.items[i] = b.items[last]
	b.items[last] = nil
	b.items = b.items[:last]
	if len(b.items) == 0 {
		delete(ix.buckets, it.bucket)
	}
}

// geom returns a cell's centre and circumradius, from the cache when possible.
func (ix *Index) geom(c Cell) (cellGeom, error) {
	if v, ok := ix.geoms.Load(c); ok {
		return v.(cellGeom), nil
	}
	ll, err := h3.CellToLatLng(h3.Cell(c))
	if err != nil {
		return cellGeom{}, fmt.Errorf("centre of cell %s: %w", c, err)
	}
	bnd, err := h3.CellToBoundary(h3.Cell(c))
	if err != nil {
		return cellGeom{}, fmt.Errorf("boundary of cell %s: %w", c, err)
	}
	lat := ll.Lat * degToRad
	g := cellGeom{latR: lat, lngR: ll.Lng * degToRad, cosLat: math.Cos(lat)}
	for _, v := range bnd {
		vl := v.Lat * degToRad
		g.radiusKm = max(g.radiusKm, haversineKm(g.latR, g.lngR, g.cosLat, vl, v.Lng*degToRad, math.Cos(vl)))
	}
	// Edges are great-circle arcs only within an icosahedron face; 1% and a
	// metre of slack keep the bound safe for distorted cells and rounding.
	g.radiusKm = g.radiusKm*1.01 + 0.001
	if ix.geomCount.Load() < ix.maxGeoms {
		if _, loaded := ix.geoms.LoadOrStore(c, g); !loaded {
			ix.geomCount.Add(1)
		}
	}
	return g, nil
}

// NearbyOption adjusts a Nearby query.
type NearbyOption func(*nearbyConfig)

type nearbyConfig struct{ ignoreAreas bool }

// IgnoreAreas proposes technicians outside their service areas too, for a
// dispatcher who knows better than the map.
func IgnoreAreas() NearbyOption { return func(c *nearbyConfig) { c.ignoreAreas = true } }

// Nearby returns up to want technicians within maxRadiusKm of p that pass
// filter (nil passes all) and, unless IgnoreAreas, whose area contains p,
// nearest first (ties by ID) with their great-circle distances.
//
// It scans grid rings outwards from p's bucket and stops only when ring k's
// closest possible point (distance to each cell's centre minus its radius)
// is beyond the want-th best distance or the radius: a technician in ring
// k+1 can be nearer than one found in ring k, so finding want is not enough.
// Buckets that cannot beat the current want-th are skipped.
//
// filter runs under the index's read lock: it must not call the Index.
func (ix *Index) Nearby(p Point, filter func(Entry) bool, want int, maxRadiusKm float64, opts ...NearbyOption) ([]Candidate, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("nearby: %w", err)
	}
	if want <= 0 {
		return nil, fmt.Errorf("%w: nearby wants %d candidates", ErrInvalidArgument, want)
	}
	if !(maxRadiusKm > 0) || math.IsInf(maxRadiusKm, 0) {
		return nil, fmt.Errorf("%w: nearby radius %v km", ErrInvalidArgument, maxRadiusKm)
	}
	var cfg nearbyConfig
	for _, o := range opts {
		o(&cfg)
	}
	origin, err := CellOf(p, ResBucket)
	if err != nil {
		return nil, fmt.Errorf("nearby: %w", err)
	}
	var fine Cell // p's res-15 cell, for area membership; computed on first need
	latR, lngR := p.Lat*degToRad, p.Lng*degToRad
	cosLat := math.Cos(latR)

	best := make([]Candidate, 0, want)
	limit := maxRadiusKm
	limitA := havOf(limit)
	seen := 0
	type scanBucket struct {
		b  *bucket
		lb float64
	}
	var scan []scanBucket

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	total := len(ix.byID)
	for k := 0; seen < total; k++ {
		ring, err := h3.GridRing(h3.Cell(origin), k)
		if err != nil {
			return nil, fmt.Errorf("nearby %v: ring %d: %w", p, k, err)
		}
		ringLB := math.Inf(1)
		scan = scan[:0]
		for _, hc := range ring {
			c := Cell(hc)
			b := ix.buckets[c]
			var g cellGeom
			if b != nil {
				g = b.geom
			} else if g, err = ix.geom(c); err != nil {
				return nil, fmt.Errorf("nearby %v: %w", p, err)
			}
			lb := max(0, haversineKm(latR, lngR, cosLat, g.latR, g.lngR, g.cosLat)-g.radiusKm)
			ringLB = min(ringLB, lb)
			if b != nil {
				seen += len(b.items)
				if lb <= limit {
					scan = append(scan, scanBucket{b, lb})
				}
			}
		}
		if ringLB > limit {
			break // every cell at grid distance >= k is farther than the want-th best
		}
		for _, sb := range scan {
			if sb.lb > limit { // the limit shrank since the ring was measured
				continue
			}
			for _, it := range sb.b.items {
				if math.Abs(it.latR-latR)*earthRadiusKm > limit { // a latitude gap alone is too far: skip the trigonometry
					continue
				}
				// Compare haversine's a before paying for asin; the slack keeps exact ties for the full check.
				a := haversineA(latR, lngR, cosLat, it.latR, it.lngR, it.cosLat)
				if a > limitA*(1+1e-9) {
					continue
				}
				d := 2 * earthRadiusKm * math.Asin(math.Sqrt(a))
				if d > limit {
					continue
				}
				if len(best) == want && !less(d, it.e.ID, best[want-1]) {
					continue
				}
				if !cfg.ignoreAreas && !it.e.Area.IsEverywhere() {
					if fine == 0 {
						if fine, err = CellOf(p, h3.MaxResolution); err != nil {
							return nil, fmt.Errorf("nearby: %w", err)
						}
					}
					if !it.e.Area.ContainsCell(fine) {
						continue
					}
				}
				if filter != nil && !filter(it.e) {
					continue
				}
				best = insertCandidate(best, want, Candidate{Entry: it.e, DistanceKm: d})
				if len(best) == want {
					limit = min(maxRadiusKm, best[want-1].DistanceKm)
					limitA = havOf(limit)
				}
			}
		}
	}
	return best, nil
}

func less(d float64, id int64, c Candidate) bool {
	return d < c.DistanceKm || d == c.DistanceKm && id < c.Entry.ID
}

// insertCandidate keeps best sorted and at most want long; want is small,
// so insertion beats a heap.
func insertCandidate(best []Candidate, want int, c Candidate) []Candidate {
	i, _ := slices.BinarySearchFunc(best, c, func(a, b Candidate) int {
		if r := cmp.Compare(a.DistanceKm, b.DistanceKm); r != 0 {
			return r
		}
		return cmp.Compare(a.Entry.ID, b.Entry.ID)
	})
	if len(best) == want {
		best = best[:want-1]
	}
	return slices.Insert(best, i, c)
}
