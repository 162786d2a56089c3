package scheduling

import (
	"math"
	"slices"
)

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
	type entry struct {
		j    int32
		rs   []int
		opts []regretOption
		gone bool
	}
	es := make([]entry, 0, len(pending))
	for _, j := range pending {
		e := entry{j: j, rs: slices.Clone(rs(j))}
		e.opts = make([]regretOption, len(e.rs))
		for i, r := range e.rs {
			se.budget.Yield()
			e.opts[i].o, e.opts[i].ok = s.bestIn(c, r, int(j), se.buf, blink)
		}
		es = append(es, e)
	}
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
			b1, b2 := -1, -1
			for i := range e.opts {
				if !e.opts[i].ok {
					continue
				}
				switch {
				case b1 < 0 || e.opts[i].o.d.Less(e.opts[b1].o.d):
					b1, b2 = i, b1
				case b2 < 0 || e.opts[i].o.d.Less(e.opts[b2].o.d):
					b2 = i
				}
			}
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
			}
		}
	}
}

// scalar weighs a cost change in seconds of travel, for regrets: a breach or an hour of lateness
// outweighs any detour.
func scalar(d Cost) float64 {
	return float64(d.Breaches)*1e9 + float64(d.Lateness)*100 + float64(d.Travel+d.Disruption) + float64(d.Waiting)/100
}
