package scheduling

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Budget bounds Optimize. With Iterations and no Time, the result depends only on the plan and
// the seed; a Time budget (or ctx) stops wherever the clock says.
type Budget struct {
	Time       time.Duration // wall-clock limit (0: none)
	Iterations int           // ruin-and-recreate iterations per search (0: none)
	Seed       uint64
	// Searches run in parallel from seeds Seed, Seed+1, ...; the best plan wins (ties: the
	// lowest seed). 0 means 2, one per core of the machine FieldFix is sized for.
	Searches int
	// Yield, when set, is called often (before each neighbourhood computed, each job re-inserted,
	// every 64 jobs of local search, each iteration): a run in the background passes one that
	// waits while the foreground needs the machine. Its waits count in Time. Searches also
	// bounds the goroutines that compute the neighbourhoods (at most 2).
	Yield func()
}

// Stats says what Optimize did.
type Stats struct {
	Iterations int           `json:"iterations"`
	Improved   int           `json:"improvements"`
	Before     Cost          `json:"before"`
	After      Cost          `json:"after"`
	Elapsed    time.Duration `json:"elapsed"`
	// Ruins counts, per ruin operator, how often it was chosen and how often it led to a new best.
	Ruins map[string][2]int `json:"ruins"`
}

const (
	nearTechs = 20 // technicians a job is tried with, nearest first
	nearJobs  = 12 // neighbours for string removal, swap and 2-opt*
)

var ruinNames = [...]string{"random", "strings", "worst", "time"}

// Optimize improves plan p within budget and returns the better plan (p itself is not changed).
// Large-neighbourhood search: each iteration ruins part of the plan with one of four operators
// (random jobs, strings of neighbouring visits, the most expensive visits, visits close in time),
// chosen adaptively by past success, and recreates it by greedy insertion in one of four orders
// with blinks; simulated annealing on travel decides acceptance, never accepting a step that adds
// breaches, lateness or unassigned jobs. Each new best is polished by local search (relocate,
// swap, 2-opt*, or-opt). Pinned and started jobs never move: they keep technician and start.
// Accepted jobs may move at the Problem's disruption cost. Cancelling ctx returns the best so far.
func Optimize(ctx context.Context, p *Plan, b Budget) (*Plan, Stats) {
	began := time.Now()
	if b.Searches <= 0 {
		b.Searches = 2
	}
	if b.Time <= 0 && b.Iterations <= 0 {
		b.Iterations = 1000
	}
	if b.Yield == nil {
		b.Yield = func() {}
	}
	sc := p.c.fixedFor(p.s)
	nb := sc.neighbours(p.s, min(2, b.Searches), b.Yield)
	results := make([]*state, b.Searches)
	stats := make([]Stats, b.Searches)
	var wg sync.WaitGroup
	for i := range b.Searches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := *sc // the same problem with this search's own memory of travel times
			pr := *sc.pr
			pr.Travel = memoize(pr.Travel, sc.locations())
			mine.pr = &pr
			se := &search{c: &mine, nb: nb, rng: rand.New(rand.NewPCG(b.Seed+uint64(i), 0x5eed)), budget: b, began: began}
			results[i], stats[i] = se.run(ctx, p.s.clone())
		}()
	}
	wg.Wait()
	best := 0
	for i := 1; i < len(results); i++ {
		if results[i].sum.Less(results[best].sum) {
			best = i
		}
	}
	st := stats[best]
	for i := range stats {
		if i != best {
			st.Iterations += stats[i].Iterations
			for k, v := range stats[i].Ruins {
				w := st.Ruins[k]
				st.Ruins[k] = [2]int{w[0] + v[0], w[1] + v[1]}
			}
		}
	}
	st.Before, st.After, st.Elapsed = p.s.sum, results[best].sum, time.Since(began)
	return &Plan{c: p.c.clone(), s: results[best]}, st
}

// fixedFor is the problem as Optimize sees it: pinned and started jobs held at their place.
func (c *compiled) fixedFor(s *state) *compiled {
	sc := *c
	sc.jobs = slices.Clone(c.jobs)
	for j := range sc.jobs {
		job := c.job(j)
		if s.where[j] >= 0 && (job.PinnedTech != 0 || job.PinnedStart != 0 || job.Started) {
			cj := &sc.jobs[j]
			cj.fixed, cj.pinTech = true, c.routes[s.where[j]].tech
			cj.ws = []Window{{s.start[j], s.start[j]}}
		}
	}
	return &sc
}

