package geo

import (
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
	// growing at maxGeoms (each entry is ~150 bytes).
	geoms     sync.Map // Cell → *cellGeom
	geomCount atomic.Int64
	maxGeoms  int64

	// rings caches, per query cell, the grid rings around it with their
	// cells' geometry, so a query makes no cgo call for a ring some query
	// from the same cell already made. Rings never change; a cell's entry
	// is replaced by a longer one when a query goes further out. The cache
	// stops growing at maxRingCells cells (16 bytes each, plus the geometry
	// of cells geoms no longer holds).
	rings         sync.Map // Cell → *ringSet
	ringCellCount atomic.Int64
	maxRingCells  int64

	// skillBits numbers the first maxSkillBits distinct skill names seen, so
	// RequireSkills compares bitmasks instead of strings. Names are never
	// forgotten; a name beyond the limit gets no bit, and entries with such a
	// name are checked by string. Written under the write lock.
	skillBits map[string]uint8
}

// maxSkillBits is the number of skill names RequireSkills can test by bitmask.
const maxSkillBits = 64

type item struct {
	e       Entry
	latR    float64
	lngR    float64
	cosLat  float64
	x, y, z float64 // unit vector of the position
	bucket  Cell
	idx     int // position in the bucket's slices; under the write lock
}

// bucket keeps its items and, in arrays parallel to items (index i
// describes items[i]), what a scan tests before touching an item: its unit
// vector, skill bits and flags. A scan reads contiguous memory and
// dereferences only the items that pass. link and unlink keep them in step.
type bucket struct {
	geom    cellGeom
	items   []*item
	x, y, z []float64
	skills  []uint64 // bit n: the entry has the skill numbered n in Index.skillBits
	flags   []uint8  // itemHasArea | itemRareSkill
}

const (
	itemHasArea   uint8 = 1 << iota // the entry's Area is not everywhere
	itemRareSkill                   // the entry has a skill without a bit: RequireSkills checks its strings
)

// cellGeom is a cell's centre (radians) and circumradius: no point of the
// cell is farther than radiusKm from the centre.
type cellGeom struct {
	latR, lngR, cosLat float64
	radiusKm           float64
	x, y, z            float64 // unit vector of the centre
	cosR, sinR         float64 // of the angle radiusKm subtends
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		byID:         map[int64]*item{},
		buckets:      map[Cell]*bucket{},
		maxGeoms:     1 << 20,
		maxRingCells: 1 << 18,
		skillBits:    map[string]uint8{},
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
	lat, lng := e.Point.Lat*degToRad, e.Point.Lng*degToRad
	it := &item{e: e, latR: lat, lngR: lng, cosLat: math.Cos(lat), bucket: c}
	it.x, it.y, it.z = unitVector(lat, lng, it.cosLat)
	return it, g, nil
}

// link and unlink run under the write lock.
func (ix *Index) link(it *item, g cellGeom) {
	b := ix.buckets[it.bucket]
	if b == nil {
		b = &bucket{geom: g}
		ix.buckets[it.bucket] = b
	}
	var flags uint8
	if !it.e.Area.IsEverywhere() {
		flags |= itemHasArea
	}
	mask, rare := ix.skillMask(it.e.Skills)
	if rare {
		flags |= itemRareSkill
	}
	it.idx = len(b.items)
	b.items = append(b.items, it)
	b.x = append(b.x, it.x)
	b.y = append(b.y, it.y)
	b.z = append(b.z, it.z)
	b.skills = append(b.skills, mask)
	b.flags = append(b.flags, flags)
	ix.byID[it.e.ID] = it
}

func (ix *Index) unlink(it *item) {
	delete(ix.byID, it.e.ID)
	b := ix.buckets[it.bucket]
	i, last := it.idx, len(b.items)-1
	moved := b.items[last]
	moved.idx = i
	b.items[i] = moved
	b.x[i] = b.x[last]
	b.y[i] = b.y[last]
	b.z[i] = b.z[last]
	b.skills[i] = b.skills[last]
	b.flags[i] = b.flags[last]
	b.items[last] = nil
	b.items = b.items[:last]
	b.x = b.x[:last]
	b.y = b.y[:last]
	b.z = b.z[:last]
	b.skills = b.skills[:last]
	b.flags = b.flags[:last]
	if len(b.items) == 0 {
		delete(ix.buckets, it.bucket)
	}
}

