package scheduling

import (
	"cmp"
	"math"
	"slices"
)

// ruinMax bounds the jobs one ruin removes where routes are short: small ruins are cheap to
// recreate and accepted more often (on a 500-job city day 12 gave about 5% less travel than 30 in
// the same time). Where an average route holds more, a ruin may take that many, and string
// removal is SISR's own (sisr). Solomon, 8 hard instances × 3 seeds at 6,000 iterations: +5.52%
// mean gap against +7.55% with 12 and the short-route strings; city days unchanged (8 a route).
const ruinMax = 12

// ruin takes some movable jobs out of s with operator op and returns them.
func (se *search) ruin(op int, s *state) []int32 {
	var assigned []int32
	for j, r := range s.where {
		if r >= 0 && se.movable(s, j) {
			assigned = append(assigned, int32(j))
		}
	}
	if len(assigned) == 0 {
		return nil
	}
	// Long routes take longer strings (SISR bounds a string by the average route): as many
	// jobs as an average used route holds, when that is more than ruinMax.
	used := 0
	for r := range s.seqs {
		if len(s.seqs[r]) > 0 {
			used++
		}
	}
	avg := len(assigned) / max(1, used)
	k := min(len(assigned), 1+se.rng.IntN(min(max(ruinMax, avg), max(4, len(assigned)/5))))
	if op == 1 && (avg > ruinMax || se.c.oneFleet) {
		return se.sisr(s, assigned, avg)
	}
	var out []int32
	take := func(j int32) {
		if r := s.where[j]; len(out) < k && r >= 0 && se.movable(s, int(j)) && s.unassign(se.c, int(j)) {
			out = append(out, j)
			se.touched[r] = true
		}
	}
	switch op {
	case 0: // random jobs
		for range 3 * k {
			take(assigned[se.rng.IntN(len(assigned))])
		}
	case 1: // strings of visits around neighbouring jobs (SISR)
		seed := assigned[se.rng.IntN(len(assigned))]
		near := append([]int32{seed}, se.nb.jobs[seed]...)
		done := map[int32]bool{}
		for _, j := range near {
			r := s.where[j]
			if r < 0 || done[r] || len(out) >= k {
				continue
			}
			done[r] = true
			seq := slices.Clone(s.seqs[r])
			pos := slices.Index(seq, j)
			l := 1 + se.rng.IntN(min(len(seq), max(1, (k-len(out)+1)/2)))
			lo := max(0, min(pos-se.rng.IntN(l), len(seq)-l))
			for _, x := range seq[lo : lo+l] {
				take(x)
			}
		}
	case 2: // the most expensive visits: late first, then by the detour they cause
		type scored struct {
			j int32
			v float64
		}
		var sc []scored
		for _, j := range assigned {
			r := int(s.where[j])
			seq := s.seqs[r]
			pos := slices.Index(seq, j)
			job := se.c.job(int(j))
			br, lt := lateness(*job, s.start[j])
			v := float64(br)*1e9 + float64(lt)*1e3 + float64(se.detour(r, seq, pos))
			sc = append(sc, scored{j, v * (0.7 + 0.6*se.rng.Float64())})
		}
		order := func(a, b scored) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.j, b.j)) }
		m := min(len(sc), 3*k)
		for _, x := range firstOf(sc, m, order) {
			take(x.j)
		}
		if len(out) < k { // some would not leave: go on down the whole order
			slices.SortFunc(sc[m:], order)
			for _, x := range sc[m:] {
				take(x.j)
			}
		}
	case 3: // visits close in time to a random one, wherever they are
		seed := assigned[se.rng.IntN(len(assigned))]
		t0 := s.start[seed]
		type gap struct {
			d int64
			j int32
		}
		byTime := make([]gap, len(assigned))
		for i, j := range assigned {
			byTime[i] = gap{abs(s.start[j] - t0), j}
		}
		near := firstOf(byTime, min(len(byTime), 3*k), func(a, b gap) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.j, b.j)) })
		for _, x := range near {
			if se.rng.IntN(2) == 0 {
				take(x.j)
			}
		}
	}
	return out
}

