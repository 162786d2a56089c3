package scheduling

import (
	"slices"
)

// rcost is one route's share of the objective.
type rcost struct {
	ok                               bool
	breach, late, travel, disr, wait int64
	work                             int64
	n, load                          int
}

// state is a plan: every route's visits and every job's place and start.
type state struct {
	seqs  [][]int32
	rc    []rcost
	where []int32 // route, -1 unassigned
	start []int64
	work  []int64 // per technician
	sum   Cost
	// latest and onTime are bestIn's scratch for latestStarts and latestOnTime.
	latest, onTime []int64
}

func newState(c *compiled) *state {
	s := &state{seqs: make([][]int32, len(c.routes)), rc: make([]rcost, len(c.routes)), work: make([]int64, len(c.techs))}
	for r := range s.rc {
		s.rc[r] = rcost{ok: true}
	}
	for j := range c.jobs {
		s.grow(c, j)
	}
	return s
}

// grow adds job j (new) as unassigned.
func (s *state) grow(c *compiled, j int) {
	s.where = append(s.where, -1)
	s.start = append(s.start, 0)
	s.sum = s.sum.add(unassignedCost(*c.job(j), c.horizon, c.disrupt))
}

func (s *state) clone() *state {
	return &state{seqs: slices.Clone(s.seqs), rc: slices.Clone(s.rc), where: slices.Clone(s.where), start: slices.Clone(s.start),
		work: slices.Clone(s.work), sum: s.sum}
}

// cloneInto makes d (nil: a new state) a copy of s, reusing d's memory; the search's iterations
// copy their plan this way into the one they last threw away. Routes' visits are never changed in
// place, so copying the slices that hold them is enough.
func (s *state) cloneInto(d *state) *state {
	if d == nil {
		return s.clone()
	}
	d.seqs, d.rc, d.where = append(d.seqs[:0], s.seqs...), append(d.rc[:0], s.rc...), append(d.where[:0], s.where...)
	d.start, d.work, d.sum = append(d.start[:0], s.start...), append(d.work[:0], s.work...), s.sum
	return d
}

// eval simulates route r with visits seq (see Break for when breaks are taken); starts, when
// not nil, receives each visit's start and rep, when not nil, the route's full report. It is the
// search's evaluator; Check is independent.
func (c *compiled) eval(r int, seq []int32, starts []int64) rcost {
	return c.simulate(r, seq, starts, nil)
}

