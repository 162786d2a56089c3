package scheduling

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// FuzzPlanOperations runs random sequences of Insert, Remove and Optimize on a random problem
// with pins and jobs under way; after every step the checker must agree with the plan, pinned
// and started jobs must be where they were, and Optimize must never make the plan worse.
func FuzzPlanOperations(f *testing.F) {
	f.Add(uint64(1), []byte{0, 0, 0, 1, 2, 0, 0, 2})
	f.Add(uint64(2), []byte{2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 2})
	f.Add(uint64(3), []byte{0, 1, 0, 1, 0, 1, 2, 2})
	f.Fuzz(func(t *testing.T, seed uint64, ops []byte) {
		if len(ops) > 40 {
			ops = ops[:40]
		}
		rng := rand.New(rand.NewPCG(seed, binary.LittleEndian.Uint64(append(ops, make([]byte, 8)...))))
		o := genOpts{techs: 1 + rng.IntN(4), days: 1 + rng.IntN(3), breaks: rng.IntN(2) == 0, windows: true}
		p, g := generate(rng, o)
		// A job under way for the first technician, and room for the new jobs' addresses.
		p.Jobs = append(p.Jobs, Job{ID: 1000, Loc: p.Technicians[0].Start, Duration: 3600, Started: true,
			PinnedTech: p.Technicians[0].ID, PinnedStart: p.Now - 600})
		for range 50 {
			g = append(g, [2]float64{rng.Float64() * 3600, rng.Float64() * 3600})
		}
		p.Travel = g
		plan, err := NewPlan(p, []Assignment{{Technician: p.Technicians[0].ID, Jobs: []int64{1000}}})
		if err != nil {
			t.Fatal(err)
		}
		skills := []string{"fridge", "washer", "oven", "boiler"}
		next, loc := int64(1), len(g)-50
		var live []int64
		pins := map[int64][2]int64{1000: {p.Technicians[0].ID, p.Now - 600}}
		for _, op := range ops {
			switch op % 3 {
			case 0: // a booking, sometimes pinned to a technician
				j := randomJob(rng, next, loc, skills, o)
				if rng.IntN(4) == 0 {
					j.PinnedTech = p.Technicians[rng.IntN(len(p.Technicians))].ID
				}
				next, loc = next+1, loc+1
				if loc == len(g) {
					loc = len(g) - 50
				}
				pl, err := plan.Insert(j, nil)
				if err != nil {
					t.Fatal(err)
				}
				if pl.Assigned && j.PinnedTech != 0 && pl.Technician != j.PinnedTech {
					t.Fatalf("job pinned to %d placed with %d", j.PinnedTech, pl.Technician)
				}
				live = append(live, j.ID)
			case 1: // a cancellation
				if len(live) == 0 {
					continue
				}
				k := rng.IntN(len(live))
				if _, pinned := pins[live[k]]; pinned {
					continue
				}
				if err := plan.Remove(live[k]); err != nil {
					t.Fatal(err)
				}
				live = append(live[:k], live[k+1:]...)
			case 2: // a re-optimisation; then pin one placed job where it is
				before := plan.Cost()
				out, _ := Optimize(context.Background(), plan, Budget{Iterations: 30, Seed: seed})
				if before.Less(out.Cost()) {
					t.Fatalf("optimise made it worse: %v → %v", before, out.Cost())
				}
				plan = out
				for _, id := range live {
					if _, pinned := pins[id]; pinned {
						continue
					}
					if tech, _, start, ok := plan.Where(id); ok {
						pins[id] = [2]int64{tech, start}
						pp := plan.Problem()
						var routes []Assignment
						for _, r := range plan.Routes() {
							a := Assignment{Technician: r.Technician, Shift: r.Shift}
							for _, v := range r.Visits {
								a.Jobs = append(a.Jobs, v.Job)
							}
							routes = append(routes, a)
						}
						for i := range pp.Jobs {
							if pp.Jobs[i].ID == id {
								pp.Jobs[i].PinnedTech, pp.Jobs[i].PinnedStart = tech, start
							}
						}
						if plan, err = NewPlan(pp, routes); err != nil {
							t.Fatalf("a checked plan must load back: %v", err)
						}
						break
					}
				}
			}
			mustCheck(t, plan)
			for id, was := range pins {
				tech, _, start, ok := plan.Where(id)
				if !ok || tech != was[0] || start != was[1] {
					t.Fatalf("pinned job %d moved from %v to technician %d at %d (placed %v)", id, was, tech, start, ok)
				}
			}
		}
	})
}
