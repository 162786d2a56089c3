package main

// The parts variant (issue 25): a city day where some jobs need a spare part, each van holds a
// random few parts, and two warehouses hold every part. Two planners plan the same day:
//
//   - ignoring parts: the plain day; afterwards each route is walked with its van's stock and a
//     visit whose part is not (or no longer) in the van is one that would have failed on site;
//   - parts-aware: a job that needs a part may go only to a van that holds it; the quantities
//     are kept by walking the routes and re-inserting a visit whose van ran out elsewhere. A job
//     no van can serve that way is given to a technician who starts the day at the warehouse
//     nearest their home (a pick-up stop: the drive there and 10 minutes, their shift's first
//     visit after it), chosen, for each such job, among the three whose detour to it through a
//     warehouse is shortest; a technician who in the end carries nothing from the warehouse
//     starts from home again. Every served part-visit is then checked to have its part.
//
// This is FieldFix's planner (scheduling) with the parts rule written as allowed technicians,
// the way dispatch/planning filters candidates by VansHolding; the live planner does not yet
// place pick-up stops in routes (docs/parts.md).

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/scheduling"
	"github.com/fieldfix/fieldfix/scheduling/vroom"
)

const (
	pickupService = 600 // seconds at the warehouse's counter
	noVan         = -1  // an allowed-technician id nobody has: the job cannot be placed
)

// partsDay is a city day with parts.
type partsDay struct {
	name    string
	pr      *scheduling.Problem // the plain day
	need    map[int64]int       // job id → the SKU it needs
	stock   map[int64][]int     // technician id → quantity of each SKU in the van
	home    map[int64]int       // technician id → matrix index of home
	wh      []int               // matrix indices of the two warehouses
	mat     scheduling.Matrix
	nSKU    int
	partJob int
}

// newPartsDay makes day d's parts variant: share of the jobs need one of nSKU parts (uniformly),
// each van holds perVan different parts, one of each.
func newPartsDay(name string, seed uint32, njobs, ntechs int, share float64, nSKU, perVan int) *partsDay {
	vp, locs := cityDayAt(seed, njobs, ntechs)
	r := rand.New(rand.NewPCG(uint64(seed), 25))
	d := &partsDay{name: name, need: map[int64]int{}, stock: map[int64][]int{}, home: map[int64]int{}, nSKU: nSKU}
	// Two warehouses, 6 km west and 6 km east-north-east of the centre.
	for _, off := range [][2]float64{{-6000, 0}, {5500, 2500}} {
		locs = append(locs, [2]float64{lng0 + off[0]/(111320*cosLat0()), lat0 + off[1]/110540})
		d.wh = append(d.wh, len(locs)-1)
	}
	d.mat = make(scheduling.Matrix, len(locs))
	for a := range locs {
		d.mat[a] = make([]int64, len(locs))
		for b := range locs {
			d.mat[a][b] = secs(locs[a], locs[b])
		}
	}
	d.pr = problemOf(vp, d.mat)
	for _, t := range d.pr.Technicians {
		d.home[t.ID] = t.Start
		s := make([]int, nSKU)
		for _, k := range r.Perm(nSKU)[:perVan] {
			s[k] = 1
		}
		d.stock[t.ID] = s
	}
	for _, j := range d.pr.Jobs {
		if r.Float64() < share {
			d.need[j.ID] = r.IntN(nSKU)
			d.partJob++
		}
	}
	return d
}

func cosLat0() float64 { return math.Cos(rad(lat0)) }

