package vrptw

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// bruteForce is the optimum of a tiny instance: every order of the customers, cut into routes
// by the best split (dynamic programming over cut points), within the vehicle count.
func bruteForce(in *Instance) float64 {
	n := in.N() - 1
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i + 1
	}
	best := math.Inf(1)
	var permute func(k int)
	permute = func(k int) {
		if k == n {
			if d := bestSplit(in, perm); d < best {
				best = d
			}
			return
		}
		for i := k; i < n; i++ {
			perm[k], perm[i] = perm[i], perm[k]
			permute(k + 1)
			perm[k], perm[i] = perm[i], perm[k]
		}
	}
	permute(0)
	return best
}

// bestSplit cuts the order into consecutive routes, each checked by Check, minimising distance.
func bestSplit(in *Instance, order []int) float64 {
	n := len(order)
	// f[v][i]: least distance serving order[:i] with v routes.
	f := make([][]float64, in.Vehicles+1)
	for v := range f {
		f[v] = make([]float64, n+1)
		for i := range f[v] {
			f[v][i] = math.Inf(1)
		}
	}
	f[0][0] = 0
	for v := 1; v <= in.Vehicles; v++ {
		for i := 0; i < n; i++ {
			if math.IsInf(f[v-1][i], 1) {
				continue
			}
			for j := i + 1; j <= n; j++ {
				d, ok := routeDistance(in, order[i:j])
				if !ok {
					break // a longer route from i is no more feasible in time... or capacity
				}
				f[v][j] = math.Min(f[v][j], f[v-1][i]+d)
			}
		}
	}
	best := math.Inf(1)
	for v := 1; v <= in.Vehicles; v++ {
		best = math.Min(best, f[v][n])
	}
	return best
}

func routeDistance(in *Instance, r []int) (float64, bool) {
	load, t, prev, d := 0, 0.0, 0, 0.0
	for _, c := range r {
		nd := in.Nodes[c]
		load += nd.Demand
		d += in.D(prev, c)
		t = math.Max(t+in.Nodes[prev].Service+in.D(prev, c), nd.Ready)
		if t > nd.Due || load > in.Capacity {
			return 0, false
		}
		prev = c
	}
	if t+in.Nodes[prev].Service+in.D(prev, 0) > in.Nodes[0].Due {
		return 0, false
	}
	return d + in.D(prev, 0), true
}

// randomInstance makes a small feasible-looking instance.
func randomInstance(rng *rand.Rand, customers, vehicles int) *Instance {
	in := &Instance{Name: "random", Vehicles: vehicles, Capacity: 30}
	in.Nodes = append(in.Nodes, Node{X: 50, Y: 50, Due: 1000})
	for range customers {
		ready := rng.Float64() * 400
		in.Nodes = append(in.Nodes, Node{X: rng.Float64() * 100, Y: rng.Float64() * 100, Demand: 1 + rng.IntN(10),
			Ready: ready, Due: ready + 100 + rng.Float64()*300, Service: 10})
	}
	in.prepare()
	return in
}

// TestSmallInstancesReachTheOptimum compares the search with brute force on tiny instances.
func TestSmallInstancesReachTheOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	checked := 0
	for trial := 0; trial < 12; trial++ {
		in := randomInstance(rng, 7, 3)
		opt := bruteForce(in)
		if math.IsInf(opt, 1) {
			continue // no feasible solution with this many vehicles
		}
		s := Solve(context.Background(), in, Options{Iterations: 4000, Seed: 1})
		d, err := Check(in, s)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if d > opt+1e-6 {
			t.Errorf("trial %d: search %.3f, optimum %.3f", trial, d, opt)
		}
		if d < opt-1e-6 {
			t.Fatalf("trial %d: search %.3f beats the brute force %.3f: one of them is wrong", trial, d, opt)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d trials were feasible", checked)
	}
}
