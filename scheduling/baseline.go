package scheduling

import (
	"cmp"
	"slices"
)

// NearestAvailable is the baseline a dispatcher without a solver would apply: each job, in the
// problem's order, goes to the nearest technician (from their start) who has the skills and
// room, at the end of that technician's earliest shift where it fits. Benchmarks compare the
// solver with it in the same run.
func NearestAvailable(p *Problem) (*Plan, error) {
	plan, err := NewPlan(p, nil)
	if err != nil {
		return nil, err
	}
	c, s := plan.c, plan.s
	type near struct {
		ti int
		d  int64
	}
	var order []near
	for j := range c.jobs {
		loc := c.job(j).Loc
		order = order[:0]
		for ti := range c.techs {
			if c.canDo(ti, j) {
				order = append(order, near{ti, c.pr.Travel.Seconds(c.pr.Technicians[ti].Start, loc)})
			}
		}
		slices.SortFunc(order, func(a, b near) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.ti, b.ti)) })
	placing:
		for _, x := range order {
			for _, r := range c.techs[x.ti].routes {
				seq := append(slices.Clone(s.seqs[r]), int32(j))
				if rc := c.eval(r, seq, nil); rc.ok {
					s.place(c, j, option{r: r, pos: len(seq) - 1, rc: rc})
					break placing
				}
			}
		}
	}
	return plan, nil
}