// problemOf is a VROOM city day as scheduling's problem over mat.
func problemOf(vp *vroom.Problem, mat scheduling.Matrix) *scheduling.Problem {
	pr := &scheduling.Problem{Travel: mat}
	skills := func(xs []int64) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = fmt.Sprintf("s%d", x)
		}
		return out
	}
	for _, v := range vp.Vehicles {
		pr.Technicians = append(pr.Technicians, scheduling.Technician{ID: v.ID, Skills: skills(v.Skills), Start: *v.StartIndex, End: *v.EndIndex,
			MaxJobs: *v.MaxTasks, Shifts: []scheduling.Shift{{Window: scheduling.Window{Start: v.TimeWindow[0], End: v.TimeWindow[1]}}}})
	}
	for _, j := range vp.Jobs {
		sj := scheduling.Job{ID: j.ID, Loc: *j.LocationIndex, Duration: j.Service, Skills: skills(j.Skills), Priority: j.Priority}
		for _, w := range j.TimeWindows {
			sj.Windows = append(sj.Windows, scheduling.Window{Start: w[0], End: w[1]})
		}
		if j.Priority >= 100 {
			sj.Tier = scheduling.Paid
		}
		pr.Jobs = append(pr.Jobs, sj)
	}
	return pr
}

// nearestWarehouse to matrix index from.
func (d *partsDay) nearestWarehouse(from int) int {
	best := d.wh[0]
	for _, w := range d.wh[1:] {
		if d.mat[from][w] < d.mat[from][best] {
			best = w
		}
	}
	return best
}

// partsOutcome is what one planner's plan of the day comes to.
type partsOutcome struct {
	served, partServed int
	failed             int // served part-visits whose van did not hold the part (ignoring parts)
	pickups            int
	pickupDetour       int64 // seconds from home to the warehouse, summed over the pick-ups
	travel             int64 // seconds, with the drives to the warehouses
	used               time.Duration
}

// walk follows each route in order with its van's stock: a part-visit is covered when the van
// still holds the part or its technician picked up at a warehouse. It answers the visits that
// were not covered, each with its technician.
func (d *partsDay) walk(plan *scheduling.Plan, pickup map[int64]int) map[int64]int64 {
	left := map[int64][]int{}
	for id, s := range d.stock {
		left[id] = slices.Clone(s)
	}
	short := map[int64]int64{}
	for _, rt := range plan.Routes() {
		if _, ok := pickup[rt.Technician]; ok {
			continue
		}
		for _, v := range rt.Visits {
			sku, needs := d.need[v.Job]
			if !needs {
				continue
			}
			if left[rt.Technician][sku] > 0 {
				left[rt.Technician][sku]--
			} else {
				short[v.Job] = rt.Technician
			}
		}
	}
	return short
}

// problem is the day for the parts-aware planner: a part-job allowed on the vans that hold its
// part and on the pick-up technicians; a pick-up technician's shift starts at their warehouse.
func (d *partsDay) problem(pickup map[int64]int, barred map[int64][]int64) *scheduling.Problem {
	pr := *d.pr
	pr.Technicians = slices.Clone(d.pr.Technicians)
	for i, t := range pr.Technicians {
		if w, ok := pickup[t.ID]; ok {
			sh := t.Shifts[0]
			from := w
			sh.From = &from
			sh.Window.Start += d.mat[t.Start][w] + pickupService
			pr.Technicians[i].Shifts = []scheduling.Shift{sh}
		}
	}
	pr.Jobs = slices.Clone(d.pr.Jobs)
	for i, j := range pr.Jobs {
		sku, needs := d.need[j.ID]
		if !needs {
			continue
		}
		var allowed []int64
		for _, t := range d.pr.Technicians {
			_, picks := pickup[t.ID]
			if (picks || d.stock[t.ID][sku] > 0) && !slices.Contains(barred[j.ID], t.ID) {
				allowed = append(allowed, t.ID)
			}
		}
		if len(allowed) == 0 {
			allowed = []int64{noVan}
		}
		pr.Jobs[i].Technicians = allowed
	}
	return &pr
}

// solve plans pr within limit; the plan is re-checked.
func solve(pr *scheduling.Problem, limit time.Duration, seed uint64) (*scheduling.Plan, error) {
	empty, err := scheduling.NewPlan(pr, nil)
	if err != nil {
		return nil, err
	}
	plan, _ := scheduling.Optimize(context.Background(), empty, scheduling.Budget{Time: limit, Seed: seed, Searches: 2})
	if _, err := scheduling.Check(plan); err != nil {
		return nil, err
	}
	return plan, nil
}

