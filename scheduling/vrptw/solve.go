package vrptw

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Options bound a search.
type Options struct {
	TimeLimit  time.Duration // wall-clock budget (0: 1 s); ignored when Iterations > 0
	Iterations int           // a fixed number of ruin-and-recreate rounds: deterministic for a seed
	Seed       uint64
	// Workers runs that many independent searches (seeds Seed, Seed+1, ...) at once and keeps the
	// best: both cores of a 2-core machine for one instance. The result is deterministic for a seed
	// with Iterations (ties go to the lowest seed).
	Workers int
	// T0 and Tf are the annealing temperatures at the start and the end (defaults 3 and 0.03,
	// in distance units).
	T0, Tf float64
}

type route struct {
	nodes  []int
	load   int
	dist   float64   // depot → nodes → depot
	begin  []float64 // service start at each position
	latest []float64 // latest feasible service start at each position
	owner  int       // the state allowed to change it in place (others copy first)
}

type solver struct {
	in        *Instance
	rng       *rand.Rand
	neighbors [][]int // customers by distance from each customer
	ids       int
}

const unassignedPenalty = 1e5

func (s *solver) schedule(r *route) {
	in := s.in
	n := len(r.nodes)
	r.begin = r.begin[:0]
	r.latest = slices.Grow(r.latest[:0], n)[:n]
	t, prev, load := 0.0, 0, 0
	for _, c := range r.nodes {
		nd := &in.Nodes[c]
		t = math.Max(t+in.Nodes[prev].Service+in.D(prev, c), nd.Ready)
		r.begin = append(r.begin, t)
		load += nd.Demand
		prev = c
	}
	r.load = load
	r.dist = 0
	if n > 0 {
		prev := 0
		for _, c := range r.nodes {
			r.dist += in.D(prev, c)
			prev = c
		}
		r.dist += in.D(prev, 0)
	}
	next := in.Nodes[0].Due
	for k := n - 1; k >= 0; k-- {
		c := r.nodes[k]
		nd := &in.Nodes[c]
		var l float64
		if k == n-1 {
			l = next - nd.Service - in.D(c, 0)
		} else {
			l = r.latest[k+1] - in.D(c, r.nodes[k+1]) - nd.Service
		}
		r.latest[k] = math.Min(nd.Due, l)
	}
}

// insertion is where u fits best in r (position, added distance), or ok=false.
func (s *solver) bestIn(r *route, u int, blink float64) (pos int, delta float64, ok bool) {
	in := s.in
	nu := &in.Nodes[u]
	if r.load+nu.Demand > in.Capacity {
		return 0, 0, false
	}
	delta = math.Inf(1)
	n := len(r.nodes)
	for p := 0; p <= n; p++ {
		if blink > 0 && s.rng.Float64() < blink {
			continue
		}
		prev, dep := 0, 0.0
		if p > 0 {
			prev = r.nodes[p-1]
			dep = r.begin[p-1] + in.Nodes[prev].Service
		}
		bu := math.Max(dep+in.D(prev, u), nu.Ready)
		if bu > nu.Due {
			if p > 0 && r.begin[p-1] > nu.Due {
				break // later positions only start later
			}
			continue
		}
		next := 0
		if p < n {
			next = r.nodes[p]
		}
		an := bu + nu.Service + in.D(u, next)
		if p < n {
			if math.Max(an, in.Nodes[next].Ready) > r.latest[p]+1e-9 {
				continue
			}
		} else if an > in.Nodes[0].Due+1e-9 {
			continue
		}
		d := in.D(prev, u) + in.D(u, next) - in.D(prev, next)
		if d < delta {
			pos, delta, ok = p, d, true
		}
	}
	return pos, delta, ok
}

// state is a solution. Routes are shared between states until one changes them: a state copies
// a route before its first change (copy on write), so a round costs the routes it touches.
type state struct {
	id         int
	routes     []*route
	unassigned []int
}

func (s *solver) derive(st *state) *state {
	s.ids++
	return &state{id: s.ids, routes: slices.Clone(st.routes), unassigned: slices.Clone(st.unassigned)}
}

// own returns route i of st, copied first if another state may share it.
func (st *state) own(i int) *route {
	r := st.routes[i]
	if r.owner != st.id {
		r = &route{nodes: slices.Clone(r.nodes), load: r.load, dist: r.dist, begin: slices.Clone(r.begin), latest: slices.Clone(r.latest), owner: st.id}
		st.routes[i] = r
	}
	return r
}

func (s *solver) cost(st *state) float64 {
	total := float64(len(st.unassigned)) * unassignedPenalty
	for _, r := range st.routes {
		total += r.dist
	}
	return total
}

