package scheduling

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

func TestInsertKeepsEveryPlanFeasible(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p, _ := generate(rng, genOpts{techs: 6, jobs: 0, days: 3, breaks: true, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	placed := 0
	for i := range 80 {
		loc := len(p.Travel.(grid))
		g := append(p.Travel.(grid), [2]float64{rng.Float64() * 3600, rng.Float64() * 3600})
		p.Travel, plan.c.pr.Travel = g, g
		pl, err := plan.Insert(randomJob(rng, int64(1+i), loc, []string{"fridge", "washer", "oven", "boiler"}, genOpts{days: 3, windows: true}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Assigned {
			placed++
			if tech, _, start, ok := plan.Where(int64(1 + i)); !ok || tech != pl.Technician || start != pl.Start {
				t.Fatalf("Where disagrees with the placement %+v", pl)
			}
		} else if pl.Reason.Code == "" {
			t.Fatal("unassigned without a reason")
		}
		mustCheck(t, plan)
	}
	if placed < 60 {
		t.Fatalf("only %d of 80 jobs placed in three days of six technicians", placed)
	}
}

func TestSLAComesBeforeTravel(t *testing.T) {
	// Two technicians; the near one is busy until after the paid job's deadline.
	g := grid{{0, 0}, {100, 0}, {-2000, 0}, {120, 0}, {200, 0}}
	p := &Problem{Now: 0, Travel: g, Technicians: []Technician{
		{ID: 1, Start: 1, End: 1, Shifts: []Shift{{Window: Window{0, 20000}}}},
		{ID: 2, Start: 2, End: 2, Shifts: []Shift{{Window: Window{0, 20000}}}},
	}, Jobs: []Job{
		{ID: 10, Loc: 3, Duration: 7200, PinnedTech: 1, PinnedStart: 200},
	}}
	plan, err := NewPlan(p, []Assignment{{Technician: 1, Jobs: []int64{10}}})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Insert(Job{ID: 11, Loc: 0, Duration: 600, Due: 3600, Tier: Paid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !pl.Assigned || pl.Technician != 2 || pl.Start > 3600 {
		t.Fatalf("the paid job should go to the far technician, on time: %+v", pl)
	}
	mustCheck(t, plan)
	// Without a deadline, the near technician after the pinned job is cheaper.
	pl, _ = plan.Insert(Job{ID: 12, Loc: 4, Duration: 600}, nil)
	if pl.Technician != 1 {
		t.Fatalf("without a deadline travel decides: %+v", pl)
	}
	mustCheck(t, plan)
}

func TestUnassignedReasons(t *testing.T) {
	g := grid{{0, 0}, {10, 0}}
	tech := Technician{ID: 1, Skills: []string{"fridge"}, Shifts: []Shift{{Window: Window{0, 10000}}}, MaxJobs: 1}
	for _, tc := range []struct {
		name       string
		job        Job
		candidates []int64
		want       Reason
	}{
		{"skill", Job{ID: 2, Loc: 1, Duration: 60, Skills: []string{"oven"}}, nil, ReasonNoSkill},
		{"area", Job{ID: 2, Loc: 1, Duration: 60}, []int64{}, ReasonOutsideAreas},
		{"shift", Job{ID: 2, Loc: 1, Duration: 60, Windows: []Window{{20000, 30000}}}, nil, ReasonNoShift},
		{"capacity", Job{ID: 2, Loc: 1, Duration: 60}, nil, ReasonCapacity},
		{"pinned start", Job{ID: 2, Loc: 1, Duration: 60, PinnedStart: 5}, nil, ReasonPinned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Problem{Travel: g, Technicians: []Technician{tech}, Jobs: []Job{{ID: 1, Loc: 1, Duration: 60}}}
			plan, err := NewPlan(p, []Assignment{{Technician: 1, Jobs: []int64{1}}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.name != "capacity" {
				plan.c.pr.Technicians[0].MaxJobs = 0
			}
			pl, err := plan.Insert(tc.job, tc.candidates)
			if err != nil {
				t.Fatal(err)
			}
			if pl.Assigned || pl.Reason != tc.want {
				t.Fatalf("got %+v, want reason %v", pl, tc.want)
			}
			mustCheck(t, plan)
		})
	}
}

func TestBreaksAndWindows(t *testing.T) {
	g := grid{{0, 0}, {600, 0}, {1200, 0}}
	p := &Problem{Travel: g, Technicians: []Technician{{ID: 1, Shifts: []Shift{{Window: Window{0, 30000},
		Breaks: []Break{{Window{10000, 12000}, 1800}}}}}},
		Jobs: []Job{
			{ID: 1, Loc: 1, Duration: 1800, Windows: []Window{{9000, 9500}}},
			{ID: 2, Loc: 2, Duration: 3600, Windows: []Window{{11000, 20000}}},
		}}
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Optimize(context.Background(), plan, Budget{Iterations: 50})
	mustCheck(t, out)
	rs := out.Routes()
	if len(rs) != 1 || len(rs[0].Visits) != 2 || len(rs[0].Breaks) != 1 {
		t.Fatalf("want both visits and the break: %+v", rs)
	}
	// Job 1 is 9000–10800; job 2 would end after the break's last start (12000), so the break
	// is taken on arrival at job 2 (10800 + 600 drive), and job 2 starts after it.
	v, b := rs[0].Visits, rs[0].Breaks[0]
	if v[0].Job != 1 || v[0].Start != 9000 || b.Start != 11400 || b.End != 13200 || v[1].Start != 13200 {
		t.Fatalf("schedule: %+v", rs[0])
	}
	// A job that would end after the break's latest start cannot straddle it.
	p.Jobs[0].Duration = 3600
	plan, _ = NewPlan(p, nil)
	out, _ = Optimize(context.Background(), plan, Budget{Iterations: 50})
	mustCheck(t, out)
	if u := out.Unassigned(); len(u) != 1 || u[0].Job != 1 {
		t.Fatalf("job 1 (9000–12600) leaves no time for the break (start by 12000): %+v", out.Routes())
	}
}

func TestRemoveAndErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p, _ := generate(rng, genOpts{techs: 3, jobs: 20, days: 2, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ = Optimize(context.Background(), plan, Budget{Iterations: 100})
	mustCheck(t, plan)
	for id := int64(1); id <= 20; id += 3 {
		if err := plan.Remove(id); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, plan)
	}
	if err := plan.Remove(1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := plan.Insert(Job{ID: 2, Loc: 0}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a duplicate id must be refused: %v", err)
	}
	if _, err := NewPlan(&Problem{Travel: grid{{0, 0}}, Jobs: []Job{{ID: 1, Duration: -1}}}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative duration: %v", err)
	}
}

func TestOptimizePinsStartedAndDisruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p, _ := generate(rng, genOpts{techs: 5, jobs: 40, days: 3, breaks: true, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ = Optimize(context.Background(), plan, Budget{Iterations: 50})
	// Pin some placed jobs where they are, mark others accepted, and plan again from there.
	p2 := plan.Problem()
	index := map[int64]*Job{}
	for i := range p2.Jobs {
		index[p2.Jobs[i].ID] = &p2.Jobs[i]
	}
	pinned := map[int64][2]int64{}
	var routes []Assignment
	for _, r := range plan.Routes() {
		a := Assignment{Technician: r.Technician, Shift: r.Shift}
		for i, v := range r.Visits {
			a.Jobs = append(a.Jobs, v.Job)
			switch i % 3 {
			case 0:
				index[v.Job].PinnedTech, index[v.Job].PinnedStart = r.Technician, v.Start
				pinned[v.Job] = [2]int64{r.Technician, v.Start}
			case 1:
				index[v.Job].AcceptedBy = r.Technician
			}
		}
		routes = append(routes, a)
	}
	plan, err = NewPlan(p2, routes)
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, plan)
	out, st := Optimize(context.Background(), plan, Budget{Iterations: 300, Seed: 9})
	mustCheck(t, out)
	if plan.Cost().Less(out.Cost()) {
		t.Fatalf("optimize made the plan worse: %v → %v", plan.Cost(), out.Cost())
	}
	for id, was := range pinned {
		tech, _, start, ok := out.Where(id)
		if !ok || tech != was[0] || start != was[1] {
			t.Fatalf("pinned job %d moved: %v → tech %d start %d", id, was, tech, start)
		}
	}
	if st.Iterations < 300 {
		t.Fatalf("iterations %d", st.Iterations)
	}
}

func TestOptimizeIsDeterministicForASeed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p, _ := generate(rng, genOpts{techs: 6, jobs: 60, days: 2, breaks: true, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: 4})
	b, _ := Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: 4})
	if a.Cost() != b.Cost() {
		t.Fatalf("same seed, different plans: %v vs %v", a.Cost(), b.Cost())
	}
	ra, rb := a.Routes(), b.Routes()
	for i := range ra {
		for k := range ra[i].Visits {
			if ra[i].Visits[k] != rb[i].Visits[k] {
				t.Fatalf("same seed, different routes")
			}
		}
	}
	mustCheck(t, a)
	if !a.Cost().Less(plan.Cost()) {
		t.Fatalf("optimising from nothing placed should improve: %v", a.Cost())
	}
}

// Yield is called by every search at least before each iteration, and the plan found is the
// one found without it: it may only wait.
func TestOptimizeYieldsBetweenIterations(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p, _ := generate(rng, genOpts{techs: 6, jobs: 60, days: 2, breaks: true, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	a, st := Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: 4, Searches: 2, Yield: func() { calls.Add(1) }})
	b, _ := Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: 4, Searches: 2})
	if n := calls.Load(); n < int64(st.Iterations) {
		t.Fatalf("Yield called %d times for %d iterations of 2 searches", n, st.Iterations)
	}
	if a.Cost() != b.Cost() {
		t.Fatalf("yielding changed the plan: %v vs %v", a.Cost(), b.Cost())
	}
}

func TestOptimizeStopsPromptlyOnCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	p, _ := generate(rng, genOpts{techs: 40, jobs: 500, days: 3, breaks: true, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	began := time.Now()
	out, _ := Optimize(ctx, plan, Budget{Time: time.Minute})
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("cancel took %v to be heard", took)
	}
	mustCheck(t, out)
	if !out.Cost().Less(plan.Cost()) {
		t.Fatalf("the best so far should beat nothing placed: %v", out.Cost())
	}
}

func TestNearestAvailableIsFeasibleAndBeatenByOptimize(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	p, _ := generate(rng, genOpts{techs: 8, jobs: 120, days: 3, breaks: true, windows: true})
	base, err := NearestAvailable(p)
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, base)
	out, _ := Optimize(context.Background(), base, Budget{Iterations: 500})
	mustCheck(t, out)
	if !out.Cost().Less(base.Cost()) {
		t.Fatalf("optimise did not improve on the baseline: %v vs %v", out.Cost(), base.Cost())
	}
}

func TestExcludedTechniciansAndShiftEnds(t *testing.T) {
	g := grid{{0, 0}, {100, 0}, {3000, 0}, {50, 0}, {2000, 0}}
	door := 4
	p := &Problem{Travel: g, Technicians: []Technician{
		{ID: 1, Start: 1, End: 1, Shifts: []Shift{{Window: Window{0, 20000}}}},
		{ID: 2, Start: 2, End: 2, Shifts: []Shift{{Window: Window{0, 5000}, To: &door}, {Window: Window{9000, 20000}, From: &door}}},
	}}
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := plan.Insert(Job{ID: 10, Loc: 3, Duration: 600, Exclude: []int64{1}}, nil)
	if pl.Technician != 2 {
		t.Fatalf("technician 1 declined the job: %+v", pl)
	}
	// Technician 2's first shift ends at a fixed visit's door (2000): from 3000 to 50 and back
	// to 2000 is 2950 + 600 + 1950 = 5500 > 5000, so the job waits for the second shift.
	if pl.Shift != 1 || pl.Start != 9000+1950 {
		t.Fatalf("want the second shift, leaving the door at 9000: %+v", pl)
	}
	// Only technician 1's area holds this address, though 2 is nearer.
	if pl, _ := plan.Insert(Job{ID: 11, Loc: 2, Duration: 600, Technicians: []int64{1}}, nil); pl.Technician != 1 {
		t.Fatalf("only technician 1 may go: %+v", pl)
	}
	mustCheck(t, plan)
}

func TestPlansDoNotShareTheirJobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	p, g := generate(rng, genOpts{techs: 3, jobs: 10, days: 2})
	for range 4 {
		g = append(g, [2]float64{100, 100})
	}
	p.Travel = g
	before, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := Optimize(context.Background(), before, Budget{Iterations: 20})
	if _, err := after.Insert(Job{ID: 100, Loc: len(g) - 1, Duration: 600}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := before.Insert(Job{ID: 101, Loc: len(g) - 2, Duration: 600}, nil); err != nil {
		t.Fatal(err)
	}
	if err := after.Remove(3); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, before)
	mustCheck(t, after)
	if len(before.Problem().Jobs) != 11 || len(after.Problem().Jobs) != 10 {
		t.Fatalf("jobs: before %d, after %d", len(before.Problem().Jobs), len(after.Problem().Jobs))
	}
}

// TestInsertLeavesTheCallersJobsAlone: a plan's Insert adds jobs to its own copy of the problem's
// jobs, never into the caller's slice or the room beyond its length (the online insertion hands
// NewPlan jobs built in a pooled buffer, reused by the next booking).
func TestInsertLeavesTheCallersJobsAlone(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p, _ := generate(rng, genOpts{techs: 3, jobs: 6, days: 1})
	backing := make([]Job, len(p.Jobs), len(p.Jobs)+20) // room beyond the length, as a pooled buffer has
	copy(backing, p.Jobs)
	sentinel := Job{ID: -99}
	for i := len(backing); i < cap(backing); i++ {
		backing[:cap(backing)][i] = sentinel
	}
	p.Jobs = backing
	before := append([]Job(nil), backing...)
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 { // past the plan's own room for inserted jobs
		if _, err := plan.Insert(Job{ID: int64(1000 + i), Loc: p.Jobs[i%len(p.Jobs)].Loc, Duration: 600}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.Jobs) != len(before) {
		t.Fatalf("the caller's jobs grew to %d", len(p.Jobs))
	}
	for i := range before {
		if p.Jobs[i].ID != before[i].ID || p.Jobs[i].Loc != before[i].Loc {
			t.Fatalf("the caller's job %d changed", i)
		}
	}
	for i, j := range backing[:cap(backing)][len(backing):] {
		if j.ID != sentinel.ID {
			t.Fatalf("Insert wrote job %d into the caller's room at %d", j.ID, len(backing)+i)
		}
	}
	if got := len(plan.Problem().Jobs); got != len(before)+12 {
		t.Fatalf("the plan holds %d jobs, want %d", got, len(before)+12)
	}
}