// skillMask numbers skills not seen before, while bits remain, and returns
// their bits; rare reports a skill left without one. Under the write lock.
func (ix *Index) skillMask(skills []string) (mask uint64, rare bool) {
	for _, s := range skills {
		n, ok := ix.skillBits[s]
		if !ok {
			if len(ix.skillBits) == maxSkillBits {
				rare = true
				continue
			}
			n = uint8(len(ix.skillBits))
			ix.skillBits[s] = n
		}
		mask |= 1 << n
	}
	return mask, rare
}

// geom returns a cell's centre and circumradius, from the cache when possible.
func (ix *Index) geom(c Cell) (cellGeom, error) {
	g, err := ix.geomRef(c)
	if err != nil {
		return cellGeom{}, err
	}
	return *g, nil
}

// geomRef is geom's value, shared with the cache when it holds the cell;
// it must not be modified.
func (ix *Index) geomRef(c Cell) (*cellGeom, error) {
	if v, ok := ix.geoms.Load(c); ok {
		return v.(*cellGeom), nil
	}
	ll, err := h3.CellToLatLng(h3.Cell(c))
	if err != nil {
		return nil, fmt.Errorf("centre of cell %s: %w", c, err)
	}
	bnd, err := h3.CellToBoundary(h3.Cell(c))
	if err != nil {
		return nil, fmt.Errorf("boundary of cell %s: %w", c, err)
	}
	lat := ll.Lat * degToRad
	g := &cellGeom{latR: lat, lngR: ll.Lng * degToRad, cosLat: math.Cos(lat)}
	for _, v := range bnd {
		vl := v.Lat * degToRad
		g.radiusKm = max(g.radiusKm, haversineKm(g.latR, g.lngR, g.cosLat, vl, v.Lng*degToRad, math.Cos(vl)))
	}
	// Edges are great-circle arcs only within an icosahedron face; 1% and a
	// metre of slack keep the bound safe for distorted cells and rounding.
	g.radiusKm = g.radiusKm*1.01 + 0.001
	g.x, g.y, g.z = unitVector(g.latR, g.lngR, g.cosLat)
	g.sinR, g.cosR = math.Sincos(g.radiusKm / earthRadiusKm)
	if ix.geomCount.Load() < ix.maxGeoms {
		if v, loaded := ix.geoms.LoadOrStore(c, g); loaded {
			g = v.(*cellGeom)
		} else {
			ix.geomCount.Add(1)
		}
	}
	return g, nil
}

// ringSet is the grid rings 0..len(rings)-1 around a cell, in GridRing's
// order; immutable once in Index.rings.
type ringSet struct{ rings [][]ringCell }

type ringCell struct {
	c Cell
	g *cellGeom // nil: look it up when needed
}

// ring returns the cells at grid distance k from origin, from rs (the
// cached rings of origin, or nil) when it holds them. A ring it computes
// goes to the cache with every cell's geometry while the cache has room;
// otherwise the geometry is left for the caller to look up.
func (ix *Index) ring(origin Cell, k int, rs *ringSet) ([]ringCell, *ringSet, error) {
	if rs != nil && k < len(rs.rings) {
		return rs.rings[k], rs, nil
	}
	if v, ok := ix.rings.Load(origin); ok { // another query may have gone further
		if cur := v.(*ringSet); k < len(cur.rings) {
			return cur.rings[k], cur, nil
		}
	}
	hs, err := h3.GridRing(h3.Cell(origin), k)
	if err != nil {
		return nil, rs, err
	}
	ring := make([]ringCell, len(hs))
	for i, h := range hs {
		ring[i].c = Cell(h)
	}
	have := 0
	if rs != nil {
		have = len(rs.rings)
	}
	if k != have || ix.ringCellCount.Load() >= ix.maxRingCells {
		return ring, rs, nil
	}
	for i := range ring {
		if ring[i].g, err = ix.geomRef(ring[i].c); err != nil {
			ring[i].g = nil // the caller meets the error if it needs the cell
		}
	}
	next := &ringSet{rings: make([][]ringCell, k+1)}
	if rs != nil {
		copy(next.rings, rs.rings)
	}
	next.rings[k] = ring
	ix.rings.Store(origin, next)
	ix.ringCellCount.Add(int64(len(ring)))
	return ring, next, nil
}

// NearbyOption adjusts a Nearby query.
type NearbyOption func(*nearbyConfig)

type nearbyConfig struct {
	ignoreAreas bool
	skills      []string
}