// locations is one more than the highest location index the problem uses.
func (c *compiled) locations() int {
	n := 0
	for _, t := range c.pr.Technicians {
		n = max(n, t.Start+1, t.End+1)
	}
	for _, j := range c.pr.Jobs {
		n = max(n, j.Loc+1)
	}
	return n
}

// hood is what the search precomputes: each job's nearest technicians' routes and nearest jobs.
type hood struct {
	routes [][]int
	jobs   [][]int32
}

func (c *compiled) neighbours(s *state, parts int, yield func()) *hood {
	n := len(c.jobs)
	h := &hood{routes: make([][]int, n), jobs: make([][]int32, n)}
	tr := c.pr.Travel
	var wg sync.WaitGroup
	for part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type near struct {
				i int
				d int64
			}
			var cand []near
			for j := part; j < n; j += parts {
				if c.jobs[j].removed {
					continue
				}
				yield()
				loc := c.job(j).Loc
				cand = cand[:0]
				for ti := range c.techs {
					if c.canDo(ti, j) {
						cand = append(cand, near{ti, tr.Seconds(c.pr.Technicians[ti].Start, loc)})
					}
				}
				slices.SortFunc(cand, func(a, b near) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.i, b.i)) })
				techs := make([]int, 0, nearTechs+1)
				for _, x := range cand[:min(len(cand), nearTechs)] {
					techs = append(techs, x.i)
				}
				if r := s.where[j]; r >= 0 && !slices.Contains(techs, c.routes[r].tech) {
					techs = append(techs, c.routes[r].tech)
				}
				h.routes[j] = c.untilDue(j, c.routesFor(j, techs, nil))
				cand = cand[:0]
				places, cheap := tr.(*Places)
				for k := range n {
					if k == j || c.jobs[k].removed {
						continue
					}
					if cheap {
						cand = append(cand, near{k, int64(places.near(loc, c.job(k).Loc) * 1e12)})
					} else {
						cand = append(cand, near{k, tr.Seconds(loc, c.job(k).Loc)})
					}
				}
				if len(cand) > nearJobs {
					slices.SortFunc(cand, func(a, b near) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.i, b.i)) })
					cand = cand[:nearJobs]
				}
				for _, x := range cand {
					h.jobs[j] = append(h.jobs[j], int32(x.i))
				}
			}
		}()
	}
	wg.Wait()
	return h
}

// untilDue keeps, of routes rs (by technician, shift order), the shifts that start before job
// j's deadline and the first one after it: later ones only add lateness, and the search should
// not spend its time there.
func (c *compiled) untilDue(j int, rs []int) []int {
	due := c.job(j).Due
	if due == 0 {
		return rs
	}
	out := rs[:0]
	after := map[int]bool{}
	for _, r := range rs {
		cr := c.routes[r]
		if c.pr.Technicians[cr.tech].Shifts[cr.shift].Start <= due {
			out = append(out, r)
		} else if !after[cr.tech] {
			after[cr.tech] = true
			out = append(out, r)
		}
	}
	return out
}

type search struct {
	c      *compiled
	nb     *hood
	rng    *rand.Rand
	budget Budget
	began  time.Time
	buf    []int32
}

func (se *search) movable(s *state, j int) bool {
	cj := &se.c.jobs[j]
	return !cj.fixed && !cj.removed && s.where[j] != -2
}

// progress is the share of the budget spent, 0..1.
func (se *search) progress(it int) float64 {
	p := 0.0
	if se.budget.Iterations > 0 {
		p = float64(it) / float64(se.budget.Iterations)
	}
	if se.budget.Time > 0 {
		p = max(p, float64(time.Since(se.began))/float64(se.budget.Time))
	}
	return p
}

