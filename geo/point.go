// Package geo is FieldFix's geography: validated points, H3 cells at three
// fixed resolutions, an in-memory index of technicians, service areas, a
// travel-time model with an optional routing-engine table (OSRM), and the
// GeoJSON the console's map draws.
//
// It is pure: no database, no clock (departure times are arguments), no
// environment, no package-level mutable state. The only I/O is the OSRM HTTP
// client, and only when a caller constructs one.
package geo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/uber/h3-go/v4"
)

// Error kinds. Every error this package returns wraps one of them, so callers
// (the API's problem+json table) can tell bad input from a failed dependency
// with errors.Is.
var (
	// ErrInvalidPoint: a coordinate out of range, not finite, or (0,0).
	ErrInvalidPoint = errors.New("invalid point")
	// ErrInvalidCell: a malformed H3 id, or a cell of the wrong resolution.
	ErrInvalidCell = errors.New("invalid cell")
	// ErrInvalidArgument: any other bad argument (counts, radii, model settings).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotFound: the technician is not in the index.
	ErrNotFound = errors.New("not found")
	// ErrRouting: the routing engine failed or could not route; callers may fall back to the model.
	ErrRouting = errors.New("routing engine")
)

// Resolutions. Average hexagon edge lengths (H3 tables): res 9 ≈ 0.20 km,
// res 7 ≈ 1.41 km, res 5 ≈ 9.85 km.
const (
	// ResPosition keys positions and the travel-matrix cache: a 0.2 km edge
	// (≈0.1 km²) is a city block, so snapping to it moves a point by at most
	// ~0.2 km, under a minute of driving.
	ResPosition = 9
	// ResBucket is the index's search bucket: a 1.4 km edge (≈5 km²) holds a
	// handful of technicians in a dense city, so the first one or two rings
	// usually answer a query and a ring costs little to scan.
	ResBucket = 7
	// ResRegion splits the dispatch problem: a 9.9 km edge (≈250 km²) is a
	// district one team can cover in a day, and 49 res-7 children keep the
	// console's map readable.
	ResRegion = 5
)

// earthRadiusKm is H3's mean Earth radius, so our distances agree with
// h3.GreatCircleDistanceKm.
const earthRadiusKm = 6371.007180918475

// Point is a WGS84 position in degrees.
type Point struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Validate refuses what a phone or a form can send by mistake: non-finite
// values, out-of-range values, and (0,0), which is what an unset location
// serialises to (it is in the Gulf of Guinea, where nobody books a repair).
func (p Point) Validate() error {
	switch {
	case math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0):
		return fmt.Errorf("%w: latitude %v is not a finite number", ErrInvalidPoint, p.Lat)
	case math.IsNaN(p.Lng) || math.IsInf(p.Lng, 0):
		return fmt.Errorf("%w: longitude %v is not a finite number", ErrInvalidPoint, p.Lng)
	case p.Lat < -90 || p.Lat > 90:
		return fmt.Errorf("%w: latitude %v is outside [-90, 90]", ErrInvalidPoint, p.Lat)
	case p.Lng < -180 || p.Lng > 180:
		return fmt.Errorf("%w: longitude %v is outside [-180, 180]", ErrInvalidPoint, p.Lng)
	case p.Lat == 0 && p.Lng == 0:
		return fmt.Errorf("%w: (0,0) is treated as a missing location", ErrInvalidPoint)
	}
	return nil
}

func (p Point) String() string { return fmt.Sprintf("(%.6f,%.6f)", p.Lat, p.Lng) }

// DistanceKm is the great-circle (haversine) distance in kilometres.
func DistanceKm(a, b Point) float64 {
	la, lb := a.Lat*degToRad, b.Lat*degToRad
	return haversineKm(la, a.Lng*degToRad, math.Cos(la), lb, b.Lng*degToRad, math.Cos(lb))
}

const degToRad = math.Pi / 180

// haversineKm takes radians and the cosines of the latitudes, which the
// index precomputes so a scan costs three trigonometric calls per entry.
func haversineKm(lat1, lng1, cos1, lat2, lng2, cos2 float64) float64 {
	return 2 * earthRadiusKm * asin(math.Sqrt(haversineA(lat1, lng1, cos1, lat2, lng2, cos2)))
}

// smallAngle bounds the arguments (radians; for asin, its sine) below which asin and sin take
// their Taylor series: 0.05 is 637 km for asin, every trip in a city, and the first term left
// out is under 1e-17 of the result, so they agree with math.Asin and math.Sin to the last bit
// or two (TestSeriesMatchMath) for less, which a booking's planning pays on every gap of every
// candidate's route.
const smallAngle = 0.05

func asin(x float64) float64 {
	if x < 0 || x > smallAngle {
		return math.Asin(x)
	}
	x2 := x * x
	return x * (1 + x2*(1.0/6+x2*(3.0/40+x2*(5.0/112+x2*(35.0/1152+x2*(63.0/2816+x2*231.0/13312))))))
}

func sin(y float64) float64 {
	if !(y >= -smallAngle && y <= smallAngle) {
		return math.Sin(y)
	}
	y2 := y * y
	return y * (1 - y2*(1.0/6-y2*(1.0/120-y2*(1.0/5040-y2*(1.0/362880-y2*(1.0/39916800))))))
}

