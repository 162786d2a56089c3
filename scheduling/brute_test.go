package scheduling

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteForce is the optimum of a small plan: every job unassigned or at every position of every
// route, all combinations, each evaluated from scratch.
func bruteForce(c *compiled) Cost {
	seqs := make([][]int32, len(c.routes))
	var best Cost
	found := false
	var rec func(j int)
	rec = func(j int) {
		if j == len(c.jobs) {
			var sum Cost
			work := make([]int64, len(c.techs))
			for r, seq := range seqs {
				rc := c.eval(r, seq, nil)
				if !rc.ok {
					return
				}
				sum.Breaches += rc.breach
				sum.Lateness += rc.late
				sum.Travel += rc.travel
				sum.Disruption += rc.disr
				sum.Waiting += rc.wait
				work[c.routes[r].tech] += rc.work
			}
			for k := range c.jobs {
				if !slices.ContainsFunc(seqs, func(s []int32) bool { return slices.Contains(s, int32(k)) }) {
					sum = sum.add(unassignedCost(*c.job(k), c.horizon, c.disrupt))
				}
			}
			for _, w := range work {
				sum.Balance += balanceOf(w)
			}
			if !found || sum.Less(best) {
				best, found = sum, true
			}
			return
		}
		rec(j + 1) // unassigned
		for r := range seqs {
			if !c.canDo(c.routes[r].tech, j) {
				continue
			}
			old := seqs[r]
			for pos := 0; pos <= len(old); pos++ {
				seqs[r] = slices.Insert(slices.Clone(old), pos, int32(j))
				rec(j + 1)
			}
			seqs[r] = old
		}
	}
	rec(0)
	return best
}

func TestOptimizeFindsTheBruteForceOptimum(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 77))
		p, _ := generate(rng, genOpts{techs: 2, jobs: 6, days: 1, breaks: seed%2 == 0, windows: true})
		for i := range p.Technicians {
			p.Technicians[i].Skills = []string{"fridge", "washer", "oven", "boiler"}[:2+int(seed%3)]
			p.Technicians[i].MaxJobs = 4
		}
		if seed%4 == 1 { // a tight day: someone breaches or waits
			for i := range p.Jobs {
				p.Jobs[i].Duration *= 2
				p.Jobs[i].Due = 8*3600 + 4*3600
			}
		}
		plan, err := NewPlan(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(plan.c)
		got, _ := Optimize(context.Background(), plan, Budget{Iterations: 2000, Seed: seed, Searches: 4})
		mustCheck(t, got)
		if got.Cost() != want {
			t.Errorf("seed %d: optimise %v, brute force %v", seed, got.Cost(), want)
		}
	}
}
