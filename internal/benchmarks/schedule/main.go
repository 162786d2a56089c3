// Command schedule reports on the field-service planner (package scheduling): the latency of
// online Insert on a region of 300 technicians with about ten jobs each, and a synthetic city day
// planned three ways in one run — the nearest-available baseline, online Insert, and Insert
// followed by Optimize.
//
//	go run ./internal/benchmarks/schedule [-optimize 20s]
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/scheduling"
)

func main() {
	budget := flag.Duration("optimize", 20*time.Second, "Optimize budget for the city day")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-schedule:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench-schedule:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*budget); err != nil {
		fmt.Fprintln(os.Stderr, "bench-schedule:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

var (
	monday = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC) // 08:00 in Lyon
	skills = []string{"washer", "fridge", "ac", "tv", "water_heater", "install"}
)

// city builds technicians around Lyon with two skills each, 08:00–18:00 shifts with a
// 30-minute lunch break to start between 12:00 and 14:00, over days days.
type city struct {
	rng    *rand.Rand
	places *scheduling.Places
	index  *geo.Index
	techs  []scheduling.Technician
}

func newCity(seed uint64, techs, days int, radiusKm float64) *city {
	c := &city{rng: rand.New(rand.NewPCG(seed, 11)), places: scheduling.NewPlaces(monday.Add(4 * time.Hour)), index: geo.NewIndex()}
	for i := range techs {
		pt := c.near(radiusKm)
		home := c.places.Add(pt)
		t := scheduling.Technician{ID: int64(i + 1), Start: home, End: home, Skills: []string{skills[i%5], skills[(i/5+1)%6]}}
		for d := range days {
			day := monday.Add(time.Duration(d) * 24 * time.Hour).Unix()
			t.Shifts = append(t.Shifts, scheduling.Shift{Window: scheduling.Window{Start: day, End: day + 10*3600},
				Breaks: []scheduling.Break{{Window: scheduling.Window{Start: day + 4*3600, End: day + 6*3600}, Duration: 1800}}})
		}
		c.techs = append(c.techs, t)
		if err := c.index.Upsert(geo.Entry{ID: t.ID, Point: pt, Skills: t.Skills, Active: true}); err != nil {
			panic(err)
		}
	}
	return c
}

func (c *city) near(radiusKm float64) geo.Point {
	r, a := radiusKm*math.Sqrt(c.rng.Float64()), c.rng.Float64()*2*math.Pi
	return geo.Point{Lat: 45.764 + r/111.32*math.Sin(a), Lng: 4.8357 + r/77.8*math.Cos(a)}
}

// booking is a repair booked at 'at': 45–90 min, one appliance skill (10% also install), 30%
// paid (on site within 24 h, else 48 h), a quarter with a three-hour customer window.
func (c *city) booking(id int64, at int64, radiusKm float64) (scheduling.Job, geo.Point) {
	pt := c.near(radiusKm)
	j := scheduling.Job{ID: id, Loc: c.places.Add(pt), Duration: int64(45+15*c.rng.IntN(4)) * 60,
		Skills: []string{skills[c.rng.IntN(5)]}, Tier: scheduling.Warranty, Due: at + 48*3600}
	if c.rng.Float64() < 0.1 {
		j.Skills = append(j.Skills, "install")
	}
	if c.rng.Float64() < 0.3 {
		j.Tier, j.Due = scheduling.Paid, at+24*3600
	}
	j.Windows = []scheduling.Window{{Start: at, End: at + 6*24*3600}} // not before it is booked
	if c.rng.Float64() < 0.25 {
		// The customer picks three hours the SLA allows: today after the booking, or tomorrow.
		day := monday.Unix() + int64(c.rng.IntN(2))*24*3600
		s := day + int64(c.rng.IntN(8))*3600
		if s >= at && s+3*3600 <= j.Due {
			j.Windows = []scheduling.Window{{Start: s, End: s + 3*3600}}
		}
	}
	return j, pt
}

// candidates are the 30 nearest technicians with the job's skills, as the dispatcher asks geo.
func (c *city) candidates(pt geo.Point, need []string) []int64 {
	got, err := c.index.Nearby(pt, func(e geo.Entry) bool {
		for _, s := range need {
			if !e.HasSkill(s) {
				return false
			}
		}
		return true
	}, 30, 100)
	if err != nil {
		panic(err)
	}
	ids := make([]int64, len(got))
	for i, x := range got {
		ids[i] = x.Entry.ID
	}
	return ids
}

func run(budget time.Duration) error {
	fmt.Printf("# Field-service planner (package scheduling)\n\nMeasured %s, GOMAXPROCS %d.\n\n", time.Now().UTC().Format("2006-01-02"), runtime.GOMAXPROCS(0))
	if err := insertLatency(); err != nil {
		return err
	}
	return cityDay(budget)
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}

// insertLatency fills a region of 300 technicians (three days of shifts) to about ten jobs each
// and times the inserts from 2,500 to 3,500 jobs, with geo's 30 nearest candidates and with all.
func insertLatency() error {
	fmt.Println("## Insert on a region of 300 technicians, about ten jobs each")
	fmt.Println()
	fmt.Println("| candidates | inserts timed | jobs in plan | p50 | p99 | max | placed |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, mode := range []string{"30 nearest (geo)", "all 300"} {
		c := newCity(7, 300, 3, 15)
		plan, err := scheduling.NewPlan(&scheduling.Problem{Technicians: c.techs, Travel: c.places, Now: monday.Unix()}, nil)
		if err != nil {
			return err
		}
		var times []time.Duration
		placed := 0
		for i := range 3500 {
			at := monday.Unix() + int64(i)*36000/3500
			j, pt := c.booking(int64(i+1), at, 15)
			var cands []int64
			if mode != "all 300" {
				cands = c.candidates(pt, j.Skills)
			}
			t0 := time.Now()
			pl, err := plan.Insert(j, cands)
			d := time.Since(t0)
			if err != nil {
				return err
			}
			if i >= 2500 {
				times = append(times, d)
				if pl.Assigned {
					placed++
				}
			}
		}
		if _, err := scheduling.Check(plan); err != nil {
			return fmt.Errorf("checker: %w", err)
		}
		fmt.Printf("| %s | %d | 3500 | %s | %s | %s | %d |\n", mode, len(times), round(percentile(times, 0.5)), round(percentile(times, 0.99)), round(slices.Max(times)), placed)
	}
	fmt.Println()
	return nil
}

func round(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

type dayResult struct {
	name            string
	paid, paidMet   int
	war, warMet     int
	unassigned      int
	travelPerJobMin float64
	elapsed         time.Duration
	cost            scheduling.Cost
	iterations      int
}

func measure(name string, plan *scheduling.Plan, elapsed time.Duration) (dayResult, error) {
	if _, err := scheduling.Check(plan); err != nil {
		return dayResult{}, fmt.Errorf("%s: checker: %w", name, err)
	}
	r := dayResult{name: name, elapsed: elapsed, cost: plan.Cost()}
	starts := map[int64]int64{}
	jobs := 0
	for _, rt := range plan.Routes() {
		for _, v := range rt.Visits {
			starts[v.Job] = v.Start
			jobs++
		}
	}
	for _, j := range plan.Problem().Jobs {
		s, ok := starts[j.ID]
		met := ok && s <= j.Due
		if j.Tier == scheduling.Paid {
			r.paid++
			if met {
				r.paidMet++
			}
		} else {
			r.war++
			if met {
				r.warMet++
			}
		}
		if !ok {
			r.unassigned++
		}
	}
	r.travelPerJobMin = float64(plan.Cost().Travel) / 60 / float64(max(1, jobs))
	return r, nil
}

// cityDay: 2,000 bookings over Monday 08:00–18:00 for 150 technicians working Monday to Saturday.
func cityDay(budget time.Duration) error {
	build := func() (*city, []scheduling.Job, [][]int64) {
		c := newCity(2026, 150, 6, 12)
		var jobs []scheduling.Job
		var cands [][]int64
		for n := range 2000 {
			at := monday.Unix() + int64(n)*36000/2000
			j, pt := c.booking(int64(n+1), at, 12)
			jobs = append(jobs, j)
			cands = append(cands, c.candidates(pt, j.Skills))
		}
		return c, jobs, cands
	}
	var results []dayResult

	c, jobs, _ := build()
	t0 := time.Now()
	base, err := scheduling.NearestAvailable(&scheduling.Problem{Technicians: c.techs, Jobs: jobs, Travel: c.places, Now: monday.Unix()})
	if err != nil {
		return err
	}
	r, err := measure("nearest available (baseline)", base, time.Since(t0))
	if err != nil {
		return err
	}
	results = append(results, r)

	c, jobs, cands := build()
	plan, err := scheduling.NewPlan(&scheduling.Problem{Technicians: c.techs, Travel: c.places, Now: monday.Unix()}, nil)
	if err != nil {
		return err
	}
	t0 = time.Now()
	for i, j := range jobs {
		if _, err := plan.Insert(j, cands[i]); err != nil {
			return err
		}
	}
	r, err = measure("online Insert (30 nearest)", plan, time.Since(t0))
	if err != nil {
		return err
	}
	results = append(results, r)

	t0 = time.Now()
	opt, st := scheduling.Optimize(context.Background(), plan, scheduling.Budget{Time: budget, Seed: 1})
	r, err = measure(fmt.Sprintf("Insert, then Optimize %s", budget), opt, time.Since(t0))
	if err != nil {
		return err
	}
	r.iterations = st.Iterations
	results = append(results, r)

	fmt.Println("## A city day: 2,000 bookings, 150 technicians, 6 skills, 30% paid")
	fmt.Println()
	fmt.Println("| policy | paid on site by the SLA | warranty on site by the SLA | unassigned | travel per job | time | breaches (weighted) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		fmt.Printf("| %s | %.1f%% | %.1f%% | %d | %.1f min | %s | %d |\n", r.name, 100*float64(r.paidMet)/float64(max(1, r.paid)),
			100*float64(r.warMet)/float64(max(1, r.war)), r.unassigned, r.travelPerJobMin, r.elapsed.Round(time.Millisecond), r.cost.Breaches)
	}
	fmt.Printf("\nOptimize ran %d ruin-and-recreate iterations (two searches, one per core); ruins chosen and new bests: %v.\n", st.Iterations, st.Ruins)
	return nil
}
