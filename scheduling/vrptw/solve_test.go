package vrptw

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func load(t testing.TB, name string) *Instance {
	t.Helper()
	dir := os.Getenv("FIELDFIX_SOLOMON_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "benchmarks", "vrptw", "solomon")
	}
	f, err := os.Open(filepath.Join(dir, name+".txt"))
	if err != nil {
		t.Skipf("Solomon instances not found (%v); set FIELDFIX_SOLOMON_DIR", err)
	}
	defer f.Close()
	in, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// Every result goes through the independent checker, and its distance agrees with it.
func TestSolveIsFeasibleAndDeterministic(t *testing.T) {
	for _, name := range []string{"C101", "R101", "RC201"} {
		in := load(t, name)
		a := Solve(context.Background(), in, Options{Iterations: 3000, Seed: 7})
		d, err := Check(in, a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if math.Abs(d-a.Distance) > 1e-6 {
			t.Fatalf("%s: solver says %.3f, checker %.3f", name, a.Distance, d)
		}
		b := Solve(context.Background(), in, Options{Iterations: 3000, Seed: 7})
		if b.Distance != a.Distance {
			t.Fatalf("%s: same seed, %.3f then %.3f", name, a.Distance, b.Distance)
		}
	}
}

// C101's best known is 828.94 (optimal): a short search must come close.
func TestSolveC101NearOptimal(t *testing.T) {
	in := load(t, "C101")
	s := Solve(context.Background(), in, Options{Iterations: 20000, Seed: 1})
	if _, err := Check(in, s); err != nil {
		t.Fatal(err)
	}
	if s.Distance > 828.94*1.02 {
		t.Fatalf("C101 distance %.2f, more than 2%% above the optimum 828.94", s.Distance)
	}
}

func TestCancelReturnsPromptly(t *testing.T) {
	in := load(t, "R101")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	s := Solve(ctx, in, Options{TimeLimit: time.Minute, Seed: 1})
	if el := time.Since(start); el > time.Second {
		t.Fatalf("cancel took %v", el)
	}
	if _, err := Check(in, s); err != nil {
		t.Fatalf("the best so far is not feasible: %v", err)
	}
}

func TestCheckerCatchesViolations(t *testing.T) {
	in := load(t, "C101")
	s := Solve(context.Background(), in, Options{Iterations: 500, Seed: 3})
	bad := Solution{Routes: [][]int{}}
	for _, r := range s.Routes {
		bad.Routes = append(bad.Routes, append([]int{}, r...))
	}
	bad.Routes[0] = append(bad.Routes[0], bad.Routes[1][0]) // a customer twice
	if _, err := Check(in, bad); err == nil {
		t.Fatal("a customer served twice passed")
	}
	rev := Solution{Routes: [][]int{}}
	for _, r := range s.Routes {
		x := append([]int{}, r...)
		for i, j := 0, len(x)-1; i < j; i, j = i+1, j-1 {
			x[i], x[j] = x[j], x[i]
		}
		rev.Routes = append(rev.Routes, x)
	}
	if _, err := Check(in, rev); err == nil {
		t.Fatal("reversed routes (windows broken) passed")
	}
	if _, err := Check(in, Solution{Routes: s.Routes[1:]}); err == nil {
		t.Fatal("a route's customers missing passed")
	}
}
