package scheduling

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzPlanOperations runs random sequences of Insert, Remove and Optimize on a random problem
// with pins and jobs under way, half the time with timed travel; and the modes: telling every
// placed visit a window, Insert keeping the told visits (they must stay with their technician
// inside their windows), Optimize with Stability (what starts within the freeze horizon must
// stay). After every step the checker must agree with the plan, pinned and started jobs must be
// where they were, and Optimize must never make the plan worse.
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
		if seed%2 == 1 {
			p.Travel = rushGrid{g}
		}
		plan, err := NewPlan(p, []Assignment{{Technician: p.Technicians[0].ID, Jobs: []int64{1000}}})
		if err != nil {
			t.Fatal(err)
		}
		skills := []string{"fridge", "washer", "oven", "boiler"}
		next, loc := int64(1), len(g)-50
		var live []int64
		pins := map[int64][2]int64{1000: {p.Technicians[0].ID, p.Now - 600}}
		for _, op := range ops {
			switch op % 6 {
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
			case 3: // tell every placed visit a window around its start
				plan = tellAll(t, plan)
			case 4: // a booking that must not move anyone told
				j := randomJob(rng, next, loc, skills, o)
				next, loc = next+1, loc+1
				if loc == len(g) {
					loc = len(g) - 50
				}
				was := placed(plan)
				if _, err := plan.InsertWith(j, nil, InsertOptions{KeepTold: true}); err != nil {
					t.Fatal(err)
				}
				live = append(live, j.ID)
				for _, pj := range plan.Problem().Jobs {
					if w, ok := was[pj.ID]; pj.Told == nil || !ok || w[1] < pj.Told.Start || w[1] > pj.Told.End {
						continue // not told, or moved since by an Optimize without stability
					}
					tech, _, start, ok := plan.Where(pj.ID)
					if !ok || tech != was[pj.ID][0] || start < pj.Told.Start || start > pj.Told.End {
						t.Fatalf("told job %d moved to %d at %d (told %v, was %v)", pj.ID, tech, start, *pj.Told, was[pj.ID])
					}
				}
			case 5: // a re-optimisation that keeps the next hour and charges for moves
				before, was := plan.Cost(), placed(plan)
				out, _ := Optimize(context.Background(), plan, Budget{Iterations: 30, Seed: seed, Stability: &Stability{Freeze: time.Hour}})
				if before.Less(out.Cost()) {
					t.Fatalf("optimise made it worse: %v → %v", before, out.Cost())
				}
				for id, w := range was {
					if w[1] < p.Now+3600 {
						if tech, _, start, ok := out.Where(id); !ok || tech != w[0] || start != w[1] {
							t.Fatalf("frozen job %d moved from %v to %d at %d", id, w, tech, start)
						}
					}
				}
				plan = out
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

// rushGrid is a grid with timed travel: legs are up to half again as long around 09:00 and
// 17:00 of each day, changing slowly enough that leaving later never arrives earlier.
type rushGrid struct{ grid }

func (r rushGrid) SecondsAt(a, b int, depart int64) int64 {
	base := r.grid.Seconds(a, b)
	h := depart % day
	slow := int64(0)
	for _, peak := range []int64{9 * 3600, 17 * 3600} {
		if d := abs(h - peak); d < 7200 {
			slow = max(slow, base*(7200-d)/14400) // slope ≤ base/14400 < 1
		}
	}
	return base + slow
}

// placed is where each placed job is: technician and start.
func placed(p *Plan) map[int64][2]int64 {
	out := map[int64][2]int64{}
	for _, r := range p.Routes() {
		for _, v := range r.Visits {
			out[v.Job] = [2]int64{r.Technician, v.Start}
		}
	}
	return out
}

// tellAll reloads p with every placed visit told a window from its start to an hour later.
func tellAll(t *testing.T, p *Plan) *Plan {
	t.Helper()
	pp := p.Problem()
	at := placed(p)
	for i := range pp.Jobs {
		if w, ok := at[pp.Jobs[i].ID]; ok && pp.Jobs[i].Told == nil {
			pp.Jobs[i].Told = &Window{w[1], w[1] + 3600}
		}
	}
	out, err := NewPlan(pp, assignments(p))
	if err != nil {
		t.Fatalf("a plan told its own times must load back: %v", err)
	}
	return out
}
