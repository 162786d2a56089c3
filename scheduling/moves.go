package scheduling

import (
	"context"
	"slices"
	"time"
)

// localSearch applies improving relocate, swap, 2-opt* and or-opt moves until none is left
// (or ctx ends). focus, when not nil, limits it to those jobs and their neighbours.
func (se *search) localSearch(ctx context.Context, s *state, focus []int32) {
	var jobs []int32
	if focus == nil {
		for j := range s.where {
			jobs = append(jobs, int32(j))
		}
	} else {
		seen := map[int32]bool{}
		for _, j := range focus {
			for _, k := range append([]int32{j}, se.nb.jobs[j]...) {
				if !seen[k] {
					seen[k] = true
					jobs = append(jobs, k)
				}
			}
		}
	}
	for pass := 0; pass < 10; pass++ {
		improved := false
		for n, j := range jobs {
			if n%64 == 0 {
				if ctx.Err() != nil || (se.budget.Time > 0 && time.Since(se.began) >= se.budget.Time) {
					return
				}
				se.budget.Yield()
			}
			if s.where[j] < 0 || !se.movable(s, int(j)) {
				continue
			}
			improved = se.relocate(s, j) || improved
			improved = se.orOpt(s, j) || improved
			for _, k := range se.nb.jobs[j] {
				if s.where[j] < 0 || s.where[k] < 0 || s.where[j] == s.where[k] {
					continue
				}
				improved = se.swap(s, j, k) || improved
				improved = se.twoOptStar(s, j, k) || improved
			}
		}
		if !improved && (focus != nil || !se.eject(ctx, s)) {
			return
		}
	}
}

// try applies the new sequences of routes rs when they are feasible and improve the plan.
func (se *search) try(s *state, rs []int, seqs [][]int32) bool {
	if se.moreTravel(s, rs, seqs) {
		return false
	}
	rcs := make([]rcost, len(rs))
	for i, r := range rs {
		if rcs[i] = se.c.eval(r, seqs[i], nil); !rcs[i].ok {
			return false
		}
	}
	if !s.delta(se.c, rs, rcs).Less(Cost{}) {
		return false
	}
	for i, r := range rs {
		s.set(se.c, r, seqs[i], rcs[i])
	}
	return true
}

// moreTravel says, without simulating the routes, that the new sequences seqs of routes rs
// drive more than the old ones where only travel can then differ at the objective's level of
// travel and above (no deadline, no accepted job, no told visit, travel that does not depend on
// the hour): such a move cannot improve the plan, feasible or not. Local search tries many
// moves, most of them longer: this spares their simulation.
func (se *search) moreTravel(s *state, rs []int, seqs [][]int32) bool {
	c := se.c
	if c.timed != nil || c.told != nil {
		return false
	}
	tr := c.pr.Travel
	var d int64
	for i, r := range rs {
		cr := c.routes[r]
		t := &c.pr.Technicians[cr.tech]
		sh := &t.Shifts[cr.shift]
		loc, home := sh.start(t), sh.end(t)
		for _, j := range seqs[i] {
			job := c.job(int(j))
			if job.Due != 0 || job.AcceptedBy != 0 {
				return false
			}
			d += tr.Seconds(loc, job.Loc)
			loc = job.Loc
		}
		if len(seqs[i]) > 0 {
			d += tr.Seconds(loc, home)
		}
		d -= s.rc[r].travel
	}
	return d > 0
}

// relocate moves job j to its best place in another route.
func (se *search) relocate(s *state, j int32) bool {
	c := se.c
	r := int(s.where[j])
	rest := slices.DeleteFunc(slices.Clone(s.seqs[r]), func(x int32) bool { return x == j })
	rc := c.eval(r, rest, nil)
	if !rc.ok {
		return false
	}
	var best option
	found := false
	// Granular: only the routes that hold one of j's nearest jobs, where j may go.
	var rs [nearJobs]int
	nr := 0
	for _, k := range se.nb.jobs[j] {
		if r2 := int(s.where[k]); r2 >= 0 && r2 != r && !slices.Contains(rs[:nr], r2) && slices.Contains(se.nb.routes[j], r2) {
			rs[nr] = r2
			nr++
		}
	}
	for _, r2 := range rs[:nr] {
		if o, ok := s.bestIn(c, r2, int(j), se.buf, nil); ok && (!found || o.d.Less(best.d)) {
			best, found = o, true
		}
	}
	if !found {
		return false
	}
	seq2 := slices.Insert(slices.Clone(s.seqs[best.r]), best.pos, j)
	return se.try(s, []int{r, best.r}, [][]int32{rest, seq2})
}

// orOpt moves a string of one to three visits starting at j elsewhere in its route.
func (se *search) orOpt(s *state, j int32) bool {
	r := int(s.where[j])
	seq := s.seqs[r]
	i := slices.Index(seq, j)
	for l := 1; l <= 3 && i+l <= len(seq); l++ {
		seg := seq[i : i+l]
		if slices.ContainsFunc(seg, func(x int32) bool { return !se.movable(s, int(x)) }) {
			return false
		}
		rest := slices.Concat(seq[:i], seq[i+l:])
		for k := 0; k <= len(rest); k++ {
			if k == i {
				continue
			}
			if se.try(s, []int{r}, [][]int32{slices.Concat(rest[:k], seg, rest[k:])}) {
				return true
			}
		}
	}
	return false
}

