package vrptw

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzSolveKeepsRoutesFeasible: whatever the instance, every route the search returns is
// feasible on its own, no customer appears twice, and a complete solution passes the checker
// with the distance the search reports. `go test -fuzz FuzzSolveKeepsRoutesFeasible ./scheduling/vrptw`.
func FuzzSolveKeepsRoutesFeasible(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(seed, uint8(8), uint8(2))
	}
	f.Fuzz(func(t *testing.T, seed uint64, customers, vehicles uint8) {
		n, v := 1+int(customers)%14, 1+int(vehicles)%5
		in := randomInstance(rand.New(rand.NewPCG(seed, 5)), n, v)
		s := Solve(context.Background(), in, Options{Iterations: 300, Seed: seed})
		seen := map[int]bool{}
		total := 0.0
		if len(s.Routes) > v {
			t.Fatalf("%d routes for %d vehicles", len(s.Routes), v)
		}
		for _, r := range s.Routes {
			d, ok := routeDistance(in, r)
			if !ok {
				t.Fatalf("infeasible route %v", r)
			}
			total += d
			for _, c := range r {
				if seen[c] {
					t.Fatalf("customer %d twice", c)
				}
				seen[c] = true
			}
		}
		if math.Abs(total-s.Distance) > 1e-6 {
			t.Fatalf("reported %.4f, routes add up to %.4f", s.Distance, total)
		}
		if len(seen) == n {
			if d, err := Check(in, s); err != nil || math.Abs(d-s.Distance) > 1e-6 {
				t.Fatalf("complete solution rejected: %v (%.4f vs %.4f)", err, d, s.Distance)
			}
		}
	})
}