func (c *compiled) simulate(r int, seq []int32, starts []int64, rep *Route) rcost {
	if len(seq) == 0 {
		return rcost{ok: true}
	}
	cr := c.routes[r]
	t := &c.pr.Technicians[cr.tech]
	sh := &t.Shifts[cr.shift]
	tr := c.pr.Travel
	now := c.pr.Now
	out := rcost{ok: true, n: len(seq)}
	if t.MaxJobs > 0 && len(seq) > t.MaxJobs {
		return rcost{}
	}
	at, loc, bi := sh.Start, sh.start(t), 0
	// The forward schedule (each visit as early as it can), each leg's travel and arrival, for
	// the backward pass that departs late instead of waiting at a door.
	var buf [3][64]int64 // on the stack up to 64 visits (Solomon's long routes hold 30-40)
	ss, ds, as := buf[0][:0], buf[1][:0], buf[2][:0]
	var inner int64 // breaks taken between visits
	for k, j := range seq {
		job := &c.pr.Jobs[j]
		out.load += job.Load
		if t.Capacity > 0 && out.load > t.Capacity {
			return rcost{}
		}
		d := leg(tr, c.timed, loc, job.Loc, at)
		drive := d // still to drive before the visit
		var s int64
		if job.Started {
			if k > 0 {
				return rcost{} // a visit under way comes first
			}
			s = job.PinnedStart
		} else {
			ws := c.jobs[j].ws
			for bi < len(sh.Breaks) {
				b := &sh.Breaks[bi]
				if s0, ok := earliest(ws, max(at+drive, now, toldFrom(job))); ok && s0+job.Duration <= b.End {
					break // the break can wait until after this visit
				}
				var bs int64
				if bs = max(at+drive, b.Start); bs <= b.End {
					drive = 0 // on arrival, before the visit
				} else if bs = max(at, b.Start); bs > b.End {
					return rcost{}
				} // else before leaving: the window closes on the road
				if rep != nil {
					rep.Breaks = append(rep.Breaks, Window{bs, bs + b.Duration})
				}
				if k > 0 {
					inner += b.Duration
				}
				at = bs + b.Duration
				bi++
			}
			var ok bool
			s, ok = earliest(ws, max(at+drive, now, toldFrom(job))) // a told customer sees no one earlier
			if !ok || s+job.Duration > sh.End {
				return rcost{}
			}
		}
		if !c.keeps(job, s) {
			return rcost{}
		}
		if starts != nil {
			starts[k] = s
		}
		ss, ds, as = append(ss, s), append(ds, d), append(as, at+drive)
		br, lt := lateness(*job, s)
		out.breach += br
		out.late += lt
		out.travel += d
		out.work += d + job.Duration
		if job.AcceptedBy != 0 && job.AcceptedBy != t.ID {
			out.disr += c.disrupt
		}
		out.disr += c.moveCost(int(j), r, s)
		at, loc = s+job.Duration, job.Loc
	}
	if c.pr.DepartLate && len(sh.Breaks) == 0 && c.timed == nil {
		c.departLate(seq, ss, ds, as)
	}
	out.wait = -inner
	for k, j := range seq {
		job := &c.pr.Jobs[j]
		if k > 0 {
			out.wait += ss[k] - ss[k-1] - c.pr.Jobs[seq[k-1]].Duration - ds[k]
		}
		if rep != nil {
			rep.Visits = append(rep.Visits, Visit{Job: job.ID, Arrival: as[k], Start: ss[k], End: ss[k] + job.Duration})
		}
	}
	leave := at // the drive home is timed from the last visit's end
	for ; bi < len(sh.Breaks); bi++ {
		b := &sh.Breaks[bi]
		bs := max(at, b.Start)
		if bs > b.End {
			return rcost{}
		}
		if rep != nil {
			rep.Breaks = append(rep.Breaks, Window{bs, bs + b.Duration})
		}
		at = bs + b.Duration
	}
	d := leg(tr, c.timed, loc, sh.end(t), leave)
	if at+d > sh.End {
		return rcost{}
	}
	out.travel += d
	out.work += d
	return out
}

// set replaces route r's visits with seq (feasible, cost rc) and updates the totals.
func (s *state) set(c *compiled, r int, seq []int32, rc rcost) {
	ti := c.routes[r].tech
	old := s.rc[r]
	s.sum.Balance -= balanceOf(s.work[ti])
	s.work[ti] += rc.work - old.work
	s.sum.Balance += balanceOf(s.work[ti])
	s.sum.Breaches += rc.breach - old.breach
	s.sum.Lateness += rc.late - old.late
	s.sum.Travel += rc.travel - old.travel
	s.sum.Disruption += rc.disr - old.disr
	s.sum.Waiting += rc.wait - old.wait
	for _, j := range s.seqs[r] {
		if s.where[j] == int32(r) {
			s.where[j] = -1
		}
	}
	s.seqs[r], s.rc[r] = seq, rc
	starts := make([]int64, len(seq))
	c.eval(r, seq, starts)
	for k, j := range seq {
		s.where[j], s.start[j] = int32(r), starts[k]
	}
}

// delta is what changing routes rs to seqs (with costs rcs) does to the total.
func (s *state) delta(c *compiled, rs []int, rcs []rcost) Cost {
	var d Cost
	var techs [4]int
	var works [4]int64
	nt := 0
	for i, r := range rs {
		old, nw := s.rc[r], rcs[i]
		d.Breaches += nw.breach - old.breach
		d.Lateness += nw.late - old.late
		d.Travel += nw.travel - old.travel
		d.Disruption += nw.disr - old.disr
		d.Waiting += nw.wait - old.wait
		ti := c.routes[r].tech
		k := slices.Index(techs[:nt], ti)
		if k < 0 {
			k = nt
			techs[k], works[k] = ti, s.work[ti]
			nt++
		}
		works[k] += nw.work - old.work
	}
	for k := range nt {
		d.Balance += balanceOf(works[k]) - balanceOf(s.work[techs[k]])
	}
	return d
}