// haversineA is the haversine of the central angle, monotonic in distance,
// so a scan can compare it with havOf(limit) and skip the asin.
func haversineA(lat1, lng1, cos1, lat2, lng2, cos2 float64) float64 {
	s1 := sin((lat2 - lat1) / 2)
	s2 := sin((lng2 - lng1) / 2)
	return min(1, s1*s1+cos1*cos2*s2*s2)
}

// havOf is haversineA's value at a distance of km (1 beyond half the globe).
func havOf(km float64) float64 {
	if km >= math.Pi*earthRadiusKm {
		return 1
	}
	s := math.Sin(km / (2 * earthRadiusKm))
	return s * s
}

// Cell is an H3 cell id. It marshals to and from H3's canonical lowercase
// hexadecimal string, which is what the API and the database carry.
type Cell uint64

// ParseCell accepts the canonical hexadecimal string of a valid H3 cell (any
// resolution, either case); anything else is ErrInvalidCell. Leading zeros
// are refused so one cell has one spelling in URLs and the database.
func ParseCell(s string) (Cell, error) {
	if s == "" || len(s) > 16 {
		return 0, fmt.Errorf("%w: %q is not a 1-16 digit hexadecimal H3 id", ErrInvalidCell, s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not hexadecimal", ErrInvalidCell, s)
	}
	c := Cell(v)
	if !strings.EqualFold(c.String(), s) {
		return 0, fmt.Errorf("%w: %q has leading zeros; write %s", ErrInvalidCell, s, c)
	}
	if !c.IsValid() {
		return 0, fmt.Errorf("%w: %q is not a valid H3 cell", ErrInvalidCell, s)
	}
	return c, nil
}

// ParseCellAt is ParseCell that also requires a resolution, e.g. ResRegion
// for the map's region parameter.
func ParseCellAt(s string, res int) (Cell, error) {
	c, err := ParseCell(s)
	if err != nil {
		return 0, err
	}
	if c.Resolution() != res {
		return 0, fmt.Errorf("%w: %s has resolution %d, want %d", ErrInvalidCell, s, c.Resolution(), res)
	}
	return c, nil
}

// IsValid reports whether c is a valid H3 cell (not an edge, vertex or junk).
func (c Cell) IsValid() bool { return h3.Cell(c).IsValid() }

// Resolution reads the resolution bits; meaningful only for valid cells.
func (c Cell) Resolution() int { return int(uint64(c) >> 52 & 0xF) }

func (c Cell) String() string { return strconv.FormatUint(uint64(c), 16) }

// MarshalText writes the canonical string.
func (c Cell) MarshalText() ([]byte, error) {
	if !c.IsValid() {
		return nil, fmt.Errorf("%w: %x", ErrInvalidCell, uint64(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText parses with ParseCell, so JSON input is validated on decode.
func (c *Cell) UnmarshalText(b []byte) error {
	v, err := ParseCell(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Parent returns the ancestor of c at res (c itself when res equals its own).
func (c Cell) Parent(res int) (Cell, error) {
	if !c.IsValid() {
		return 0, fmt.Errorf("parent of %x: %w", uint64(c), ErrInvalidCell)
	}
	if res < 0 || res > c.Resolution() {
		return 0, fmt.Errorf("%w: parent resolution %d of a resolution-%d cell", ErrInvalidArgument, res, c.Resolution())
	}
	return Cell(parentBits(uint64(c), res)), nil
}

// parentBits is H3's cellToParent done on the bits (set the resolution,
// fill the finer digits with 7), so the index's hot path avoids a cgo call.
// The caller guarantees 0 <= res <= resolution of h.
func parentBits(h uint64, res int) uint64 {
	h = h&^(0xF<<52) | uint64(res)<<52
	return h | (uint64(1)<<(uint(15-res)*3) - 1)
}

// Center is the cell's centre point.
func (c Cell) Center() (Point, error) {
	ll, err := h3.CellToLatLng(h3.Cell(c))
	if err != nil {
		return Point{}, fmt.Errorf("centre of %s: %w: %v", c, ErrInvalidCell, err)
	}
	return Point{Lat: ll.Lat, Lng: ll.Lng}, nil
}

// IsPentagon reports one of the 12 pentagons per resolution, where grid
// rings have five sides and one neighbour fewer.
func (c Cell) IsPentagon() bool { return h3.Cell(c).IsPentagon() }

// CellOf returns the cell containing p at resolution res.
func CellOf(p Point, res int) (Cell, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	if res < 0 || res > h3.MaxResolution {
		return 0, fmt.Errorf("%w: resolution %d is outside [0, %d]", ErrInvalidArgument, res, h3.MaxResolution)
	}
	c, err := h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lng), res)
	if err != nil {
		return 0, fmt.Errorf("cell of %v at resolution %d: %w: %v", p, res, ErrInvalidPoint, err)
	}
	return Cell(c), nil
}

// RegionOf returns the dispatch region (the ResRegion cell) containing p.
// It is the hierarchical parent of p's position cell, so a region's bookings
// are exactly those whose res-7 and res-9 cells descend from it.
func RegionOf(p Point) (Cell, error) {
	c, err := CellOf(p, ResPosition)
	if err != nil {
		return 0, err
	}
	return Cell(parentBits(uint64(c), ResRegion)), nil
}
