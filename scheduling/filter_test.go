package scheduling

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFitsIsExactlyTheEvaluator: the quick insertion test agrees with evaluating the route in
// full at every position of every route, for every job, on random days (windows, pins, tight
// deadlines, job limits); it may only decline to answer.
func TestFitsIsExactlyTheEvaluator(t *testing.T) {
	answered := 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 11))
		p, _ := generate(rng, genOpts{techs: 3, jobs: 30, days: 2, windows: true, breaks: seed%5 == 4})
		for i := range p.Technicians {
			p.Technicians[i].MaxJobs = 3 + int(seed%4)
			p.Technicians[i].Capacity = int(seed % 3 * 4)
		}
		for i := range p.Jobs {
			p.Jobs[i].Load = rng.IntN(3)
		}
		c, s := briefly(t, p, seed)
		for r, seq := range s.seqs {
			latest, ok := c.latestStarts(r, seq, nil)
			if !ok {
				continue
			}
			for j := range c.jobs {
				if s.where[j] >= 0 {
					continue
				}
				for pos := 0; pos <= len(seq); pos++ {
					answered++
					want := c.eval(r, slices.Insert(slices.Clone(seq), pos, int32(j)), nil).ok
					if got := s.fits(c, r, seq, latest, j, pos); got != want {
						t.Fatalf("seed %d route %d job %d at %d: fits %v, evaluator %v", seed, r, j, pos, got, want)
					}
				}
			}
		}
	}
	if answered < 1000 {
		t.Fatalf("only %d positions answered", answered)
	}
}

// TestOnTimeIsExactlyTheEvaluator: on routes that are not late, the on-time insertion test says
// yes exactly where evaluating the route finds it feasible with no visit late (the job inserted
// included; any job not on the route is tried), and bestIn, which ranks those positions by detour alone, finds as little lateness
// and travel as evaluating every position would.
func TestOnTimeIsExactlyTheEvaluator(t *testing.T) {
	answered, late := 0, 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 12))
		p, _ := generate(rng, genOpts{techs: 3, jobs: 30, days: 2, windows: true})
		for i := range p.Jobs { // tight deadlines: some visits would be late further down a route
			if i%3 == 0 {
				p.Jobs[i].Due = p.Now + int64(3+rng.IntN(7))*3600
			}
		}
		c, s := briefly(t, p, seed)
		for r, seq := range s.seqs {
			lo, ok := c.latestOnTime(r, seq, nil)
			la, lok := c.latestStarts(r, seq, nil)
			if !ok || !lok || s.rc[r].late != 0 || s.rc[r].breach != 0 {
				continue
			}
			for j := range c.jobs { // every job of another route or none, as if it were to move here
				if s.where[j] == int32(r) {
					continue
				}
				f, fok := c.fitter(r, seq, la, j, s.rc[r].load)
				f.onTime, f.due = lo, c.job(j).Due
				var want option
				found := false
				for pos := 0; pos <= len(seq); pos++ {
					answered++
					rc := c.eval(r, slices.Insert(slices.Clone(seq), pos, int32(j)), nil)
					onTime := rc.ok && rc.late == 0 && rc.breach == 0
					if !onTime && rc.ok {
						late++
					}
					got := false
					if fok {
						_, got = f.at(pos, s.startBefore(seq, pos))
					}
					if got != onTime {
						t.Fatalf("seed %d route %d job %d at %d: on time %v, evaluator %v (late %d)", seed, r, j, pos, got, onTime, rc.late)
					}
					if d := s.delta(c, []int{r}, []rcost{rc}); rc.ok && (!found || d.Less(want.d)) {
						want, found = option{d: d}, true
					}
				}
				got, gfound := s.bestIn(c, r, j, nil, nil)
				if gfound != found || (found && (got.d.Breaches != want.d.Breaches || got.d.Lateness != want.d.Lateness || got.d.Travel != want.d.Travel)) {
					t.Fatalf("seed %d route %d job %d: bestIn %v (%v), every position %v (%v)", seed, r, j, got.d, gfound, want.d, found)
				}
			}
		}
	}
	if answered < 1000 || late < 50 {
		t.Fatalf("only %d positions answered, %d of them late", answered, late)
	}
}

// briefly plans p with a short search (seed), for tests of one route's insertion.
func briefly(t *testing.T, p *Problem, seed uint64) (*compiled, *state) {
	t.Helper()
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ = Optimize(context.Background(), plan, Budget{Iterations: 30, Seed: seed})
	return plan.c, plan.s
}
