package geo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// SpeedBand is a time-of-day window, in the model's local wall clock, with
// its own average road speed: [Start, End) as offsets from midnight.
type SpeedBand struct {
	Start    time.Duration
	End      time.Duration
	SpeedKmh float64
}

// TravelModel estimates driving time without a routing engine:
// great-circle distance × Circuity ÷ the speed of the hour. It is the
// fallback when OSRM is not configured or fails, so it must be roughly right
// everywhere rather than exact anywhere.
type TravelModel struct {
	// Circuity turns straight-line distance into road distance (urban road
	// networks measure 1.2–1.4; default 1.35).
	Circuity float64
	// SpeedKmh is the speed outside the bands (default 30 km/h, urban
	// door-to-door including parking).
	SpeedKmh float64
	// Bands slow the rush hours (default 07:00–10:00 at 18 km/h and
	// 16:00–19:00 at 20 km/h). They must not overlap.
	Bands []SpeedBand
	// Location is the wall clock the bands refer to; nil means departAt's own
	// location, which the caller sets to the region's time zone.
	Location *time.Location
	// Slot is the width of the matrix cache's time slots (default 15 min):
	// departures within one slot share cached figures.
	Slot time.Duration
}

// DefaultTravelModel returns the documented defaults.
func DefaultTravelModel() TravelModel {
	return TravelModel{
		Circuity: 1.35,
		SpeedKmh: 30,
		Bands: []SpeedBand{
			{Start: 7 * time.Hour, End: 10 * time.Hour, SpeedKmh: 18},
			{Start: 16 * time.Hour, End: 19 * time.Hour, SpeedKmh: 20},
		},
		Slot: 15 * time.Minute,
	}
}

// Validate checks a configured model; ErrInvalidArgument on any bad field.
func (m TravelModel) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("travel model: %w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	if !(m.Circuity >= 1) || math.IsInf(m.Circuity, 0) {
		return bad("circuity %v must be a finite number >= 1", m.Circuity)
	}
	if !(m.SpeedKmh > 0) || math.IsInf(m.SpeedKmh, 0) {
		return bad("speed %v km/h must be positive", m.SpeedKmh)
	}
	if m.Slot < 0 || m.Slot > 24*time.Hour {
		return bad("slot %v must be within a day", m.Slot)
	}
	bands := slices.Clone(m.Bands)
	slices.SortFunc(bands, func(a, b SpeedBand) int { return int(a.Start - b.Start) })
	for i, b := range bands {
		if b.Start < 0 || b.End > 24*time.Hour || b.Start >= b.End {
			return bad("band %v-%v must satisfy 0 <= start < end <= 24h", b.Start, b.End)
		}
		if !(b.SpeedKmh > 0) || math.IsInf(b.SpeedKmh, 0) {
			return bad("band %v-%v speed %v km/h must be positive", b.Start, b.End, b.SpeedKmh)
		}
		if i > 0 && b.Start < bands[i-1].End {
			return bad("bands %v-%v and %v-%v overlap", bands[i-1].Start, bands[i-1].End, b.Start, b.End)
		}
	}
	return nil
}

