package geo

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pointEast returns the point km kilometres due east of p (along its parallel,
// near enough for small distances; the tests use DistanceKm of the result).
func pointEast(p Point, km float64) Point {
	return Point{p.Lat, p.Lng + km/(111.195*math.Cos(p.Lat*degToRad))}
}

func TestTravelModelDuration(t *testing.T) {
	m := DefaultTravelModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	paris := time.FixedZone("CET", 3600)
	day := func(h, mi int) time.Time { return time.Date(2025, 3, 12, h, mi, 0, 0, paris) }
	a := Point{48.85, 2.35}
	b := pointEast(a, 10)
	km := DistanceKm(a, b) * 1.35
	tests := []struct {
		name   string
		depart time.Time
		want   time.Duration
	}{
		{"midday at 30 km/h", day(13, 0), time.Duration(km / 30 * float64(time.Hour))},
		{"morning rush at 18 km/h", day(8, 0), time.Duration(km / 18 * float64(time.Hour))},
		{"evening rush at 20 km/h", day(17, 0), time.Duration(km / 20 * float64(time.Hour))},
		{"night at 30 km/h", day(23, 0), time.Duration(km / 30 * float64(time.Hour))},
		// Leaves 09:50 at 18 km/h: 3 km by 10:00, the rest at 30 km/h.
		{"rush ends mid-trip", day(9, 50), 10*time.Minute + time.Duration((km-3)/30*float64(time.Hour))},
	}
	for _, tt := range tests {
		got := m.Duration(a, b, tt.depart)
		if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s: Duration = %v, want %v", tt.name, got, tt.want)
		}
	}
	if m.Duration(a, a, day(8, 0)) != 0 {
		t.Error("zero distance must take no time")
	}
	// The bands follow Location when set, not departAt's zone.
	m.Location = paris
	if s := m.SpeedAt(time.Date(2025, 3, 12, 6, 30, 0, 0, time.UTC)); s != 18 { // 07:30 CET
		t.Errorf("speed at 06:30 UTC = 07:30 CET = %v, want 18", s)
	}
	if s := m.SpeedAt(time.Date(2025, 3, 12, 9, 30, 0, 0, time.UTC)); s != 30 { // 10:30 CET
		t.Errorf("speed at 09:30 UTC = 10:30 CET = %v, want 30", s)
	}
}

// Solvers assume leaving later never arrives earlier.
func TestTravelModelFIFO(t *testing.T) {
	m := DefaultTravelModel()
	a := Point{48.85, 2.35}
	r := rand.New(rand.NewPCG(1, 1))
	base := time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)
	for range 2000 {
		b := pointEast(a, r.Float64()*80)
		t1 := base.Add(time.Duration(r.Int64N(int64(48 * time.Hour))))
		t2 := t1.Add(time.Duration(r.Int64N(int64(time.Hour))))
		if arr1, arr2 := t1.Add(m.Duration(a, b, t1)), t2.Add(m.Duration(a, b, t2)); arr2.Before(arr1) {
			t.Fatalf("leaving %v arrives %v, leaving later %v arrives earlier %v", t1, arr1, t2, arr2)
		}
	}
}

