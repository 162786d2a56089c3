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
