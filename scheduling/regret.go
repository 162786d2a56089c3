package scheduling

import (
	"math"
	"slices"
)

// regretEntry is a pending job of regretInsert.
type regretEntry struct {
	j    int32
	rs   []int
	all  []int // every route j may try; rs holds one idle shift of each kind of alike technicians
	opts []regretOption
	gone bool
	// b1, b2 are the best and second-best of opts (-1: none), worked out again only when
	// opts change (dirty): the pick looks at every pending job at every step.
	b1, b2 int
	dirty  bool
}

// regretArena is the memory regretInsert reuses from one call to the next.
type regretArena struct {
	es   []regretEntry
	all  []int
	opts []regretOption
}

// regretOption is a pending job's best place in one route.
type regretOption struct {
	o  option
	ok bool
}

// regretInsert places pending jobs by regret: at each step, of the jobs with the highest
// priority, the one that loses most if it does not get its best route now (the gap between its
// best and second-best route) goes first. Greedy insertion in a fixed order fills the easy
// places first and leaves the hard jobs nowhere to go; regret serves them while they still have
// a choice, which is what a day with no spare capacity needs. Each job's best place per route is
// kept, and only the route that changed is looked at again after a placement. rs(j) lists the
// routes job j may try.
func (se *search) regretInsert(s *state, pending []int32, rs func(j int32) []int, blink func() bool) {
	c := se.c
	// Every iteration regrets tens of jobs over tens of routes: their entries, routes and options
	// come from the search's arenas (regret), not new memory each time. An entry's slices are
	// capped at their length, so that appending to one never writes over the next.
	rg := &se.regret
	rg.opts, rg.all = rg.opts[:0], rg.all[:0]
	es := rg.es[:0]
	for _, j := range pending {
		from := len(rg.all)
		rg.all = append(rg.all, rs(j)...)
		e := regretEntry{j: j, all: rg.all[from:len(rg.all):len(rg.all)], dirty: true}
		if c.twinsCount(int(j)) {
			for _, r := range e.all {
				if kind, idle := s.idleKind(c, r); idle && slices.ContainsFunc(e.rs, func(q int) bool { k, i := s.idleKind(c, q); return i && k == kind }) {
					continue // an alike idle shift is already there
				}
				e.rs = append(e.rs, r)
			}
		} else {
			e.rs = e.all
		}
		from = len(rg.opts)
		for _, r := range e.rs {
			se.budget.Yield()
			var op regretOption
			op.o, op.ok = s.bestIn(c, r, int(j), se.buf, blink)
			rg.opts = append(rg.opts, op)
		}
		e.opts = rg.opts[from:len(rg.opts):len(rg.opts)]
		es = append(es, e)
	}
	rg.es = es
	for {
		if se.ctx.Err() != nil {
			return
		}
		pick, pickPrio, pickRegret := -1, -1, -1.0
		for k := range es {
			e := &es[k]
			if e.gone {
				continue
			}
			if e.dirty {
				e.b1, e.b2, e.dirty = -1, -1, false
				for i := range e.opts {
					if !e.opts[i].ok {
						continue
					}
					switch {
					case e.b1 < 0 || e.opts[i].o.d.Less(e.opts[e.b1].o.d):
						e.b1, e.b2 = i, e.b1
					case e.b2 < 0 || e.opts[i].o.d.Less(e.opts[e.b2].o.d):
						e.b2 = i
					}
				}
			}
			b1, b2 := e.b1, e.b2
			if b1 < 0 {
				e.gone = true // no route has room: it stays unassigned
				continue
			}
			free := unassignedCost(*c.job(int(e.j)), c.horizon, c.disrupt)
			if !e.opts[b1].o.d.sub(free).Less(Cost{}) {
				e.gone = true // serving it costs more than leaving it out
				continue
			}
			regret := math.Inf(1) // one place left: take it before it goes
			if b2 >= 0 {
				regret = scalar(e.opts[b2].o.d) - scalar(e.opts[b1].o.d)
			}
			if len(e.rs) < len(e.all) {
				// Best in an idle shift with an idle alike one left out of rs: the same place
				// twice, no regret (as if both had been tried).
				if kind, idle := s.idleKind(c, e.rs[b1]); idle && slices.ContainsFunc(e.all, func(q int) bool {
					k, i := s.idleKind(c, q)
					return i && k == kind && q != e.rs[b1]
				}) {
					regret = 0
				}
			}
			prio := c.job(int(e.j)).Priority
			if pick < 0 || prio > pickPrio || (prio == pickPrio && regret > pickRegret) {
				pick, pickPrio, pickRegret = k, prio, regret
			}
		}
		if pick < 0 {
			return
		}
		e := &es[pick]
		best := -1
		for i := range e.opts {
			if e.opts[i].ok && (best < 0 || e.opts[i].o.d.Less(e.opts[best].o.d)) {
				best = i
			}
		}
		o := e.opts[best].o
		tech := c.routes[o.r].tech
		wasIdle := s.work[tech] == 0
		s.place(c, int(e.j), o)
		e.gone = true
		for k := range es {
			f := &es[k]
			if f.gone {
				continue
			}
			if i := slices.Index(f.rs, o.r); i >= 0 {
				se.budget.Yield()
				f.opts[i].o, f.opts[i].ok = s.bestIn(c, o.r, int(f.j), se.buf, blink)
				f.dirty = true
			}
			if !wasIdle || len(f.rs) == len(f.all) {
				continue
			}
			// The technician's shifts stood for every idle alike one: the next idle shift of
			// each of their kinds takes over.
			for _, q := range c.techs[tech].routes {
				if !slices.Contains(f.rs, q) {
					continue
				}
				kind, _ := s.idleKind(c, q)
				for _, r := range f.all {
					if k, idle := s.idleKind(c, r); idle && k == kind && !slices.Contains(f.rs, r) {
						f.rs = append(f.rs, r)
						op := regretOption{}
						op.o, op.ok = s.bestIn(c, r, int(f.j), se.buf, blink)
						f.opts = append(f.opts, op)
						f.dirty = true
						break
					}
				}
			}
		}
	}
}

// scalar weighs a cost change in seconds of travel, for regrets: a breach or an hour of lateness
// outweighs any detour.
func scalar(d Cost) float64 {
	return float64(d.Breaches)*1e9 + float64(d.Lateness)*100 + float64(d.Travel+d.Disruption) + float64(d.Waiting)/100
}