// awarePlan solves the parts-aware problem and keeps the quantities: a visit whose van ran out
// on an earlier visit is barred from that van and the day solved again (up to five times), then
// any still short are left out.
func (d *partsDay) awarePlan(pickup map[int64]int, limit time.Duration, seed uint64) (*scheduling.Plan, error) {
	barred := map[int64][]int64{}
	for round := 0; ; round++ {
		plan, err := solve(d.problem(pickup, barred), limit, seed)
		if err != nil {
			return nil, err
		}
		short := d.walk(plan, pickup)
		if len(short) == 0 {
			return plan, nil
		}
		if round == 4 {
			for job := range short {
				if err := plan.Remove(job); err != nil {
					return nil, err
				}
			}
			return plan, nil
		}
		for job, tech := range short {
			barred[job] = append(barred[job], tech)
		}
	}
}

// ignoring plans the plain day and counts the part-visits that would have failed.
func (d *partsDay) ignoring(limit time.Duration, seed uint64) (partsOutcome, error) {
	began := time.Now()
	plan, err := solve(d.pr, limit, seed)
	if err != nil {
		return partsOutcome{}, err
	}
	o := d.outcome(plan, nil)
	o.failed = len(d.walk(plan, nil))
	o.used = time.Since(began)
	return o, nil
}

// aware plans with parts: vans first (answered too, as vansOnly); then pick-ups for the
// part-jobs left unserved.
func (d *partsDay) aware(limit time.Duration, seed uint64) (vansOnly, withPickups partsOutcome, err error) {
	began := time.Now()
	plan, err := d.awarePlan(nil, limit, seed)
	if err != nil {
		return partsOutcome{}, partsOutcome{}, err
	}
	vansOnly = d.outcome(plan, nil)
	vansOnly.used = time.Since(began)
	pickup := map[int64]int{}
	for _, u := range plan.Unassigned() {
		if _, needs := d.need[u.Job]; !needs {
			continue
		}
		j := d.pr.Jobs[slices.IndexFunc(d.pr.Jobs, func(j scheduling.Job) bool { return j.ID == u.Job })]
		type cand struct {
			id     int64
			detour int64
		}
		var cs []cand
		for _, t := range d.pr.Technicians {
			if !hasAll(t.Skills, j.Skills) {
				continue
			}
			w := d.nearestWarehouse(t.Start)
			cs = append(cs, cand{t.ID, d.mat[t.Start][w] + d.mat[w][j.Loc]})
		}
		slices.SortFunc(cs, func(a, b cand) int { return int(a.detour - b.detour) })
		for _, c := range cs[:min(3, len(cs))] {
			pickup[c.id] = d.nearestWarehouse(d.home[c.id])
		}
	}
	if len(pickup) > 0 {
		if plan, err = d.awarePlan(pickup, limit, seed); err != nil {
			return partsOutcome{}, partsOutcome{}, err
		}
		// A pick-up that carries nothing its van lacks is dropped when its route still works from home.
		for id := range pickup {
			if d.needsWarehouse(plan, id) {
				continue
			}
			trial := maps(pickup)
			delete(trial, id)
			if again, err := scheduling.NewPlan(d.problem(trial, nil), assignments(plan)); err == nil && len(d.walk(again, trial)) == 0 {
				plan, pickup = again, trial
			}
		}
	}
	if short := d.walk(plan, pickup); len(short) > 0 {
		return partsOutcome{}, partsOutcome{}, fmt.Errorf("%s: the parts-aware plan has %d visits without their part", d.name, len(short))
	}
	withPickups = d.outcome(plan, pickup)
	withPickups.used = time.Since(began)
	return vansOnly, withPickups, nil
}

// needsWarehouse: technician id's route has a part-visit their own van does not cover.
func (d *partsDay) needsWarehouse(plan *scheduling.Plan, id int64) bool {
	left := slices.Clone(d.stock[id])
	for _, rt := range plan.Routes() {
		if rt.Technician != id {
			continue
		}
		for _, v := range rt.Visits {
			if sku, needs := d.need[v.Job]; needs {
				if left[sku] == 0 {
					return true
				}
				left[sku]--
			}
		}
	}
	return false
}