// IgnoreAreas proposes technicians outside their service areas too, for a
// dispatcher who knows better than the map.
func IgnoreAreas() NearbyOption { return func(c *nearbyConfig) { c.ignoreAreas = true } }

// RequireSkills proposes only technicians that have every one of skills
// (exact names, as Entry.HasSkill compares them). The result is the same as
// with a filter that also checks e.HasSkill for each skill, but cheaper: the
// index keeps each technician's skills as bits and drops the others before
// computing their distance or calling filter, which still runs, on the
// technicians that pass. Several RequireSkills add up; none, or no skills,
// require nothing. The skills slice is read when Nearby runs.
//
// The first 64 distinct skill names an Index sees get bits; technicians
// with a later name, and queries for one, are checked by string, so the
// result never depends on the bits.
func RequireSkills(skills ...string) NearbyOption {
	return func(c *nearbyConfig) {
		if c.skills == nil {
			c.skills = skills
		} else {
			c.skills = append(slices.Clip(c.skills), skills...)
		}
	}
}

// hit is a candidate while Nearby looks for better ones; the Entry is copied
// out only for the final ones.
type hit struct {
	d  float64
	id int64
	it *item
}

// unitVector is the point on the unit sphere at lat, lng (radians).
func unitVector(latR, lngR, cosLat float64) (x, y, z float64) {
	sinLng, cosLng := math.Sincos(lngR)
	return cosLat * cosLng, cosLat * sinLng, math.Sin(latR)
}

// cosMargin is how near the cosine of a distance must be to the cosine of the
// limit for Nearby to decide by the haversine, as before, rather than by a dot
// product of unit vectors. Rounding moves either cosine by ~1e-15; the margin
// is a band of a few millimetres around the limit.
const cosMargin = 1e-12

// maxDotKm bounds the limits judged by dot products: cos is monotonic only up
// to half the globe, and a limit plus a cell's radius must stay below it.
const maxDotKm = 10_000

// angleLimit is Nearby's distance limit as cosines of the central angle.
type angleLimit struct {
	cos, sin float64
	outDot   float64 // a dot product below it is certainly beyond the limit
	ok       bool    // cos and sin are usable; otherwise every decision takes the haversine
}

func newAngleLimit(km float64) angleLimit {
	if !(km < maxDotKm) {
		return angleLimit{outDot: math.Inf(-1)}
	}
	s, c := math.Sincos(km / earthRadiusKm)
	return angleLimit{cos: c, sin: s, outDot: c - cosMargin, ok: true}
}