func TestTravelModelValidate(t *testing.T) {
	mod := func(f func(*TravelModel)) TravelModel { m := DefaultTravelModel(); f(&m); return m }
	bad := map[string]TravelModel{
		"circuity < 1":  mod(func(m *TravelModel) { m.Circuity = 0.9 }),
		"circuity NaN":  mod(func(m *TravelModel) { m.Circuity = math.NaN() }),
		"zero speed":    mod(func(m *TravelModel) { m.SpeedKmh = 0 }),
		"inf speed":     mod(func(m *TravelModel) { m.SpeedKmh = math.Inf(1) }),
		"band reversed": mod(func(m *TravelModel) { m.Bands = []SpeedBand{{10 * time.Hour, 7 * time.Hour, 10}} }),
		"band > 24h":    mod(func(m *TravelModel) { m.Bands = []SpeedBand{{20 * time.Hour, 25 * time.Hour, 10}} }),
		"band speed 0":  mod(func(m *TravelModel) { m.Bands = []SpeedBand{{7 * time.Hour, 8 * time.Hour, 0}} }),
		"overlap": mod(func(m *TravelModel) {
			m.Bands = []SpeedBand{{7 * time.Hour, 10 * time.Hour, 18}, {9 * time.Hour, 11 * time.Hour, 20}}
		}),
		"negative slot": mod(func(m *TravelModel) { m.Slot = -time.Minute }),
	}
	for name, m := range bad {
		if err := m.Validate(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := NewMatrixBuilder(DefaultTravelModel(), bad["zero speed"], 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("builder with a bad model: %v", err)
	}
}

// countingTable counts the pairs it was asked for.
type countingTable struct {
	TableService
	calls, pairs atomic.Int64
}

func (c *countingTable) Table(ctx context.Context, s, d []Point, at time.Time) ([][]float64, error) {
	c.calls.Add(1)
	c.pairs.Add(int64(len(s) * len(d)))
	return c.TableService.Table(ctx, s, d, at)
}

func (c *countingTable) TimeSlot(t time.Time) (int64, time.Time) {
	return c.TableService.(TimeSlotter).TimeSlot(t)
}

func randomPoints(r *rand.Rand, n int, c Point, d float64) []Point {
	out := make([]Point, n)
	for i := range out {
		out[i] = Point{c.Lat + (r.Float64()*2-1)*d, c.Lng + (r.Float64()*2-1)*d}
	}
	return out
}

func TestMatrixUsesCellsAndCache(t *testing.T) {
	model := DefaultTravelModel()
	table := &countingTable{TableService: model}
	b, err := NewMatrixBuilder(table, model, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	pts := randomPoints(r, 60, Point{48.85, 2.35}, 0.1)
	pts = append(pts, Point{pts[0].Lat + 1e-5, pts[0].Lng}) // same res-9 cell as pts[0]
	at := time.Date(2025, 3, 12, 13, 2, 0, 0, time.UTC)
	m, err := b.Matrix(context.Background(), pts, at)
	if err != nil {
		t.Fatal(err)
	}
	slotStart := time.Date(2025, 3, 12, 13, 0, 0, 0, time.UTC)
	for i := range pts {
		if m[i][i] != 0 {
			t.Fatalf("m[%d][%d] = %v", i, i, m[i][i])
		}
		for j := range pts {
			if i == j {
				continue
			}
			ci, _ := CellOf(pts[i], ResPosition)
			cj, _ := CellOf(pts[j], ResPosition)
			var want float64
			if ci == cj {
				want = model.Duration(pts[i], pts[j], slotStart).Seconds()
			} else {
				pi, _ := ci.Center()
				pj, _ := cj.Center()
				want = model.Duration(pi, pj, slotStart).Seconds()
			}
			if math.Abs(m[i][j]-want) > 0.01 {
				t.Fatalf("m[%d][%d] = %v, want %v", i, j, m[i][j], want)
			}
		}
	}
	last := len(pts) - 1
	if m[0][last] <= 0 || m[0][last] > 10 {
		t.Fatalf("two points a metre apart in one cell: %v s", m[0][last])
	}
	if table.calls.Load() != 1 {
		t.Fatalf("cold matrix made %d table calls, want 1", table.calls.Load())
	}
	// Same slot (13:00-13:15): all from the cache, identical figures.
	m2, err := b.Matrix(context.Background(), pts, at.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if table.calls.Load() != 1 {
		t.Fatalf("warm matrix called the table (%d calls)", table.calls.Load())
	}
	for i := range m {
		for j := range m[i] {
			if m[i][j] != m2[i][j] {
				t.Fatalf("warm m[%d][%d] = %v, cold %v", i, j, m2[i][j], m[i][j])
			}
		}
	}
	// One new point: only its row and column are asked for.
	before := table.pairs.Load()
	_, err = b.Matrix(context.Background(), append(pts, Point{48.95, 2.45}), at)
	if err != nil {
		t.Fatal(err)
	}
	if got := table.pairs.Load() - before; got > int64(2*len(pts)+1) {
		t.Fatalf("one new point asked the table for %d pairs", got)
	}
	// Rush hour is another slot: recomputed, and slower.
	m3, _ := b.Matrix(context.Background(), pts, time.Date(2025, 3, 12, 8, 0, 0, 0, time.UTC))
	if m3[1][2] <= m[1][2] {
		t.Fatalf("rush-hour figure %v not slower than midday %v", m3[1][2], m[1][2])
	}
	// The model as the table is not cached but gives the same figures.
	direct, _ := NewMatrixBuilder(model, model, 0)
	if direct.cache != nil {
		t.Fatal("a model-backed builder keeps a cache")
	}
	m4, err := direct.Matrix(context.Background(), pts, at)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		for j := range m[i] {
			if m4[i][j] != m[i][j] {
				t.Fatalf("uncached m[%d][%d] = %v, cached %v", i, j, m4[i][j], m[i][j])
			}
		}
	}
	if _, err := b.Matrix(context.Background(), []Point{{1, 1}, {}}, at); !errors.Is(err, ErrInvalidPoint) {
		t.Fatalf("matrix with (0,0): %v", err)
	}
}

func TestMatrixCacheIsBounded(t *testing.T) {
	model := DefaultTravelModel()
	b, _ := NewMatrixBuilder(&countingTable{TableService: model}, model, 500)
	r := rand.New(rand.NewPCG(3, 3))
	at := time.Date(2025, 3, 12, 13, 0, 0, 0, time.UTC)
	for range 20 {
		if _, err := b.Matrix(context.Background(), randomPoints(r, 30, Point{45, 5}, 0.5), at); err != nil {
			t.Fatal(err)
		}
		if n := b.cache.len(); n > 500 {
			t.Fatalf("cache holds %d pairs, bound 500", n)
		}
	}
	if b.cache.len() == 0 {
		t.Fatal("cache empty")
	}
}

func TestMatrixConcurrent(t *testing.T) {
	model := DefaultTravelModel()
	b, _ := NewMatrixBuilder(&countingTable{TableService: model}, model, 4000)
	at := time.Date(2025, 3, 12, 13, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 10 {
				pts := randomPoints(r, 25, Point{45, 5}, 0.05)
				m, err := b.Matrix(context.Background(), pts, at)
				if err != nil {
					t.Error(err)
					return
				}
				if m[0][1] <= 0 {
					t.Errorf("m[0][1] = %v", m[0][1])
					return
				}
			}
		}()
	}
	wg.Wait()
}