func (se *search) run(ctx context.Context, cur *state) (*state, Stats) {
	st := Stats{Ruins: map[string][2]int{}}
	se.recreate(cur, nil, 0) // place what can be placed before searching
	se.localSearch(ctx, cur, nil)
	best := cur.clone()
	weights := [len(ruinNames)]float64{1, 1, 1, 1}
	scores := [len(ruinNames)]float64{}
	uses := [len(ruinNames)]int{}
	assigned := 0
	for j := range cur.where {
		if cur.where[j] >= 0 {
			assigned++
		}
	}
	arc := float64(cur.sum.Travel) / float64(max(1, assigned))
	t0, tf := max(1, 0.2*arc), max(0.01, 0.002*arc)
	for it := 0; ; it++ {
		se.budget.Yield()
		prog := se.progress(it)
		if prog >= 1 || ctx.Err() != nil {
			break
		}
		temp := t0 * math.Pow(tf/t0, prog)
		op := se.pick(weights[:])
		cand := cur.clone()
		removed := se.ruin(op, cand)
		se.recreate(cand, removed, se.rng.IntN(4))
		st.Iterations++
		uses[op]++
		w := st.Ruins[ruinNames[op]]
		w[0]++
		accept := false
		switch cu, ou := cand.sum.upper(), cur.sum.upper(); {
		case cu != ou:
			accept = slices.Compare(cu[:], ou[:]) < 0
		default:
			accept = float64(cand.sum.Travel+cand.sum.Disruption) < float64(cur.sum.Travel+cur.sum.Disruption)-temp*math.Log(se.rng.Float64()) ||
				(cand.sum.Travel+cand.sum.Disruption == cur.sum.Travel+cur.sum.Disruption && cand.sum.Balance <= cur.sum.Balance)
		}
		if accept {
			scores[op]++
			if cand.sum.Less(best.sum) {
				se.localSearch(ctx, cand, removed)
				best = cand.clone()
				scores[op] += 9
				st.Improved++
				w[1]++
			} else if cand.sum.Less(cur.sum) {
				scores[op] += 3
			}
			cur = cand
		}
		st.Ruins[ruinNames[op]] = w
		if it%100 == 99 { // adapt the operator weights to their recent success
			for k := range weights {
				if uses[k] > 0 {
					weights[k] = max(0.05, 0.8*weights[k]+0.2*scores[k]/float64(uses[k]))
				}
				scores[k], uses[k] = 0, 0
			}
		}
	}
	return best, st
}

func (se *search) pick(w []float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	r := se.rng.Float64() * total
	for i, x := range w {
		if r < x {
			return i
		}
		r -= x
	}
	return len(w) - 1
}

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
	k := min(len(assigned), 1+se.rng.IntN(min(30, max(4, len(assigned)/5))))
	var out []int32
	take := func(j int32) {
		if len(out) < k && s.where[j] >= 0 && se.movable(s, int(j)) && s.unassign(se.c, int(j)) {
			out = append(out, j)
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
		slices.SortFunc(sc, func(a, b scored) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.j, b.j)) })
		for _, x := range sc {
			take(x.j)
		}
	case 3: // visits close in time to a random one, wherever they are
		seed := assigned[se.rng.IntN(len(assigned))]
		t0 := s.start[seed]
		byTime := slices.Clone(assigned)
		slices.SortFunc(byTime, func(a, b int32) int {
			return cmp.Or(cmp.Compare(abs(s.start[a]-t0), abs(s.start[b]-t0)), cmp.Compare(a, b))
		})
		for _, j := range byTime[:min(len(byTime), 3*k)] {
			if se.rng.IntN(2) == 0 {
				take(j)
			}
		}
	}
	return out
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
// blinks, in one of four orders: random, deadline first, paid first, farthest first.
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
	switch order {
	case 0:
		se.rng.Shuffle(len(pending), func(a, b int) { pending[a], pending[b] = pending[b], pending[a] })
	case 1:
		slices.SortFunc(pending, func(a, b int32) int { return cmp.Or(cmp.Compare(due(a), due(b)), cmp.Compare(a, b)) })
	case 2:
		slices.SortFunc(pending, func(a, b int32) int {
			return cmp.Or(cmp.Compare(c.job(int(b)).Tier, c.job(int(a)).Tier), cmp.Compare(due(a), due(b)), cmp.Compare(a, b))
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
	}
	blink := func() bool { return se.rng.IntN(100) == 0 }
	for _, j := range pending {
		se.budget.Yield()
		if o, ok := s.bestOption(c, int(j), se.nb.routes[j], se.buf, blink); ok {
			s.place(c, int(j), o)
		}
	}
}
