package geo

import (
	"fmt"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"
)

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