// unassign takes job j out of the plan (its route is re-evaluated; removal keeps it feasible
// except with breaks or pinned starts, which eval checks).
func (s *state) unassign(c *compiled, j int) bool {
	r := s.where[j]
	if r < 0 {
		return true
	}
	seq := slices.DeleteFunc(slices.Clone(s.seqs[r]), func(x int32) bool { return int(x) == j })
	rc := c.eval(int(r), seq, nil)
	if !rc.ok {
		return false
	}
	s.set(c, int(r), seq, rc)
	s.sum = s.sum.add(unassignedCost(*c.job(j), c.horizon, c.disrupt))
	return true
}

// option is a place for a job: route and position, and what it changes.
type option struct {
	r, pos int
	rc     rcost
	d      Cost
}

// bestIn finds job j's best position in route r (ok false: none). skip, when not nil, blinks
// positions (the search's randomisation).
func (s *state) bestIn(c *compiled, r, j int, buf []int32, skip func() bool) (option, bool) {
	seq := s.seqs[r]
	cj := &c.jobs[j]
	best, found := option{}, false
	var lastEnd int64 = -1 << 62
	if len(cj.ws) > 0 {
		lastEnd = cj.ws[len(cj.ws)-1].End
	}
	rs := [1]int{r}
	latest, quick := c.latestOf(r, seq, s.latest)
	if quick && c.latest == nil {
		s.latest = latest
	}
	simple := quick && s.simple(c, seq, j)
	var fit fitter
	fitOK := false // false: the job limit or the capacity leave no position
	if quick {
		fit, fitOK = c.fitter(r, seq, latest, j, s.rc[r].load)
	}
	// On a route with a deadline (or for a job with one) that is not late, with nothing accepted
	// or told: a position where every deadline is still kept (fit.onTime) changes only travel, waiting
	// and balance, and beats every position that makes a visit late. Those are ranked by their
	// detour as simple's are; the others are evaluated only when no position keeps every deadline.
	onTime := false
	var lateBuf [12]int
	lates := lateBuf[:0]
	if fitOK && !simple && s.rc[r].late == 0 && s.rc[r].breach == 0 && c.noMoveCost(j) {
		if lo, ok := c.onTimeOf(r, seq, s.onTime); ok {
			if c.latest == nil {
				s.onTime = lo
			}
			onTime = true
			fit.onTime, fit.due = lo, c.job(j).Due
		}
	}
	for pos := 0; pos <= len(seq); pos++ {
		if pos > 0 && len(cj.ws) > 0 {
			prev := int(seq[pos-1])
			if s.start[prev]+c.job(prev).Duration > lastEnd {
				break // every later position starts after the last window
			}
		}
		if pos < len(seq) && c.job(int(seq[pos])).Started {
			continue // nothing goes before a visit under way
		}
		if skip != nil && skip() {
			continue
		}
		kept := false // every deadline kept at pos (onTime)
		if quick {
			var fits bool
			if fitOK {
				fits, kept = fit.at(pos, s.startBefore(seq, pos))
			}
			if !fits {
				continue
			}
		}
		if simple || kept {
			// only travel and balance differ between positions: no need to evaluate
			if d := s.detour(c, r, seq, j, pos); !found || d.Less(best.d) {
				best, found = option{r: r, pos: pos, d: d}, true
			}
			continue
		}
		if onTime { // a visit would be late: worse than any position that keeps every deadline
			lates = append(lates, pos)
			continue
		}
		best, found = s.evalAt(c, r, j, pos, seq, buf, best, found)
	}
	detoured := simple || onTime
	if onTime && !found {
		for _, pos := range lates {
			best, found = s.evalAt(c, r, j, pos, seq, buf, best, found)
		}
		detoured = false
	}
	if detoured && found { // the chosen position, evaluated in full (waiting included)
		buf = slices.Insert(append(buf[:0], seq...), best.pos, int32(j))
		if best.rc = c.eval(r, buf, nil); !best.rc.ok {
			return option{}, false
		}
		best.d = s.delta(c, rs[:], []rcost{best.rc})
	}
	return best, found
}

