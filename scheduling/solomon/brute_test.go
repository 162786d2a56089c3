package solomon

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fieldfix/fieldfix/scheduling"
)

// bruteForce is the optimum of a tiny instance in Solomon's real units: every order of the
// customers, cut into routes by the best split, within the vehicle count (+Inf: none serves all).
func bruteForce(in *Instance) float64 {
	n := len(in.Nodes) - 1
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i + 1
	}
	best := math.Inf(1)
	var permute func(k int)
	permute = func(k int) {
		if k == n {
			best = math.Min(best, bestSplit(in, perm))
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

// bestSplit cuts the order into consecutive routes, each checked by Instance.route, minimising
// distance (dynamic programming over the cut points).
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
		for i := range n {
			if math.IsInf(f[v-1][i], 1) {
				continue
			}
			for j := i + 1; j <= n; j++ {
				d, err := in.route(order[i:j])
				if err != nil {
					continue
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

// randomInstance is a small instance: a depot open 0–1000 amid customers with windows of 100–400.
func randomInstance(rng *rand.Rand, customers, vehicles int) *Instance {
	in := &Instance{Name: "random", Vehicles: vehicles, Capacity: 30}
	in.Nodes = append(in.Nodes, Node{X: 50, Y: 50, Due: 1000})
	for range customers {
		ready := math.Round(rng.Float64() * 400)
		in.Nodes = append(in.Nodes, Node{X: rng.Float64() * 100, Y: rng.Float64() * 100, Demand: 1 + rng.IntN(10),
			Ready: ready, Due: ready + math.Round(100+rng.Float64()*300), Service: 10})
	}
	return in
}

// TestSolveFindsTheBruteForceOptimum: on tiny instances scheduling.Optimize, through Solve, finds
// the optimum that brute force finds in real numbers. Its travel is in units rounded up to a
// thousandth an arc, so it may miss the optimum by that much an arc, never by more, and never beat it.
func TestSolveFindsTheBruteForceOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	checked := 0
	for trial := range 12 {
		in := randomInstance(rng, 7, 3)
		opt := bruteForce(in)
		if math.IsInf(opt, 1) {
			continue // no solution serves everyone with this many vehicles
		}
		_, _, d, err := Solve(context.Background(), in, scheduling.Budget{Iterations: 4000, Seed: 1, Searches: 1})
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if arcs := float64(len(in.Nodes) - 1 + in.Vehicles); d > opt+arcs/Scale {
			t.Errorf("trial %d: search %.3f, optimum %.3f", trial, d, opt)
		}
		if d < opt-1e-6 {
			t.Fatalf("trial %d: search %.3f beats the brute force %.3f: one of them is wrong", trial, d, opt)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d trials could serve everyone", checked)
	}
}
