package scheduling

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestOptimizeStopsWhenConverged: a small day given a long time limit stops once the search
// has gone long without a new best, says so and reports the time it used; with Patience -1 it
// spends its whole iteration budget.
func TestOptimizeStopsWhenConverged(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	p, _ := generate(rng, genOpts{techs: 2, jobs: 8, days: 1, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, st := Optimize(context.Background(), plan, Budget{Time: time.Minute, Seed: 1, Patience: 200})
	if !st.Converged || st.Elapsed > 30*time.Second {
		t.Fatalf("converged %v after %v (%d iterations)", st.Converged, st.Elapsed, st.Iterations)
	}
	_, st = Optimize(context.Background(), plan, Budget{Iterations: 3000, Seed: 1, Searches: 1, Patience: -1})
	if st.Converged || st.Iterations != 3000 {
		t.Fatalf("without patience: converged %v after %d iterations", st.Converged, st.Iterations)
	}
}

// TestSameSeedSameAnswerWithPatience: the iteration budget and the seed decide the answer, early
// stop included.
func TestSameSeedSameAnswerWithPatience(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	p, _ := generate(rng, genOpts{techs: 3, jobs: 20, days: 1, windows: true, breaks: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, sa := Optimize(context.Background(), plan, Budget{Iterations: 5000, Seed: 3, Patience: 300})
	b, sb := Optimize(context.Background(), plan, Budget{Iterations: 5000, Seed: 3, Patience: 300})
	if a.Cost() != b.Cost() || sa.Iterations != sb.Iterations {
		t.Fatalf("same seed: %v after %d, %v after %d", a.Cost(), sa.Iterations, b.Cost(), sb.Iterations)
	}
	for _, r := range a.Routes() {
		for _, v := range r.Visits {
			tech, _, start, _ := b.Where(v.Job)
			if tech != r.Technician || start != v.Start {
				t.Fatalf("job %d: %d at %d, then %d at %d", v.Job, r.Technician, v.Start, tech, start)
			}
		}
	}
}

// firstOf must give what a full sort puts first, in the same order, for any m.
func TestFirstOfIsTheSortsHead(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for n := range 60 {
		for _, m := range []int{0, min(n, 1), min(n, 3), n / 2, n} {
			xs := make([]int, n)
			for i := range xs {
				xs[i] = rng.IntN(20)
			}
			want := slices.Clone(xs)
			slices.Sort(want)
			got := firstOf(slices.Clone(xs), m, cmp.Compare[int])
			if !slices.Equal(got, want[:m]) {
				t.Fatalf("n %d m %d: %v, want %v", n, m, got, want[:m])
			}
		}
	}
}