func (d *partsDay) outcome(plan *scheduling.Plan, pickup map[int64]int) partsOutcome {
	o := partsOutcome{travel: plan.Cost().Travel}
	used := map[int64]bool{}
	for _, rt := range plan.Routes() {
		o.served += len(rt.Visits)
		for _, v := range rt.Visits {
			if _, needs := d.need[v.Job]; needs {
				o.partServed++
			}
		}
		used[rt.Technician] = len(rt.Visits) > 0
	}
	for id, w := range pickup {
		if used[id] {
			o.pickups++
			o.pickupDetour += d.mat[d.home[id]][w]
			o.travel += d.mat[d.home[id]][w]
		}
	}
	return o
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func maps(m map[int64]int) map[int64]int {
	out := make(map[int64]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func assignments(plan *scheduling.Plan) []scheduling.Assignment {
	var out []scheduling.Assignment
	for _, rt := range plan.Routes() {
		a := scheduling.Assignment{Technician: rt.Technician, Shift: rt.Shift}
		for _, v := range rt.Visits {
			a.Jobs = append(a.Jobs, v.Job)
		}
		out = append(out, a)
	}
	return out
}

// runParts prints the parts variant of the days at limit, runs alternating seeds, medians.
func runParts(only string, limit time.Duration, runs int, share float64, nSKU, perVan int) error {
	fmt.Printf("# City days with parts\n\nMeasured %s: %.0f %% of the jobs need one of %d parts, each van holds %d different parts (one of each), two warehouses hold every part; each solve has %s (the parts-aware planner solves again while a van was given more visits of a part than it holds, and again with pick-ups); the run with the median number served of %d.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), share*100, nSKU, perVan, limit, runs)
	fmt.Println("| day | part-jobs | planner | served | part-visits served | visits that would fail (share of served) | pick-up stops (mean drive to the warehouse) | travel h | time used |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, dd := range days {
		if only != "" && !slices.Contains(strings.Split(only, ","), dd.name) {
			continue
		}
		d := newPartsDay(dd.name, uint32(dd.seed), dd.jobs, dd.techs, share, nSKU, perVan)
		var ign, vans, awr []partsOutcome
		for r := range runs {
			a, err := d.ignoring(limit, uint64(r+1))
			if err != nil {
				return err
			}
			v, b, err := d.aware(limit, uint64(r+1))
			if err != nil {
				return err
			}
			ign, vans, awr = append(ign, a), append(vans, v), append(awr, b)
		}
		for _, row := range []struct {
			name string
			os   []partsOutcome
		}{{"ignores parts", ign}, {"parts-aware, vans only", vans}, {"parts-aware with pick-ups", awr}} {
			m := medianOutcome(row.os)
			fail := "0"
			if m.failed > 0 {
				fail = fmt.Sprintf("%d (%.1f %%; %.0f %% of part-visits)", m.failed, 100*float64(m.failed)/float64(m.served), 100*float64(m.failed)/float64(m.partServed))
			}
			pick := "—"
			if row.name != "ignores parts" {
				pick = fmt.Sprint(m.pickups)
				if m.pickups > 0 {
					pick += fmt.Sprintf(" (%.0f min)", float64(m.pickupDetour)/float64(m.pickups)/60)
				}
			}
			fmt.Printf("| %s | %d | %s | %d / %d | %d | %s | %s | %.1f | %.1f s |\n", d.name, d.partJob, row.name, m.served, len(d.pr.Jobs),
				m.partServed, fail, pick, float64(m.travel)/3600, m.used.Seconds())
		}
	}
	return nil
}

// medianOutcome is the run with the median number served (ties: less travel).
func medianOutcome(os []partsOutcome) partsOutcome {
	s := slices.Clone(os)
	slices.SortFunc(s, func(a, b partsOutcome) int {
		if a.served != b.served {
			return b.served - a.served
		}
		return int(a.travel - b.travel)
	})
	return s[(len(s)-1)/2]
}