// speedWindow returns the speed at t and when it next changes.
func (m TravelModel) speedWindow(t time.Time) (float64, time.Time) {
	if m.Location != nil {
		t = t.In(m.Location)
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	wall := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
	// time.Date normalises the nanoseconds into wall-clock fields, so band
	// edges stay at their wall-clock hour on daylight-saving days.
	at := func(off time.Duration) time.Time { return time.Date(y, mo, d, 0, 0, 0, int(off), t.Location()) }
	speed, next := m.SpeedKmh, 24*time.Hour
	for _, b := range m.Bands {
		if wall >= b.Start && wall < b.End {
			return b.SpeedKmh, at(b.End)
		}
		if b.Start > wall && b.Start < next {
			next = b.Start
		}
	}
	return speed, at(next)
}

// SpeedAt is the model's speed for a departure at t.
func (m TravelModel) SpeedAt(t time.Time) float64 {
	s, _ := m.speedWindow(t)
	return s
}

// Duration is the driving time from one point to another leaving at
// departAt. Speed changes at band edges during the trip, so leaving later
// never arrives earlier (the FIFO property solvers rely on). Points are
// assumed valid (Table and Matrix check them); a non-finite distance yields 0.
func (m TravelModel) Duration(from, to Point, departAt time.Time) time.Duration {
	return m.durationKm(DistanceKm(from, to)*m.Circuity, departAt)
}

func (m TravelModel) durationKm(km float64, departAt time.Time) time.Duration {
	if !(km > 0) {
		return 0
	}
	t := departAt
	var elapsed time.Duration
	for range 64 { // bands change a few times a day; 64 windows is days of driving
		speed, until := m.speedWindow(t)
		window := until.Sub(t)
		reach := speed * window.Hours()
		if reach >= km || window <= 0 {
			return elapsed + time.Duration(km/speed*float64(time.Hour))
		}
		km -= reach
		elapsed += window
		t = until
	}
	return elapsed + time.Duration(km/m.SpeedKmh*float64(time.Hour))
}

// Table implements TableService with the model, so the model can stand in
// for OSRM anywhere.
func (m TravelModel) Table(ctx context.Context, sources, destinations []Point, departAt time.Time) ([][]float64, error) {
	if err := validatePoints(sources, destinations); err != nil {
		return nil, fmt.Errorf("model table: %w", err)
	}
	out := make([][]float64, len(sources))
	for i, s := range sources {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("model table: %w", ctx.Err())
		}
		row := make([]float64, len(destinations))
		for j, d := range destinations {
			row[j] = m.Duration(s, d, departAt).Seconds()
		}
		out[i] = row
	}
	return out, nil
}

// TimeSlot groups departures whose figures may be shared: the departure's
// wall-clock slot of the day (every day has the same bands).
func (m TravelModel) TimeSlot(departAt time.Time) (int64, time.Time) {
	if m.Slot <= 0 {
		return departAt.UnixNano(), departAt
	}
	if m.Location != nil {
		departAt = departAt.In(m.Location)
	}
	y, mo, d := departAt.Date()
	h, mi, s := departAt.Clock()
	wall := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
	n := wall / m.Slot
	return int64(n), time.Date(y, mo, d, 0, 0, 0, int(n*m.Slot), departAt.Location())
}

func validatePoints(lists ...[]Point) error {
	for _, l := range lists {
		for i, p := range l {
			if err := p.Validate(); err != nil {
				return fmt.Errorf("point %d: %w", i, err)
			}
		}
	}
	return nil
}

// TableService gives driving times in seconds from every source to every
// destination: OSRM's /table, the TravelModel, or a fallback of the two.
type TableService interface {
	Table(ctx context.Context, sources, destinations []Point, departAt time.Time) ([][]float64, error)
}

// TimeSlotter is implemented by tables whose figures depend on the time of
// day. TimeSlot returns the cache slot of departAt and the instant the
// slot's figures are computed for; tables without it are time-independent.
type TimeSlotter interface {
	TimeSlot(departAt time.Time) (slot int64, at time.Time)
}

// MatrixBuilder builds the solver's travel-time matrices from a
// TableService, caching figures by (res-9 cell, res-9 cell, time slot) so a
// re-optimisation every few minutes asks OSRM only about new places.
// Points are snapped to their cell centres: figures are exact to a city
// block (~0.2 km), and two points in one cell are timed point to point by
// the model instead. Safe for concurrent use.
type MatrixBuilder struct {
	table TableService
	model TravelModel
	cache *durationCache // nil when table is the model: recomputing beats a map lookup
}

