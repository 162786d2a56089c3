package planning

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// BenchmarkInsertion300x10 times the in-memory insertion (candidates already read) on a region of
// 300 technicians with 10 jobs each, as issue 29's goal states it (p99 under 1 ms); the database
// reads around it are measured by make bench-slots. Run: go test -run XXX -bench Insertion ./dispatch/planning
func BenchmarkInsertion300x10(b *testing.B) {
	planner := NewPlanner(nil, dispatch.NewEnv(dispatch.DefaultRules(), nil, nil))
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	near := func() dispatch.Location {
		r, a := 9*math.Sqrt(rng.Float64()), rng.Float64()*2*math.Pi
		return dispatch.Location{Lat: 45.764 + r/111.32*math.Sin(a), Lng: 4.8357 + r/77.8*math.Cos(a)}
	}
	var shifts []dispatch.Shift
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		shifts = append(shifts, dispatch.Shift{Day: d, Start: "08:00", End: "18:00"})
	}
	rd := &Routes{stops: map[int64][]Stop{}, shifts: map[int64][]dispatch.Window{}, now: now}
	for i := range 300 {
		t := dispatch.Technician{ID: int64(i + 1), Home: near(), TimeZone: "Europe/Paris", WeeklyShifts: shifts, Active: true}
		rd.techs = append(rd.techs, t)
		rd.shifts[t.ID] = ShiftWindows(t, now, now.Add(72*time.Hour), nil)
		start := rd.shifts[t.ID][0].Start
		for k := range 10 { // ten visits over the first two days
			st := start.Add(time.Duration(k%5)*100*time.Minute + time.Duration(k/5)*24*time.Hour)
			rd.stops[t.ID] = append(rd.stops[t.ID], Stop{JobID: int64(i*10 + k), TechnicianID: t.ID, Start: st, End: st.Add(time.Hour), Location: near()})
		}
	}
	// The booking's candidates: its 30 nearest technicians, as geo proposes them. Besides the wall
	// clock, the insertions' mean CPU time on their thread (the kernel counts it in ticks: only the
	// mean over many is meaningful): on a host shared with other work the wall clock's tail is
	// mostly waiting for a core.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var lat, cpu []time.Duration
	var order []int
	var cands []dispatch.Technician
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bk := dispatch.Booking{ID: int64(i), Location: near(), Duration: time.Hour, SLADueAt: now.Add(24 * time.Hour), Tier: dispatch.TierPaid}
		// (Sorted by index into buffers kept across bookings, so that B/op is the insertion's.)
		order = order[:0]
		for k := range rd.techs {
			order = append(order, k)
		}
		slices.SortFunc(order, func(x, y int) int {
			return cmpDist(rd.techs[x].Home, bk.Location) - cmpDist(rd.techs[y].Home, bk.Location)
		})
		cands = cands[:0]
		for _, k := range order[:30] {
			cands = append(cands, rd.techs[k])
		}
		sub := &Routes{techs: cands, stops: rd.stops, shifts: rd.shifts, now: now}
		c0, t0 := threadCPU(), time.Now()
		p, _ := planner.best(bk, nil, sub, nil)
		lat, cpu = append(lat, time.Since(t0)), append(cpu, threadCPU()-c0)
		if p == nil {
			b.Fatal("no placement")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	var total time.Duration
	for _, c := range cpu {
		total += c
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[int(math.Ceil(0.99*float64(len(lat))))-1].Microseconds()), "p99-µs")
	b.ReportMetric(float64(total.Microseconds())/float64(len(cpu)), "cpu-mean-µs")
}

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const rusageThread = 1 // RUSAGE_THREAD (Linux)

func cmpDist(a, b dispatch.Location) int {
	return int(1e6 * math.Hypot(a.Lat-b.Lat, (a.Lng-b.Lng)*0.7))
}