// recreate inserts the unassigned customers greedily (with blinks), opening routes while vehicles remain.
func (s *solver) recreate(st *state) {
	in := s.in
	pend := st.unassigned
	switch k := s.rng.IntN(11); {
	case k < 4:
		s.rng.Shuffle(len(pend), func(i, j int) { pend[i], pend[j] = pend[j], pend[i] })
	case k < 8:
		slices.SortFunc(pend, func(a, b int) int { return in.Nodes[b].Demand - in.Nodes[a].Demand })
	case k < 10:
		slices.SortFunc(pend, func(a, b int) int { return cmpF(in.D(0, b), in.D(0, a)) })
	default:
		slices.SortFunc(pend, func(a, b int) int { return cmpF(in.D(0, a), in.D(0, b)) })
	}
	var left []int
	for _, u := range pend {
		best := -1
		bestPos, bestD := 0, math.Inf(1)
		for i, r := range st.routes {
			if p, d, ok := s.bestIn(r, u, 0.01); ok && d < bestD {
				best, bestPos, bestD = i, p, d
			}
		}
		if best < 0 && len(st.routes) < in.Vehicles {
			nu := in.Nodes[u]
			if math.Max(in.D(0, u), nu.Ready) <= nu.Due && math.Max(in.D(0, u), nu.Ready)+nu.Service+in.D(u, 0) <= in.Nodes[0].Due {
				st.routes = append(st.routes, &route{owner: st.id})
				best, bestPos = len(st.routes)-1, 0
			}
		}
		if best < 0 {
			left = append(left, u)
			continue
		}
		r := st.own(best)
		r.nodes = slices.Insert(r.nodes, bestPos, u)
		s.schedule(r)
	}
	st.unassigned = left
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ruin removes strings of customers from routes near a random seed customer (SISR).
func (s *solver) ruin(st *state, cbar float64, lmax int) {
	in := s.in
	where := make([]int, in.N()) // route index of each customer, -1 if none
	for i := range where {
		where[i] = -1
	}
	total := 0
	for ri, r := range st.routes {
		for _, c := range r.nodes {
			where[c] = ri
		}
		total += len(r.nodes)
	}
	if total == 0 || len(st.routes) == 0 {
		return
	}
	avg := float64(total) / float64(len(st.routes))
	lsmax := math.Min(float64(lmax), avg)
	ksmax := 4*cbar/(1+lsmax) - 1
	ks := int(s.rng.Float64()*ksmax) + 1
	seed := 1 + s.rng.IntN(in.N()-1)
	ruined := map[int]bool{}
	for _, c := range append([]int{seed}, s.neighbors[seed]...) {
		if len(ruined) >= ks {
			break
		}
		ri := where[c]
		if ri < 0 || ruined[ri] {
			continue
		}
		r := st.own(ri)
		lmaxR := int(math.Min(float64(len(r.nodes)), lsmax))
		l := 1 + s.rng.IntN(max(1, lmaxR))
		idx := slices.Index(r.nodes, c)
		lo := max(0, idx-l+1)
		hi := min(idx, len(r.nodes)-l)
		start := lo
		if hi > lo {
			start = lo + s.rng.IntN(hi-lo+1)
		}
		removed := r.nodes[start : start+l]
		st.unassigned = append(st.unassigned, removed...)
		for _, x := range removed {
			where[x] = -1
		}
		r.nodes = slices.Delete(r.nodes, start, start+l)
		s.schedule(r)
		ruined[ri] = true
	}
	st.routes = slices.DeleteFunc(st.routes, func(r *route) bool { return len(r.nodes) == 0 })
}

// Solve searches until the budget is spent or ctx ends, and returns the best complete solution
// found (or the best partial one, with fewer routes than customers need, if none is complete).
func Solve(ctx context.Context, in *Instance, o Options) Solution {
	if o.Workers <= 1 {
		return solveOne(ctx, in, o)
	}
	out := make([]Solution, o.Workers)
	var wg sync.WaitGroup
	for w := range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ow := o
			ow.Workers, ow.Seed = 1, o.Seed+uint64(w)
			out[w] = solveOne(ctx, in, ow)
		}()
	}
	wg.Wait()
	best := out[0]
	for _, s := range out[1:] {
		if len(s.Routes) > 0 && (s.Distance < best.Distance) {
			best = s
		}
	}
	return best
}

func solveOne(ctx context.Context, in *Instance, o Options) Solution {
	s := &solver{in: in, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
	n := in.N()
	s.neighbors = make([][]int, n)
	for c := 1; c < n; c++ {
		ns := make([]int, 0, n-2)
		for d := 1; d < n; d++ {
			if d != c {
				ns = append(ns, d)
			}
		}
		slices.SortFunc(ns, func(a, b int) int { return cmpF(in.D(c, a), in.D(c, b)) })
		s.neighbors[c] = ns
	}
	cur := &state{id: 0}
	for c := 1; c < n; c++ {
		cur.unassigned = append(cur.unassigned, c)
	}
	s.recreate(cur)
	curCost := s.cost(cur)
	best, bestCost := cur, curCost
	limit := o.TimeLimit
	if limit <= 0 {
		limit = time.Second
	}
	start := time.Now()
	t0, tf := o.T0, o.Tf
	if t0 <= 0 {
		t0 = 3
	}
	if tf <= 0 {
		tf = 0.03
	}
	for it := 0; ; it++ {
		var frac float64
		if o.Iterations > 0 {
			if it >= o.Iterations {
				break
			}
			frac = float64(it) / float64(o.Iterations)
		} else {
			if it%64 == 0 {
				el := time.Since(start)
				if el >= limit || ctx.Err() != nil {
					break
				}
				frac = float64(el) / float64(limit)
			}
		}
		if o.Iterations > 0 && it%256 == 0 && ctx.Err() != nil {
			break
		}
		temp := t0 * math.Pow(tf/t0, frac)
		next := s.derive(cur)
		s.ruin(next, 10, 10)
		s.recreate(next)
		c := s.cost(next)
		if c < curCost-temp*math.Log(s.rng.Float64()) {
			cur, curCost = next, c
			if c < bestCost {
				best, bestCost = next, c // states never change once a newer one derives from them
			}
		}
	}
	out := Solution{}
	for _, r := range best.routes {
		out.Routes = append(out.Routes, slices.Clone(r.nodes))
	}
	out.Distance = bestCost - float64(len(best.unassigned))*unassignedPenalty
	return out
}
