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

// TestRestartsKeepTheBest: a search that converges with budget left starts again with another
// seed; what it answers is never worse than its first search alone, and it goes on past it.
func TestRestartsKeepTheBest(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	p, _ := generate(rng, genOpts{techs: 3, jobs: 20, days: 1, windows: true, breaks: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := plan.c.fixedFor(plan.s) // what Optimize hands its searches, the same for every seed
	init := plan.s.clone()
	sc.restate(init)
	nb := sc.neighbours(plan.s, 1, func() {})
	restarted := 0
	for seed := uint64(1); seed <= 12; seed++ {
		b := Budget{Iterations: 20000, Seed: seed, Searches: 1, Patience: 200, Yield: func() {}}
		se := &search{c: sc, nb: nb, rng: rand.New(rand.NewPCG(b.Seed, 0x5eed)), budget: b, began: time.Now(), ctx: context.Background()}
		first, fst := se.run(context.Background(), init.clone())
		best, st := restarts(context.Background(), sc, nb, init, b, time.Now(), nil, 0)
		if first.sum.Less(best.sum) {
			t.Fatalf("seed %d: with restarts %v, the first search alone %v", seed, best.sum, first.sum)
		}
		if fst.Converged && st.Iterations > fst.Iterations {
			restarted++
		}
		if st.Iterations > b.Iterations {
			t.Fatalf("seed %d: %d iterations on a budget of %d", seed, st.Iterations, b.Iterations)
		}
	}
	if restarted == 0 {
		t.Fatal("no search converged and started again")
	}
}

// TestShareHandsTheBestOn: at a meeting point the search behind gets (a copy of) the best plan
// posted, the best gets nothing, and a search that has ended holds nobody up.
func TestShareHandsTheBestOn(t *testing.T) {
	good, bad, gone := &state{sum: Cost{Unassigned: 1}}, &state{sum: Cost{Unassigned: 2}}, &state{sum: Cost{Unassigned: 3}}
	sh := newShare(3, true)
	sh.end(2, gone)
	got := make(chan *state, 1)
	go func() { got <- sh.meet(1, 0, bad) }()
	if won := sh.meet(0, 0, good); won != nil {
		t.Fatalf("the best search was handed %v", won.sum)
	}
	if won := <-got; won == nil || won.sum != good.sum || won == good {
		t.Fatalf("the search behind was handed %v, want a copy of %v", won, good.sum)
	}
}

// compact flattens a square matrix of 32-bit times and leaves any other travel as it is.
func TestCompactKeepsEveryTime(t *testing.T) {
	m := Matrix{{0, 5, 7}, {6, 0, 9}, {8, 4, 0}}
	f := compact(m)
	if _, ok := f.(*flat); !ok {
		t.Fatalf("a 3×3 matrix stayed %T", f)
	}
	for a := range m {
		for b := range m[a] {
			if f.Seconds(a, b) != m[a][b] {
				t.Fatalf("%d→%d: %d, want %d", a, b, f.Seconds(a, b), m[a][b])
			}
		}
	}
	for _, tr := range []Travel{Matrix{{0, 1 << 40}, {1, 0}}, Matrix{{0, 1}, {1}}, Matrix{}} {
		if _, ok := compact(tr).(*flat); ok {
			t.Fatalf("%v was flattened", tr)
		}
	}
}

// cloneInto gives a copy equal to clone's whatever the memory it reuses held, and the copy
// shares nothing the search changes: unassigning a job from it leaves the original as it was.
func TestCloneIntoCopiesWithoutSharing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	p, _ := generate(rng, genOpts{techs: 3, jobs: 20, days: 1, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: 1, Searches: 1})
	s, c := full.s, full.c
	spare := plan.s.clone() // another plan's memory: the empty one
	spare.where = append(spare.where, 7, 7, 7)
	d := s.cloneInto(spare)
	same := func(a, b *state) bool {
		return a.sum == b.sum && slices.Equal(a.where, b.where) && slices.Equal(a.start, b.start) &&
			slices.Equal(a.work, b.work) && slices.Equal(a.rc, b.rc) &&
			slices.EqualFunc(a.seqs, b.seqs, func(x, y []int32) bool { return slices.Equal(x, y) })
	}
	if d != spare || !same(d, s.clone()) {
		t.Fatal("cloneInto's copy differs from clone's")
	}
	before := s.clone()
	for j := range d.where {
		if d.where[j] >= 0 {
			if !d.unassign(c, j) {
				t.Fatalf("job %d would not leave the copy", j)
			}
			break
		}
	}
	if same(d, s) || !same(s, before) {
		t.Fatal("changing the copy changed the original")
	}
}

// TestConvergedWaitsForTheCold: in the annealing's hot start a long run without a new best says
// nothing yet; there a search stops only after ten times its patience.
func TestConvergedWaitsForTheCold(t *testing.T) {
	for _, c := range []struct {
		it, last, patience int
		prog               float64
		want               bool
	}{
		{5000, 1000, 3000, 0.9, true},    // cold, 4,000 without a new best
		{5000, 1000, 3000, 0.06, false},  // the same in the hot start
		{5000, 2500, 3000, 0.9, false},   // not yet the patience
		{40000, 25000, 3000, 0.9, false}, // patience, but not half the iterations made
		{40000, 5000, 3000, 0.2, true},   // hot, but ten times the patience
		{40000, 11000, 3000, 0.2, false}, // hot, 29,000 without
		{40000, 11000, 3000, 0.3, true},  // cooled
		{1 << 30, 0, -1, 1, false},       // no patience
	} {
		if got := converged(c.it, c.last, c.patience, c.prog); got != c.want {
			t.Errorf("converged(%d, %d, %d, %.2f) = %v", c.it, c.last, c.patience, c.prog, got)
		}
	}
}