// cellWithin decides, when it can (sure) without trigonometry, whether a
// cell's lower bound max(0, d(p, centre) − radius) is within the limit:
// d − r ≤ limit is θ ≤ θlimit + θr, that is dot ≥ cos(θlimit + θr).
func (al angleLimit) cellWithin(dot float64, g *cellGeom) (within, sure bool) {
	if !al.ok {
		return false, false
	}
	thr := al.cos*g.cosR - al.sin*g.sinR
	if dot > thr+cosMargin {
		return true, true
	}
	return false, dot < thr-cosMargin
}

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
// filter runs under the index's read lock: it must not call the Index. It
// is called only for technicians that pass the index's own checks
// (RequireSkills, distance, area), and may be called for one that a final
// distance or tie check then drops, so it should be a pure predicate.
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
	qx, qy, qz := unitVector(latR, lngR, cosLat)
	checkAreas := !cfg.ignoreAreas

	// Every decision below is the one the haversine would make: the dot
	// product of unit vectors (the cosine of the distance) decides only
	// outside a band of cosMargin around the limit, where rounding cannot
	// matter, and the haversine decides inside it.
	var bestBuf [32]hit // want is usually small: no allocation
	best := bestBuf[:0]
	limit := maxRadiusKm
	limitA := havOf(limit) * (1 + 1e-9) // the slack keeps exact ties for the full check
	al := newAngleLimit(limit)
	seen := 0
	type scanBucket struct {
		b   *bucket
		dot float64 // with the centre
		lb  float64 // NaN until needed
	}
	var scanBuf [64]scanBucket
	scan := scanBuf[:0]

	ix.mu.RLock()
	defer ix.mu.RUnlock()

	// Required skills as bits. An entry lacking one of the bits is dropped
	// unless it has a skill without a bit (itemRareSkill): then, as when a
	// required skill has no bit (reqRare), its strings decide.
	var req uint64
	reqRare := false
	for _, s := range cfg.skills {
		if n, ok := ix.skillBits[s]; ok {
			req |= 1 << n
		} else {
			reqRare = true
		}
	}

	// lbWithin is lb <= limit for a cell, by dot product when sure.
	lbWithin := func(g *cellGeom, dot float64, lb *float64) bool {
		if in, sure := al.cellWithin(dot, g); sure {
			return in
		}
		if math.IsNaN(*lb) {
			*lb = max(0, haversineKm(latR, lngR, cosLat, g.latR, g.lngR, g.cosLat)-g.radiusKm)
		}
		return *lb <= limit
	}

	total := len(ix.byID)
	var rs *ringSet
	if v, ok := ix.rings.Load(origin); ok {
		rs = v.(*ringSet)
	}
	for k := 0; seen < total; k++ {
		var ring []ringCell
		if ring, rs, err = ix.ring(origin, k, rs); err != nil {
			return nil, fmt.Errorf("nearby %v: ring %d: %w", p, k, err)
		}
		// The ring goes on when one of its cells may hold a point within the
		// limit; once one does, empty cells need no measuring.
		ringIn := false
		scan = scan[:0]
		for _, rc := range ring {
			b := ix.buckets[rc.c]
			if b == nil && ringIn {
				continue
			}
			g := rc.g
			if b != nil {
				g = &b.geom
				seen += len(b.items)
			} else if g == nil {
				if g, err = ix.geomRef(rc.c); err != nil {
					return nil, fmt.Errorf("nearby %v: %w", p, err)
				}
			}
			dot := qx*g.x + qy*g.y + qz*g.z
			lb := math.NaN()
			if lbWithin(g, dot, &lb) {
				ringIn = true
				if b != nil {
					scan = append(scan, scanBucket{b, dot, lb})
				}
			}
		}
		if !ringIn {
			break // every cell at grid distance >= k is farther than the want-th best
		}
		for si := range scan {
			sb := &scan[si]
			b := sb.b
			if len(best) == want && !lbWithin(&b.geom, sb.dot, &sb.lb) { // the limit shrank since the ring was measured
				continue
			}
			xs := b.x
			ys, zs, skills, flags := b.y[:len(xs)], b.z[:len(xs)], b.skills[:len(xs)], b.flags[:len(xs)]
			for i, x := range xs {
				if skills[i]&req != req || reqRare {
					if flags[i]&itemRareSkill == 0 || !hasSkills(b.items[i].e.Skills, cfg.skills) {
						continue
					}
				}
				if qx*x+qy*ys[i]+qz*zs[i] < al.outDot { // certainly beyond the limit
					continue
				}
				it := b.items[i]
				if math.Abs(it.latR-latR)*earthRadiusKm > limit { // a latitude gap alone is too far
					continue
				}
				// The area and the filter do not depend on the distance, so
				// they run before the trigonometry: most entries in range
				// fail them.
				if checkAreas && flags[i]&itemHasArea != 0 {
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
				// Compare haversine's a before paying for asin.
				a := haversineA(latR, lngR, cosLat, it.latR, it.lngR, it.cosLat)
				if a > limitA {
					continue
				}
				d := 2 * earthRadiusKm * asin(math.Sqrt(a))
				if d > limit {
					continue
				}
				if len(best) == want && !less(d, it.e.ID, best[want-1]) {
					continue
				}
				best = insertHit(best, want, hit{d, it.e.ID, it})
				if len(best) == want && best[want-1].d < limit {
					limit = best[want-1].d
					limitA = havOf(limit) * (1 + 1e-9)
					al = newAngleLimit(limit)
				}
			}
		}
	}
	out := make([]Candidate, len(best))
	for i, h := range best {
		out[i] = Candidate{Entry: h.it.e, DistanceKm: h.d}
	}
	return out, nil
}

// hasSkills reports whether have holds every one of need.
func hasSkills(have, need []string) bool {
	for _, s := range need {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

func less(d float64, id int64, h hit) bool {
	return d < h.d || d == h.d && id < h.id
}

// insertHit keeps best sorted and at most want long; want is small, so
// insertion beats a heap.
func insertHit(best []hit, want int, h hit) []hit {
	i := len(best)
	for i > 0 && less(h.d, h.id, best[i-1]) {
		i--
	}
	if len(best) == want {
		best = best[:want-1]
	}
	return slices.Insert(best, i, h)
}