// firstOf reorders xs so that its first m elements are the m first in order (a total order),
// sorted, and returns them: what sorting xs would put first, in O(len(xs) log m), the rest left
// in no order. Ruins that take a dozen of hundreds of visits spent a fifth of the search sorting.
func firstOf[T any](xs []T, m int, order func(a, b T) int) []T {
	m = min(m, len(xs))
	if m <= 0 {
		return xs[:0]
	}
	h := xs[:m] // a heap with the last in order at its root
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= m {
				return
			}
			if r := l + 1; r < m && order(h[r], h[l]) > 0 {
				l = r
			}
			if order(h[l], h[i]) <= 0 {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for i := m/2 - 1; i >= 0; i-- {
		down(i)
	}
	for i := m; i < len(xs); i++ {
		if order(xs[i], h[0]) < 0 {
			xs[i], h[0] = h[0], xs[i]
			down(0)
		}
	}
	slices.SortFunc(h, order)
	return h
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// detour is the travel visit pos of route r adds.
func (se *search) detour(r int, seq []int32, pos int) int64 {
	c := se.c
	t := &c.pr.Technicians[c.routes[r].tech]
	prev, next := t.Start, t.End
	if pos > 0 {
		prev = c.job(int(seq[pos-1])).Loc
	}
	if pos < len(seq)-1 {
		next = c.job(int(seq[pos+1])).Loc
	}
	loc := c.job(int(seq[pos])).Loc
	tr := c.pr.Travel
	return tr.Seconds(prev, loc) + tr.Seconds(loc, next) - tr.Seconds(prev, next)
}

// recreate puts removed jobs, and every other unassigned one, back by greedy insertion with
// blinks, in one of six orders: random, deadline first, paid first (both then priority), farthest first,
// dearest to leave out first; or by regret (regretInsert). A job that was unassigned before the ruin is tried
// only in the routes the ruin touched (se.touched; nil: everywhere): the others had no room for
// it and still have none.
func (se *search) recreate(s *state, removed []int32, order int) {
	pending := slices.Clone(removed)
	for j, r := range s.where {
		if r == -1 && !slices.Contains(removed, int32(j)) && !se.c.jobs[j].removed {
			pending = append(pending, int32(j))
		}
	}
	c := se.c
	due := func(j int32) int64 {
		if d := c.job(int(j)).Due; d != 0 {
			return d
		}
		return math.MaxInt64
	}
	prio := func(a, b int32) int { return cmp.Compare(c.job(int(b)).Priority, c.job(int(a)).Priority) }
	switch order {
	case 0:
		se.rng.Shuffle(len(pending), func(a, b int) { pending[a], pending[b] = pending[b], pending[a] })
	case 1:
		slices.SortFunc(pending, func(a, b int32) int { return cmp.Or(cmp.Compare(due(a), due(b)), prio(a, b), cmp.Compare(a, b)) })
	case 2:
		slices.SortFunc(pending, func(a, b int32) int {
			return cmp.Or(cmp.Compare(c.job(int(b)).Tier, c.job(int(a)).Tier), cmp.Compare(due(a), due(b)), prio(a, b), cmp.Compare(a, b))
		})
	case 3:
		far := func(j int32) int64 {
			rs := se.nb.routes[j]
			if len(rs) == 0 {
				return 0
			}
			return c.pr.Travel.Seconds(c.pr.Technicians[c.routes[rs[0]].tech].Start, c.job(int(j)).Loc)
		}
		slices.SortFunc(pending, func(a, b int32) int { return cmp.Or(cmp.Compare(far(b), far(a)), cmp.Compare(a, b)) })
	case 4: // what leaving it out costs, the dearest first
		se.rng.Shuffle(len(pending), func(a, b int) { pending[a], pending[b] = pending[b], pending[a] })
		slices.SortStableFunc(pending, func(a, b int32) int {
			ca, cb := unassignedCost(*c.job(int(a)), c.horizon, c.disrupt), unassignedCost(*c.job(int(b)), c.horizon, c.disrupt)
			if cb.Less(ca) {
				return -1
			}
			if ca.Less(cb) {
				return 1
			}
			return 0
		})
	}
	blink := func() bool { return se.rng.IntN(100) == 0 }
	routesOf := func(j int32) []int {
		rs := se.nb.routes[j]
		if se.touched != nil && !slices.Contains(removed, j) {
			se.rbuf = se.rbuf[:0]
			for _, r := range rs {
				if se.touched[r] {
					se.rbuf = append(se.rbuf, r)
				}
			}
			rs = se.rbuf
		}
		return rs
	}
	if order == 5 {
		se.regretInsert(s, pending, routesOf, blink)
		return
	}
	for _, j := range pending {
		se.budget.Yield()
		if se.ctx.Err() != nil {
			break // cancelled: what is placed stays, the rest waits unassigned
		}
		if o, ok := s.bestOption(c, int(j), routesOf(j), se.buf, blink); ok {
			s.place(c, int(j), o)
		}
	}
}

// sisr is the string removal of slack induction by string removals (Christiaens & Vanden Berghe,
// 2020) with its published parameters, for plans whose routes are long (more visits than
// ruinMax on average) or whose fleet is one of alike vans (compiled.oneFleet): about cbar = 10 jobs removed as strings of up to min(10, average route)
// adjacent visits, one string in each of ks routes met in order of closeness to a random job;
// each string holds the visit that led to its route. It was the whole of the Solomon-only
// search FieldFix had before (scheduling/vrptw, removed by issue 29).
func (se *search) sisr(s *state, assigned []int32, avg int) []int32 {
	const cbar, lmax = 10, 10
	lsmax := min(lmax, avg)
	ksmax := 4*float64(cbar)/float64(1+lsmax) - 1
	ks := int(se.rng.Float64()*ksmax) + 1
	seed := assigned[se.rng.IntN(len(assigned))]
	var out []int32
	var done []int32
	for _, j := range append([]int32{seed}, se.nb.jobs[seed]...) {
		r := s.where[j]
		if len(done) >= ks {
			break
		}
		if r < 0 || slices.Contains(done, r) || !se.movable(s, int(j)) {
			continue
		}
		done = append(done, r)
		seq := slices.Clone(s.seqs[r])
		l := 1 + se.rng.IntN(max(1, min(len(seq), lsmax)))
		idx := slices.Index(seq, j)
		lo, hi := max(0, idx-l+1), min(idx, len(seq)-l)
		start := lo
		if hi > lo {
			start += se.rng.IntN(hi - lo + 1)
		}
		for _, x := range seq[start : start+l] {
			if s.where[x] == r && se.movable(s, int(x)) && s.unassign(se.c, int(x)) {
				out = append(out, x)
				se.touched[r] = true
			}
		}
	}
	return out
}