// NewMatrixBuilder caches up to cacheSize cell pairs (≈ 40 bytes each;
// 0 picks 1<<20). A matrix of more than cacheSize/2 pairs (≈ 700 points by
// default) evicts its own first half, so size the cache for the largest
// matrix. model times same-cell pairs and must be valid; table is typically
// a FallbackTable over OSRM, or the model itself, which is not cached
// (computing a pair costs less than looking it up).
func NewMatrixBuilder(table TableService, model TravelModel, cacheSize int) (*MatrixBuilder, error) {
	if table == nil {
		return nil, fmt.Errorf("matrix builder: %w: nil table service", ErrInvalidArgument)
	}
	if err := model.Validate(); err != nil {
		return nil, fmt.Errorf("matrix builder: %w", err)
	}
	if cacheSize < 0 {
		return nil, fmt.Errorf("matrix builder: %w: cache size %d", ErrInvalidArgument, cacheSize)
	}
	if cacheSize == 0 {
		cacheSize = 1 << 20
	}
	b := &MatrixBuilder{table: table, model: model}
	if _, isModel := table.(TravelModel); !isModel {
		b.cache = newDurationCache(cacheSize)
	}
	return b, nil
}

// Matrix returns travel times in seconds, m[i][j] from points[i] to
// points[j] leaving at departAt; the diagonal is 0.
func (b *MatrixBuilder) Matrix(ctx context.Context, points []Point, departAt time.Time) ([][]float64, error) {
	if err := validatePoints(points); err != nil {
		return nil, fmt.Errorf("travel matrix: %w", err)
	}
	var slot int64
	at := departAt
	if ts, ok := b.table.(TimeSlotter); ok {
		slot, at = ts.TimeSlot(departAt)
	}
	// Distinct cells, and which one each point falls in.
	cellIdx := make([]int, len(points))
	pos := map[Cell]int{}
	var cells []Cell
	var centres []Point
	for i, p := range points {
		c, err := CellOf(p, ResPosition)
		if err != nil {
			return nil, fmt.Errorf("travel matrix: point %d: %w", i, err)
		}
		k, ok := pos[c]
		if !ok {
			ctr, err := c.Center()
			if err != nil {
				return nil, fmt.Errorf("travel matrix: %w", err)
			}
			k = len(cells)
			pos[c] = k
			cells = append(cells, c)
			centres = append(centres, ctr)
		}
		cellIdx[i] = k
	}
	n := len(cells)
	dur := make([]float64, n*n) // cell × cell
	if b.cache == nil {
		m, ok := b.table.(TravelModel)
		if !ok {
			return nil, fmt.Errorf("travel matrix: %w: uncached table is not the model", ErrInvalidArgument)
		}
		for i := range n {
			for j := range n {
				if i != j {
					dur[i*n+j] = float64(float32(m.Duration(centres[i], centres[j], at).Seconds()))
				}
			}
		}
	} else if missing := b.cache.lookup(cells, slot, dur); len(missing) > 0 {
		if err := b.fill(ctx, cells, centres, missing, slot, at, dur); err != nil {
			return nil, err
		}
	}
	out := make([][]float64, len(points))
	for i := range points {
		row := make([]float64, len(points))
		ci := cellIdx[i]
		for j := range points {
			cj := cellIdx[j]
			switch {
			case i == j:
			case ci == cj:
				row[j] = b.model.Duration(points[i], points[j], at).Seconds()
			default:
				row[j] = dur[ci*n+cj]
			}
		}
		out[i] = row
	}
	return out, nil
}

