package scheduling

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// toldPlan is an optimised random day where every placed visit was told a window of ±30 min
// around its start.
func toldPlan(t *testing.T, seed uint64) *Plan {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	p, _ := generate(rng, genOpts{techs: 4, jobs: 24, days: 1, windows: true})
	plan, err := NewPlan(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ = Optimize(context.Background(), plan, Budget{Iterations: 100, Seed: seed})
	pp := plan.Problem()
	for i := range pp.Jobs {
		if _, _, start, ok := plan.Where(pp.Jobs[i].ID); ok {
			pp.Jobs[i].Told = &Window{start - 1800, start + 1800}
		}
	}
	out, err := NewPlan(pp, assignments(plan))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assignments(p *Plan) []Assignment {
	var out []Assignment
	for _, r := range p.Routes() {
		a := Assignment{Technician: r.Technician, Shift: r.Shift}
		for _, v := range r.Visits {
			a.Jobs = append(a.Jobs, v.Job)
		}
		out = append(out, a)
	}
	return out
}

// TestInsertKeepingToldNeverMovesAToldVisit: in KeepTold mode every told visit stays with its
// technician inside its told window, whatever is booked; plain Insert may push them out.
func TestInsertKeepingToldNeverMovesAToldVisit(t *testing.T) {
	for seed := range uint64(8) {
		plan := toldPlan(t, seed)
		rng := rand.New(rand.NewPCG(seed, 9))
		was := map[int64]int64{}
		for _, j := range plan.Problem().Jobs {
			if tech, _, _, ok := plan.Where(j.ID); ok {
				was[j.ID] = tech
			}
		}
		for k := range 15 {
			j := randomJob(rng, int64(500+k), rng.IntN(24), []string{"fridge", "washer", "oven", "boiler"}, genOpts{days: 1, windows: true})
			if _, err := plan.InsertWith(j, nil, InsertOptions{KeepTold: true}); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, plan)
			for _, pj := range plan.Problem().Jobs {
				tech, _, start, ok := plan.Where(pj.ID)
				if pj.Told == nil {
					continue
				}
				if !ok || tech != was[pj.ID] || start < pj.Told.Start || start > pj.Told.End {
					t.Fatalf("seed %d: told job %d moved to technician %d at %d (told %v with %d)", seed, pj.ID, tech, start, *pj.Told, was[pj.ID])
				}
			}
		}
	}
}

// TestStabilityFreezesAndChargesMoves: with Stability, visits starting within the freeze
// horizon and accepted ones keep technician and start; a move cost too high for any saving
// leaves every told visit where it was told; with no move cost the search moves some.
func TestStabilityFreezesAndChargesMoves(t *testing.T) {
	for seed := range uint64(6) {
		plan := toldPlan(t, seed)
		var err error
		// The plan as told, with one accepted visit.
		var accepted int64
		for _, j := range plan.Problem().Jobs {
			if tech, _, _, ok := plan.Where(j.ID); ok && accepted == 0 {
				accepted = j.ID
				pp2 := plan.Problem()
				for i := range pp2.Jobs {
					if pp2.Jobs[i].ID == j.ID {
						pp2.Jobs[i].AcceptedBy = tech
					}
				}
				if plan, err = NewPlan(pp2, assignments(plan)); err != nil {
					t.Fatal(err)
				}
			}
		}
		type at struct {
			tech, start int64
		}
		before := map[int64]at{}
		for _, j := range plan.Problem().Jobs {
			if tech, _, start, ok := plan.Where(j.ID); ok {
				before[j.ID] = at{tech, start}
			}
		}
		freeze := 2 * time.Hour
		horizon := plan.Problem().Now + int64(freeze/time.Second)
		out, st := Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: seed, Stability: &Stability{Freeze: freeze, MoveCost: 1 << 40}})
		mustCheck(t, out)
		if st.Moved != 0 {
			t.Fatalf("seed %d: %d told visits moved at a prohibitive cost", seed, st.Moved)
		}
		for _, j := range out.Problem().Jobs {
			b, was := before[j.ID]
			if !was {
				continue
			}
			tech, _, start, ok := out.Where(j.ID)
			if b.start < horizon || j.ID == accepted {
				if !ok || tech != b.tech || start != b.start {
					t.Fatalf("seed %d: frozen or accepted job %d moved from %v to %d at %d", seed, j.ID, b, tech, start)
				}
				continue
			}
			if !ok || tech != b.tech || start < j.Told.Start || start > j.Told.End {
				t.Fatalf("seed %d: told job %d moved from %v to %d at %d (told %v)", seed, j.ID, b, tech, start, *j.Told)
			}
		}
		// Moves almost free: the frozen and the accepted still stay.
		out, _ = Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: seed, Stability: &Stability{Freeze: freeze, MoveCost: 1, ChangeCost: 1}})
		mustCheck(t, out)
		for id, b := range before {
			if tech, _, start, ok := out.Where(id); (b.start < horizon || id == accepted) && (!ok || tech != b.tech || start != b.start) {
				t.Fatalf("seed %d: frozen or accepted job %d moved from %v to %d at %d", seed, id, b, tech, start)
			}
		}
		// At the default cost, the moves made must pay for themselves in travel.
		out, st = Optimize(context.Background(), plan, Budget{Iterations: 200, Seed: seed, Stability: &Stability{}})
		mustCheck(t, out)
		if a, b := out.Cost(), plan.Cost(); a.upper() == b.upper() && a.Travel+int64(st.Moved)*DefaultMoveCost > b.Travel {
			t.Fatalf("seed %d: %d moves (at least %ds each) for travel %d → %d", seed, st.Moved, DefaultMoveCost, b.Travel, a.Travel)
		}
	}
}