// swap exchanges jobs a and b between their routes.
func (se *search) swap(s *state, a, b int32) bool {
	if !se.movable(s, int(b)) {
		return false
	}
	ra, rb := int(s.where[a]), int(s.where[b])
	c := se.c
	if !c.canDo(c.routes[rb].tech, int(a)) || !c.canDo(c.routes[ra].tech, int(b)) {
		return false
	}
	sa, sb := slices.Clone(s.seqs[ra]), slices.Clone(s.seqs[rb])
	sa[slices.Index(sa, a)], sb[slices.Index(sb, b)] = b, a
	return se.try(s, []int{ra, rb}, [][]int32{sa, sb})
}

// twoOptStar joins the head of a's route up to a with the tail of b's route from b, and the head
// of b's route with the tail of a's.
func (se *search) twoOptStar(s *state, a, b int32) bool {
	ra, rb := int(s.where[a]), int(s.where[b])
	c := se.c
	if c.routes[ra].tech == c.routes[rb].tech {
		return false
	}
	qa, qb := s.seqs[ra], s.seqs[rb]
	i, k := slices.Index(qa, a)+1, slices.Index(qb, b)
	ta, tb := qa[i:], qb[k:]
	for _, x := range ta {
		if !se.movable(s, int(x)) || !c.canDo(c.routes[rb].tech, int(x)) {
			return false
		}
	}
	for _, x := range tb {
		if !se.movable(s, int(x)) || !c.canDo(c.routes[ra].tech, int(x)) {
			return false
		}
	}
	return se.try(s, []int{ra, rb}, [][]int32{slices.Concat(qa[:i], tb), slices.Concat(qb[:k], ta)})
}

// eject serves jobs left unassigned by making room: for each, a visit of one of its routes
// leaves for its best place in another route and the job takes the room (an ejection chain of
// one), when that improves the plan. It returns whether any did.
func (se *search) eject(ctx context.Context, s *state) bool {
	c := se.c
	improved := false
	for j := range s.where {
		if s.where[j] != -1 || c.jobs[j].removed || len(se.nb.routes[j]) == 0 {
			continue
		}
		if ctx.Err() != nil || (se.budget.Time > 0 && time.Since(se.began) >= se.budget.Time) {
			return improved
		}
		se.budget.Yield()
		free := unassignedCost(*c.job(j), c.horizon, c.disrupt)
	routes:
		for _, r := range se.nb.routes[j] {
			seq := s.seqs[r]
			for k, x := range seq {
				if !se.movable(s, int(x)) {
					continue
				}
				rest := slices.Delete(slices.Clone(seq), k, k+1)
				starts := make([]int64, len(rest))
				restRC := c.eval(r, rest, starts)
				if !restRC.ok {
					continue
				}
				latest, quick := c.latestStarts(r, rest, nil)
				var fit fitter
				if quick {
					var ok bool
					if fit, ok = c.fitter(r, rest, latest, j, restRC.load); !ok {
						continue
					}
				}
				var best []int32
				var bestRC rcost
				for pos := 0; pos <= len(rest); pos++ {
					if quick {
						if fits, _ := fit.at(pos, at(starts, pos-1)); !fits {
							continue
						}
					}
					cand := slices.Insert(slices.Clone(rest), pos, int32(j))
					if rc := c.eval(r, cand, nil); rc.ok && (best == nil || rc.travel < bestRC.travel) {
						best, bestRC = cand, rc
					}
				}
				if best == nil {
					continue
				}
				others := slices.DeleteFunc(slices.Clone(se.nb.routes[x]), func(q int) bool { return q == r })
				o, ok := s.bestOption(c, int(x), others, se.buf, nil)
				if !ok && len(others) == 0 {
					continue
				}
				if !ok { // x fits nowhere else: only a better job may take its place
					o = option{r: -1}
				}
				d := s.delta(c, []int{r}, []rcost{bestRC}).sub(free)
				if o.r >= 0 {
					d = d.add(o.d)
				} else {
					d = d.add(unassignedCost(*c.job(int(x)), c.horizon, c.disrupt))
				}
				if !d.Less(Cost{}) {
					continue
				}
				s.set(c, r, best, bestRC)
				s.sum = s.sum.sub(free).add(unassignedCost(*c.job(int(x)), c.horizon, c.disrupt))
				if o.r >= 0 {
					s.place(c, int(x), o)
				}
				improved = true
				break routes
			}
		}
	}
	return improved
}

// at is xs[k], or 0 when k is out of range.
func at(xs []int64, k int) int64 {
	if k < 0 || k >= len(xs) {
		return 0
	}
	return xs[k]
}
