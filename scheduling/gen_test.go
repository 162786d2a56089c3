package scheduling

import (
	"math"
	"math/rand/v2"
	"testing"
)

// grid is a Travel on points of a plane, one second per unit.
type grid [][2]float64

func (g grid) Seconds(a, b int) int64 {
	return int64(math.Round(math.Hypot(g[a][0]-g[b][0], g[a][1]-g[b][1])))
}

type genOpts struct {
	techs, jobs, days int
	breaks, pins      bool
	windows           bool
}

const day = 86400

// generate makes a random field-service problem: a city 60 min across, technicians with two of
// four skills in 8:00–17:00 shifts, jobs of 30–90 min with deadlines of 1–2 days, some with a
// customer window, some paid.
func generate(rng *rand.Rand, o genOpts) (*Problem, grid) {
	skills := []string{"fridge", "washer", "oven", "boiler"}
	var g grid
	at := func() int {
		g = append(g, [2]float64{rng.Float64() * 3600, rng.Float64() * 3600})
		return len(g) - 1
	}
	p := &Problem{Now: 8 * 3600}
	for i := range o.techs {
		home := at()
		t := Technician{ID: int64(100 + i), Start: home, End: home, Skills: []string{skills[i%4], skills[(i+1)%4]}, MaxJobs: 8}
		for d := range o.days {
			sh := Shift{Window: Window{int64(d*day + 8*3600), int64(d*day + 17*3600)}}
			if o.breaks {
				sh.Breaks = []Break{{Window{int64(d*day + 12*3600), int64(d*day + 13*3600 + 1800)}, 1800}}
			}
			t.Shifts = append(t.Shifts, sh)
		}
		p.Technicians = append(p.Technicians, t)
	}
	for i := range o.jobs {
		p.Jobs = append(p.Jobs, randomJob(rng, int64(1+i), at(), skills, o))
	}
	p.Travel = g
	return p, g
}

func randomJob(rng *rand.Rand, id int64, loc int, skills []string, o genOpts) Job {
	j := Job{ID: id, Loc: loc, Duration: int64(1800 + 600*rng.IntN(7)), Skills: []string{skills[rng.IntN(4)]}}
	j.Due = int64(8*3600 + day*(1+rng.IntN(max(1, o.days-1))))
	if rng.IntN(10) < 3 {
		j.Tier = Paid
		j.Due = 8*3600 + day
	}
	if o.windows && rng.IntN(3) == 0 {
		d := int64(rng.IntN(o.days)) * day
		s := d + int64(8*3600+rng.IntN(6)*3600)
		j.Windows = []Window{{s, s + 2*3600}}
		if rng.IntN(2) == 0 {
			j.Windows = append(j.Windows, Window{s + day, s + day + 3*3600})
		}
	}
	j.Priority = rng.IntN(3)
	return j
}

// mustCheck fails the test unless the checker agrees with the plan.
func mustCheck(t testing.TB, p *Plan) Cost {
	t.Helper()
	c, err := Check(p)
	if err != nil {
		t.Fatalf("checker: %v", err)
	}
	return c
}
