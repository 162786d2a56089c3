package solomon

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fieldfix/fieldfix/scheduling"
)

// FuzzSolveKeepsRoutesFeasible: whatever the instance, scheduling.Optimize on its Problem returns
// a plan that passes scheduling.Check, whose routes (at most the vehicles, no customer twice) are
// each feasible when recomputed in Solomon's real units by Instance.route, whose travel is that
// distance rounded up a thousandth an arc at most, and which leaves no customer out that could go
// alone on an idle vehicle; a plan that serves everyone passes Distance.
// `go test -run '^$' -fuzz FuzzSolveKeepsRoutesFeasible ./scheduling/solomon`.
func FuzzSolveKeepsRoutesFeasible(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(seed, uint8(8), uint8(2))
	}
	f.Fuzz(func(t *testing.T, seed uint64, customers, vehicles uint8) {
		n, v := 1+int(customers)%14, 1+int(vehicles)%5
		in := randomInstance(rand.New(rand.NewPCG(seed, 5)), n, v)
		empty, err := scheduling.NewPlan(in.Problem(), nil)
		if err != nil {
			t.Fatal(err)
		}
		plan, _ := scheduling.Optimize(context.Background(), empty, scheduling.Budget{Iterations: 300, Seed: seed, Searches: 1})
		if _, err := scheduling.Check(plan); err != nil {
			t.Fatalf("scheduling.Check: %v", err)
		}
		routes := Routes(plan)
		if len(routes) > v {
			t.Fatalf("%d routes for %d vehicles", len(routes), v)
		}
		seen := map[int]bool{}
		total, arcs := 0.0, 0
		for _, r := range routes {
			d, err := in.route(r)
			if err != nil {
				t.Fatalf("route %v: %v", r, err)
			}
			total, arcs = total+d, arcs+len(r)+1
			for _, c := range r {
				if seen[c] {
					t.Fatalf("customer %d twice", c)
				}
				seen[c] = true
			}
		}
		if travel := float64(plan.Cost().Travel); travel < total*Scale-1e-6 || travel > total*Scale+float64(arcs) {
			t.Fatalf("travel %v units for %.4f of distance over %d arcs", travel, total, arcs)
		}
		if len(seen)+len(plan.Unassigned()) != n {
			t.Fatalf("%d served and %d unassigned of %d", len(seen), len(plan.Unassigned()), n)
		}
		for c := 1; c <= n && len(routes) < v; c++ {
			if _, err := in.route([]int{c}); !seen[c] && err == nil {
				t.Fatalf("customer %d left out, though it fits alone on one of %d idle vehicles", c, v-len(routes))
			}
		}
		if len(seen) == n {
			if d, err := Distance(in, routes); err != nil || math.Abs(d-total) > 1e-6 {
				t.Fatalf("a plan serving everyone rejected: %v (%.4f against %.4f)", err, d, total)
			}
		}
	})
}
