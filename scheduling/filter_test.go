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
		plan, err := NewPlan(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		plan, _ = Optimize(context.Background(), plan, Budget{Iterations: 30, Seed: seed})
		c, s := plan.c, plan.s
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
