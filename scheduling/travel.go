package scheduling

import (
	"math"
	"time"

	"github.com/fieldfix/fieldfix/geo"
)

// Places is a Travel over map points with geo's travel model, at one departure time (the model's
// speed for that time of day applies to every leg). Add registers a point and returns its index.
type Places struct {
	Points []geo.Point
	Model  geo.TravelModel
	Depart time.Time
}

// NewPlaces is a Travel with geo's default model at the given departure time.
func NewPlaces(depart time.Time) *Places {
	return &Places{Model: geo.DefaultTravelModel(), Depart: depart}
}

// Add registers p and returns its location index.
func (pl *Places) Add(p geo.Point) int {
	pl.Points = append(pl.Points, p)
	return len(pl.Points) - 1
}

// Seconds implements Travel.
func (pl *Places) Seconds(from, to int) int64 {
	if from == to {
		return 0
	}
	return int64(math.Round(pl.Model.Duration(pl.Points[from], pl.Points[to], pl.Depart).Seconds()))
}

// Timed is pl as a TimedTravel: each leg at the speed of the hours it drives through, leaving
// at a time in Unix seconds, read on Depart's clock (its location) unless the model sets one.
// Seconds stays at Depart.
func (pl *Places) Timed() TimedPlaces { return TimedPlaces{pl} }

// TimedPlaces is Places with time-dependent travel (see Places.Timed).
type TimedPlaces struct{ *Places }

// SecondsAt implements TimedTravel: geo's model integrates the speed across band edges, so a
// later departure never arrives earlier, and rounding to whole seconds keeps that.
func (tp TimedPlaces) SecondsAt(from, to int, depart int64) int64 {
	if from == to {
		return 0
	}
	at := time.Unix(depart, 0).In(tp.Depart.Location())
	return int64(math.Round(tp.Model.Duration(tp.Points[from], tp.Points[to], at).Seconds()))
}

// near ranks b by closeness to a cheaply (the equirectangular approximation): good enough to
// choose neighbours, never used for times.
func (pl *Places) near(a, b int) float64 {
	pa, pb := pl.Points[a], pl.Points[b]
	x := (pb.Lng - pa.Lng) * math.Cos((pa.Lat+pb.Lat)*math.Pi/360)
	y := pb.Lat - pa.Lat
	return x*x + y*y
}

// memo remembers the travel times a search asks for. Each search has its own: it is not safe for
// concurrent use.
type memo struct {
	tr Travel
	n  int
	m  []int32 // -1: not asked yet
}

// tableMax is the most places a search keeps a table of travel times for (memoize, compact):
// 6,000² 32-bit times are 144 MB.
const tableMax = 6000

// memoize wraps tr for the locations below n, when the table stays reasonable (n ≤ tableMax).
func memoize(tr Travel, n int) Travel {
	switch tr.(type) {
	case Matrix, *flat:
		return tr
	}
	if n > tableMax {
		return tr
	}
	m := make([]int32, n*n)
	for i := range m {
		m[i] = -1
	}
	return &memo{tr: tr, n: n, m: m}
}

func (m *memo) Seconds(a, b int) int64 {
	if a >= m.n || b >= m.n {
		return m.tr.Seconds(a, b)
	}
	v := m.m[a*m.n+b]
	if v < 0 {
		v = int32(min(m.tr.Seconds(a, b), math.MaxInt32))
		m.m[a*m.n+b] = v
	}
	return int64(v)
}

// flat is a square travel matrix in one array of 32-bit seconds: what the search reads most (a
// quarter of its time went to reading a Matrix's rows, a 1,340-place day's 14 MB of int64 out of
// the cache), in half the memory and one load instead of two.
type flat struct {
	n int
	m []int32
}

func (f *flat) Seconds(a, b int) int64 { return int64(f.m[a*f.n+b]) }

// compact is tr as a flat matrix when it is a square Matrix of at most tableMax places whose
// times fit 32 bits, else tr.
func compact(tr Travel) Travel {
	m, ok := tr.(Matrix)
	if !ok || len(m) == 0 || len(m) > tableMax {
		return tr
	}
	n := len(m)
	f := &flat{n: n, m: make([]int32, n*n)}
	for i, row := range m {
		if len(row) != n {
			return tr
		}
		for k, v := range row {
			if v < 0 || v > math.MaxInt32 {
				return tr
			}
			f.m[i*n+k] = int32(v)
		}
	}
	return f
}