// evalAt evaluates job j at position pos of route r (visits seq, built in buf) and returns the
// better of that and best (found: best is one).
func (s *state) evalAt(c *compiled, r, j, pos int, seq, buf []int32, best option, found bool) (option, bool) {
	buf = append(buf[:0], seq[:pos]...)
	buf = append(buf, int32(j))
	buf = append(buf, seq[pos:]...)
	rc := c.eval(r, buf, nil)
	if !rc.ok {
		return best, found
	}
	d := s.delta(c, []int{r}, []rcost{rc})
	if !found || d.Less(best.d) {
		return option{r: r, pos: pos, rc: rc, d: d}, true
	}
	return best, found
}

// place puts job j (unassigned) at option o.
func (s *state) place(c *compiled, j int, o option) {
	seq := make([]int32, 0, len(s.seqs[o.r])+1)
	seq = append(seq, s.seqs[o.r][:o.pos]...)
	seq = append(seq, int32(j))
	seq = append(seq, s.seqs[o.r][o.pos:]...)
	s.sum = s.sum.sub(unassignedCost(*c.job(j), c.horizon, c.disrupt))
	s.set(c, o.r, seq, o.rc)
}

// routesFor lists the routes where job j could go: technicians in techs (nil: all) who can do it,
// shifts that overlap its windows and end after now.
func (c *compiled) routesFor(j int, techs []int, out []int) []int {
	cj := &c.jobs[j]
	lo, hi := c.pr.Now, int64(1<<62)
	if len(cj.ws) > 0 {
		lo, hi = max(lo, cj.ws[0].Start), cj.ws[len(cj.ws)-1].End
	}
	try := func(ti int) {
		if !c.canDo(ti, j) {
			return
		}
		t := &c.pr.Technicians[ti]
		for si, r := range c.techs[ti].routes {
			sh := &t.Shifts[si]
			if sh.End >= lo && sh.Start <= hi {
				out = append(out, r)
			}
		}
	}
	if techs == nil {
		for ti := range c.techs {
			try(ti)
		}
	} else {
		for _, ti := range techs {
			try(ti)
		}
	}
	return out
}

// reason explains why job j found no place among techs (nil: all).
func (c *compiled) reason(s *state, j int, techs []int) Reason {
	cj := &c.jobs[j]
	job := c.job(j)
	if techs != nil && len(techs) == 0 {
		return ReasonOutsideAreas
	}
	if cj.pinTech >= 0 && cj.skills&^c.techs[cj.pinTech].skills != 0 {
		return ReasonPinned
	}
	skilled := false
	for ti := range c.techs {
		skilled = skilled || c.canDo(ti, j)
	}
	if !skilled {
		if cj.pinTech >= 0 {
			return ReasonPinned
		}
		return ReasonNoSkill
	}
	rs := c.routesFor(j, techs, nil)
	if len(rs) == 0 {
		if cj.pinTech >= 0 || job.PinnedStart != 0 {
			return ReasonPinned
		}
		return ReasonNoShift
	}
	full := true
	for _, r := range rs {
		t := &c.pr.Technicians[c.routes[r].tech]
		load := 0
		for _, x := range s.seqs[r] {
			load += c.job(int(x)).Load
		}
		if !(t.MaxJobs > 0 && len(s.seqs[r]) >= t.MaxJobs) && !(t.Capacity > 0 && load+job.Load > t.Capacity) {
			full = false
		}
	}
	switch {
	case full:
		return ReasonCapacity
	case job.PinnedStart != 0:
		return ReasonPinned
	case len(job.Windows) > 0:
		return ReasonNoRoomWindows
	default:
		return ReasonNoRoom
	}
}
