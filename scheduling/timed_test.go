package scheduling

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/geo"
)

// timedDay is a day in a city of 20 km with geo's rush hours, travel timed by departure.
func timedDay(rng *rand.Rand, techs, jobs int) (*Problem, *Places) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	pl := NewPlaces(day.Add(12 * time.Hour))
	at := func() int {
		return pl.Add(geo.Point{Lat: 48.80 + rng.Float64()*0.18, Lng: 2.25 + rng.Float64()*0.25})
	}
	base := day.Unix()
	p := &Problem{Now: base + 7*3600, Travel: pl.Timed()}
	for i := range techs {
		home := at()
		p.Technicians = append(p.Technicians, Technician{ID: int64(10 + i), Start: home, End: home, Skills: []string{"x"},
			Shifts: []Shift{{Window: Window{base + 7*3600, base + 19*3600}}}})
	}
	for i := range jobs {
		j := Job{ID: int64(1 + i), Loc: at(), Duration: int64(1800 + 600*rng.IntN(4)), Skills: []string{"x"}, Priority: rng.IntN(3)}
		if rng.IntN(2) == 0 {
			s := base + int64(7+rng.IntN(9))*3600
			j.Windows = []Window{{s, s + 3*3600}}
		}
		p.Jobs = append(p.Jobs, j)
	}
	return p, pl
}

// TestTimedTravelIsFIFO: leaving later never arrives earlier, to the second.
func TestTimedTravelIsFIFO(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p, pl := timedDay(rng, 2, 30)
	tp := pl.Timed()
	for range 3000 {
		a, b := rng.IntN(len(pl.Points)), rng.IntN(len(pl.Points))
		t1 := p.Now + rng.Int64N(14*3600)
		t2 := t1 + rng.Int64N(1800)
		if t2+tp.SecondsAt(a, b, t2) < t1+tp.SecondsAt(a, b, t1) {
			t.Fatalf("%d→%d: leaving %d arrives after leaving %d", a, b, t1, t2)
		}
	}
}

// TestTimedTravelInTheSearchAndTheChecker: a plan made with timed travel passes the checker,
// which times each leg from its departure; the same routes timed at one hour of the day do not
// add up to the same travel, so the hour matters and both sides read it.
func TestTimedTravelInTheSearchAndTheChecker(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 3))
		p, pl := timedDay(rng, 3, 25)
		plan, err := NewPlan(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		plan, _ = Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: seed})
		got := mustCheck(t, plan)
		// The same routes with untimed travel (noon speed) cost something else.
		flat := *plan.Problem()
		flat.Travel = pl
		c, err := checkRoutes(&flat, plan.Routes(), plan.Unassigned(), got)
		if err == nil {
			t.Fatalf("seed %d: untimed travel reproduces the timed plan's travel %d exactly", seed, c.Travel)
		}
		// Every leg's arrival is the departure plus the drive at that hour.
		tp := pl.Timed()
		for _, r := range plan.Routes() {
			tech := p.Technicians[0]
			for _, x := range p.Technicians {
				if x.ID == r.Technician {
					tech = x
				}
			}
			loc, free := tech.Start, tech.Shifts[0].Start
			for _, v := range r.Visits {
				var j Job
				for _, x := range p.Jobs {
					if x.ID == v.Job {
						j = x
					}
				}
				if v.Start < free+tp.SecondsAt(loc, j.Loc, free) {
					t.Fatalf("seed %d: job %d starts at %d before arriving", seed, j.ID, v.Start)
				}
				loc, free = j.Loc, v.End
			}
		}
	}
}
