package geo

import (
	"fmt"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"
)

// Area is a technician's service area: a set of H3 cells kept compacted (a
// parent replaces all its children), so a district is stored as a handful of
// coarse cells instead of thousands of fine ones. The zero Area is
// "everywhere": a technician without an area is proposed anywhere.
//
// Membership is hierarchical: a point is inside when its finest (res 15) cell
// descends from one of the area's cells, which is exactly "inside one of the
// cells of the uncompacted area". Areas are immutable values, safe to share.
type Area struct {
	cells   []Cell // sorted, compacted, no cell descends from another
	resMask uint16 // bit r set when some cell has resolution r
}

// NewArea validates cells (any resolutions, duplicates and nested cells
// allowed) and compacts them. An empty list gives the everywhere area.
func NewArea(cells []Cell) (Area, error) {
	set := make(map[Cell]struct{}, len(cells))
	for _, c := range cells {
		if !c.IsValid() {
			return Area{}, fmt.Errorf("service area: %w: %x", ErrInvalidCell, uint64(c))
		}
		set[c] = struct{}{}
	}
	// Drop cells already covered by a coarser cell of the set.
	for c := range set {
		for r := c.Resolution() - 1; r >= 0; r-- {
			if _, ok := set[Cell(parentBits(uint64(c), r))]; ok {
				delete(set, c)
				break
			}
		}
	}
	// Compact finest first: a parent whose children are all present replaces them.
	// h3.CompactCells wants one resolution at a time, so merge level by level here.
	for r := h3.MaxResolution; r >= 1; r-- {
		groups := map[Cell][]Cell{}
		for c := range set {
			if c.Resolution() == r {
				p := Cell(parentBits(uint64(c), r-1))
				groups[p] = append(groups[p], c)
			}
		}
		for p, kids := range groups {
			if len(kids) < 6 { // a hexagon has 7 children, a pentagon 6
				continue
			}
			all, err := h3.Cell(p).ImmediateChildren()
			if err != nil {
				return Area{}, fmt.Errorf("service area: children of %s: %w: %v", p, ErrInvalidCell, err)
			}
			if len(kids) != len(all) {
				continue
			}
			for _, k := range kids {
				delete(set, k)
			}
			set[p] = struct{}{}
		}
	}
	a := Area{cells: make([]Cell, 0, len(set))}
	for c := range set {
		a.cells = append(a.cells, c)
		a.resMask |= 1 << c.Resolution()
	}
	slices.Sort(a.cells)
	return a, nil
}

// ParseArea parses the API's list of cell ids into an Area.
func ParseArea(ids []string) (Area, error) {
	cells := make([]Cell, 0, len(ids))
	for i, s := range ids {
		c, err := ParseCell(s)
		if err != nil {
			return Area{}, fmt.Errorf("service area cell %d: %w", i, err)
		}
		cells = append(cells, c)
	}
	return NewArea(cells)
}

// maxUncompacted bounds Uncompact's output (80 MB of cells).
const maxUncompacted = 10_000_000

// maxAreaRing keeps AreaAround from building an area of millions of cells by mistake.
const maxAreaRing = 300

// AreaAround covers the cells at res whose centres lie within radiusKm of
// center (the centre's own cell always). It is the admin's "30 km around
// home" shortcut.
func AreaAround(center Point, radiusKm float64, res int) (Area, error) {
	if !(radiusKm >= 0) || math.IsInf(radiusKm, 0) {
		return Area{}, fmt.Errorf("%w: area radius %v km", ErrInvalidArgument, radiusKm)
	}
	origin, err := CellOf(center, res)
	if err != nil {
		return Area{}, fmt.Errorf("area around %v: %w", center, err)
	}
	edge, err := h3.HexagonEdgeLengthAvgKm(res)
	if err != nil {
		return Area{}, fmt.Errorf("%w: resolution %d", ErrInvalidArgument, res)
	}
	// Neighbour centres are ~√3·edge apart; halve it so distortion (up to ~2×
	// in cell size) cannot leave a qualifying cell outside the disk.
	k := int(math.Ceil(radiusKm/(math.Sqrt(3)*edge/2))) + 1
	if k > maxAreaRing {
		return Area{}, fmt.Errorf("%w: radius %.1f km is too large for resolution %d; use a coarser resolution", ErrInvalidArgument, radiusKm, res)
	}
	disk, err := h3.GridDisk(h3.Cell(origin), k)
	if err != nil {
		return Area{}, fmt.Errorf("area around %v: grid disk: %w", center, err)
	}
	cells := make([]Cell, 0, len(disk))
	for _, c := range disk {
		ctr, err := Cell(c).Center()
		if err != nil {
			return Area{}, err
		}
		if Cell(c) == origin || DistanceKm(center, ctr) <= radiusKm {
			cells = append(cells, Cell(c))
		}
	}
	return NewArea(cells)
}

// IsEverywhere reports the zero area (no restriction).
func (a Area) IsEverywhere() bool { return len(a.cells) == 0 }

// Cells returns the compacted cells, sorted; the caller may keep the slice.
func (a Area) Cells() []Cell { return slices.Clone(a.cells) }

// Strings returns the compacted cell ids, as stored and as the API shows them.
func (a Area) Strings() []string {
	out := make([]string, len(a.cells))
	for i, c := range a.cells {
		out[i] = c.String()
	}
	return out
}

// Contains reports whether p is inside the area. The everywhere area
// contains every valid point; an invalid point is inside no area.
func (a Area) Contains(p Point) bool {
	if p.Validate() != nil {
		return false
	}
	if a.IsEverywhere() {
		return true
	}
	c, err := CellOf(p, h3.MaxResolution)
	if err != nil {
		return false
	}
	return a.ContainsCell(c)
}

// ContainsCell reports whether c lies inside one of the area's cells
// (c itself or one of its ancestors is in the area).
func (a Area) ContainsCell(c Cell) bool {
	if a.IsEverywhere() {
		return true
	}
	res := c.Resolution()
	for r := 0; r <= res; r++ {
		if a.resMask&(1<<r) == 0 {
			continue
		}
		if _, ok := slices.BinarySearch(a.cells, Cell(parentBits(uint64(c), r))); ok {
			return true
		}
	}
	return false
}

// Uncompact lists the area's cells at res, which must be at least the
// finest resolution stored. The everywhere area has no finite list: error.
func (a Area) Uncompact(res int) ([]Cell, error) {
	if a.IsEverywhere() {
		return nil, fmt.Errorf("%w: the everywhere area cannot be uncompacted", ErrInvalidArgument)
	}
	if res < 0 || res > h3.MaxResolution {
		return nil, fmt.Errorf("%w: resolution %d", ErrInvalidArgument, res)
	}
	in := make([]h3.Cell, len(a.cells))
	total := 0.0
	for i, c := range a.cells {
		if c.Resolution() > res {
			return nil, fmt.Errorf("%w: area holds resolution-%d cells, finer than %d", ErrInvalidArgument, c.Resolution(), res)
		}
		total += math.Pow(7, float64(res-c.Resolution()))
		in[i] = h3.Cell(c)
	}
	if total > maxUncompacted {
		return nil, fmt.Errorf("%w: area has about %.0f cells at resolution %d (limit %d)", ErrInvalidArgument, total, res, maxUncompacted)
	}
	out, err := h3.UncompactCells(in, res)
	if err != nil {
		return nil, fmt.Errorf("uncompact area to resolution %d: %w", res, err)
	}
	cells := make([]Cell, len(out))
	for i, c := range out {
		cells[i] = Cell(c)
	}
	slices.Sort(cells)
	return cells, nil
}