// fill asks the table for the missing pairs in at most three requests:
// new cells (nothing cached) to every cell, old cells to new ones, and the
// rows × columns of any other gaps (after partial eviction).
func (b *MatrixBuilder) fill(ctx context.Context, cells []Cell, centres []Point, missing [][2]int, slot int64, at time.Time, dur []float64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("travel matrix: %w", err)
	}
	n := len(cells)
	rowMissing := make([]int, n)
	for _, m := range missing {
		rowMissing[m[0]]++
	}
	isNew := make([]bool, n)
	var fresh, old []int
	for i := range n {
		if n > 1 && rowMissing[i] == n-1 {
			isNew[i] = true
			fresh = append(fresh, i)
		} else {
			old = append(old, i)
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var srcs, dsts []int
	srcSeen, dstSeen := make([]bool, n), make([]bool, n)
	for _, m := range missing {
		if isNew[m[0]] || isNew[m[1]] {
			continue
		}
		if !srcSeen[m[0]] {
			srcSeen[m[0]] = true
			srcs = append(srcs, m[0])
		}
		if !dstSeen[m[1]] {
			dstSeen[m[1]] = true
			dsts = append(dsts, m[1])
		}
	}
	for _, req := range [][2][]int{{fresh, all}, {old, fresh}, {srcs, dsts}} {
		if len(req[0]) == 0 || len(req[1]) == 0 {
			continue
		}
		if err := b.request(ctx, cells, centres, req[0], req[1], slot, at, dur); err != nil {
			return err
		}
	}
	return nil
}

func (b *MatrixBuilder) request(ctx context.Context, cells []Cell, centres []Point, srcs, dsts []int, slot int64, at time.Time, dur []float64) error {
	n := len(cells)
	sp, dp := make([]Point, len(srcs)), make([]Point, len(dsts))
	for i, s := range srcs {
		sp[i] = centres[s]
	}
	for j, d := range dsts {
		dp[j] = centres[d]
	}
	t, err := b.table.Table(ctx, sp, dp, at)
	if err != nil {
		return fmt.Errorf("travel matrix of %d cells: %w", n, err)
	}
	if len(t) != len(srcs) {
		return fmt.Errorf("travel matrix: %w: table returned %d rows for %d sources", ErrRouting, len(t), len(srcs))
	}
	for i, s := range srcs {
		if len(t[i]) != len(dsts) {
			return fmt.Errorf("travel matrix: %w: table row %d has %d columns for %d destinations", ErrRouting, i, len(t[i]), len(dsts))
		}
		for j, d := range dsts {
			v := t[i][j]
			if !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("travel matrix: %w: table gave %v s from cell %s to %s", ErrRouting, v, cells[s], cells[d])
			}
			dur[s*n+d] = float64(float32(v)) // as the cache will return it, so cold and warm agree
		}
	}
	b.cache.store(cells, slot, srcs, dsts, dur)
	return nil
}

// durationCache is a bounded, approximately-LRU map: two generations, the
// older dropped wholesale when the newer fills, and hits in the older
// promoted. One lock per matrix, not per pair.
type durationCache struct {
	mu       sync.Mutex
	cur, old map[pairKey]float32
	half     int
}

type pairKey struct {
	from, to Cell
	slot     int64
}

func newDurationCache(size int) *durationCache {
	half := max(1, size/2)
	return &durationCache{cur: make(map[pairKey]float32), old: map[pairKey]float32{}, half: half}
}

// lookup fills dur (n×n) with cached figures and returns the missing
// (from, to) pairs, diagonal excluded.
func (c *durationCache) lookup(cells []Cell, slot int64, dur []float64) [][2]int {
	n := len(cells)
	var missing [][2]int
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, a := range cells {
		for j, b := range cells {
			if i == j {
				continue
			}
			k := pairKey{a, b, slot}
			if v, ok := c.cur[k]; ok {
				dur[i*n+j] = float64(v)
			} else if v, ok := c.old[k]; ok {
				dur[i*n+j] = float64(v)
				c.put(k, v)
			} else {
				missing = append(missing, [2]int{i, j})
			}
		}
	}
	return missing
}

func (c *durationCache) store(cells []Cell, slot int64, srcs, dsts []int, dur []float64) {
	n := len(cells)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range srcs {
		for _, j := range dsts {
			if i != j {
				c.put(pairKey{cells[i], cells[j], slot}, float32(dur[i*n+j]))
			}
		}
	}
}

func (c *durationCache) put(k pairKey, v float32) {
	c.cur[k] = v
	if len(c.cur) >= c.half {
		c.old = c.cur
		c.cur = make(map[pairKey]float32, c.half)
	}
}

// len is the number of cached pairs (tests check the bound).
func (c *durationCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
