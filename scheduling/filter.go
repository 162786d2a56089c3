package scheduling

import "slices"

// latestStarts is, for route r with visits seq (feasible), the latest start of each visit that
// keeps the rest of the route feasible, so that bestIn can tell in constant time whether a job
// fits at a position before evaluating the route in full. It answers false where it cannot
// (breaks, told windows kept, time-dependent travel): bestIn then evaluates every position.
func (c *compiled) latestStarts(r int, seq []int32, out []int64) ([]int64, bool) {
	return c.latestBy(r, seq, out, false)
}

// latestOnTime is latestStarts with every visit that has a deadline starting by it as well: the
// latest starts that keep the route feasible and add no lateness (for a route with none).
func (c *compiled) latestOnTime(r int, seq []int32, out []int64) ([]int64, bool) {
	return c.latestBy(r, seq, out, true)
}

func (c *compiled) latestBy(r int, seq []int32, out []int64, onTime bool) ([]int64, bool) {
	cr := c.routes[r]
	t := &c.pr.Technicians[cr.tech]
	sh := &t.Shifts[cr.shift]
	if len(sh.Breaks) > 0 || c.keepTold || c.timed != nil {
		return nil, false
	}
	next := sh.end(t)
	tr := c.pr.Travel
	out = slices.Grow(out[:0], len(seq))[:len(seq)]
	bound := sh.End
	for k := len(seq) - 1; k >= 0; k-- {
		job := c.job(int(seq[k]))
		b := min(bound-tr.Seconds(job.Loc, next), sh.End) - job.Duration
		if onTime && job.Due != 0 {
			b = min(b, job.Due)
		}
		l, ok := latestIn(c.jobs[seq[k]].ws, b)
		if !ok || job.Started {
			return nil, false
		}
		out[k], bound, next = l, l, job.Loc
	}
	return out, true
}

// latestOf is latestStarts of route r's visits seq, from the search's memo when it has them.
func (c *compiled) latestOf(r int, seq []int32, out []int64) ([]int64, bool) {
	if c.latest == nil || len(seq) == 0 {
		return c.latestStarts(r, seq, out)
	}
	m := c.memo(r, seq)
	return m.latest, m.quick
}

// onTimeOf is latestOnTime of route r's visits seq, from the search's memo when it has them.
func (c *compiled) onTimeOf(r int, seq []int32, out []int64) ([]int64, bool) {
	if c.latest == nil || len(seq) == 0 {
		return c.latestOnTime(r, seq, out)
	}
	m := c.memo(r, seq)
	if !m.onTimeSet {
		m.onTime, m.onTimeQuick = c.latestOnTime(r, seq, m.onTime)
		m.onTimeSet = true
	}
	return m.onTime, m.onTimeQuick
}

// memo is route r's memo, made for the visits seq (the latest starts now, on-time ones when asked).
func (c *compiled) memo(r int, seq []int32) *latestMemo {
	m := &c.latest[r]
	if m.first != &seq[0] || m.n != len(seq) {
		m.latest, m.quick = c.latestStarts(r, seq, m.latest)
		m.first, m.n, m.onTimeSet = &seq[0], len(seq), false
	}
	return m
}

// latestIn is the latest start ≤ b inside one of ws (sorted; none: anywhere), or false.
func latestIn(ws []Window, b int64) (int64, bool) {
	if len(ws) == 0 {
		return b, true
	}
	for i := len(ws) - 1; i >= 0; i-- {
		if ws[i].Start <= b {
			return min(ws[i].End, b), true
		}
	}
	return 0, false
}

// fits says whether job j fits in route r (visits seq, latest starts from latestStarts) at
// position pos: exactly what evaluating the route would say of its feasibility.
func (s *state) fits(c *compiled, r int, seq []int32, latest []int64, j, pos int) bool {
	return c.fitsAfter(r, seq, latest, j, pos, s.startBefore(seq, pos), s.rc[r].load)
}

// startBefore is the start of the visit before position pos of seq (0 at the route's start).
func (s *state) startBefore(seq []int32, pos int) int64 {
	if pos == 0 {
		return 0
	}
	return s.start[seq[pos-1]]
}

// fitsAfter is fits with the start of the visit before pos and the load of seq given (any
// route's schedule): the load once per route, not summed again at every position.
func (c *compiled) fitsAfter(r int, seq []int32, latest []int64, j, pos int, prevStart int64, load int) bool {
	f, ok := c.fitter(r, seq, latest, j, load)
	if !ok {
		return false
	}
	fits, _ := f.at(pos, prevStart)
	return fits
}

// fitter holds what fitsAfter needs of a route and a job, worked out once for every position
// of the job in the route (insertion tries them all: a quarter of the search's time was spent
// finding them again at each).
type fitter struct {
	c              *compiled
	tr             Travel
	seq            []int32
	latest         []int64
	ws             []Window
	loc, home, dep int   // the job's place, the shift's end place, its start place
	dur, from      int64 // the job's duration; no start before (now, the told window)
	shStart, shEnd int64
	// onTime, when set, is latestOnTime's for seq and due the job's deadline (0: none): at then
	// also says whether every deadline is kept.
	onTime []int64
	due    int64
}

// fitter is false when job j fits nowhere in route r: the technician's job limit or capacity.
func (c *compiled) fitter(r int, seq []int32, latest []int64, j int, load int) (fitter, bool) {
	cr := c.routes[r]
	t := &c.pr.Technicians[cr.tech]
	sh := &t.Shifts[cr.shift]
	if t.MaxJobs > 0 && len(seq) >= t.MaxJobs {
		return fitter{}, false
	}
	job := c.job(j)
	if t.Capacity > 0 && load+job.Load > t.Capacity {
		return fitter{}, false
	}
	return fitter{c: c, tr: c.pr.Travel, seq: seq, latest: latest, ws: c.jobs[j].ws, loc: job.Loc, home: sh.end(t), dep: sh.start(t),
		dur: job.Duration, from: max(c.pr.Now, toldFrom(job)), shStart: sh.Start, shEnd: sh.End}, true
}

// at says whether the job fits at position pos, the visit before it starting at prevStart, and
// (with onTime set) whether it also keeps every deadline there, its own included.
func (f *fitter) at(pos int, prevStart int64) (fits, onTime bool) {
	c, tr := f.c, f.tr
	at, loc := f.shStart, f.dep
	if pos > 0 {
		prev := c.job(int(f.seq[pos-1]))
		at, loc = prevStart+prev.Duration, prev.Loc
	}
	sj, ok := earliest(f.ws, max(at+tr.Seconds(loc, f.loc), f.from))
	if !ok || sj+f.dur > f.shEnd {
		return false, false
	}
	kept := f.onTime != nil && (f.due == 0 || sj <= f.due)
	end := sj + f.dur
	if pos == len(f.seq) {
		fits = end+tr.Seconds(f.loc, f.home) <= f.shEnd
		return fits, fits && kept
	}
	nx := int(f.seq[pos])
	next := c.job(nx)
	e, ok := earliest(c.jobs[nx].ws, max(end+tr.Seconds(f.loc, next.Loc), c.pr.Now, toldFrom(next)))
	if !ok || e > f.latest[pos] {
		return false, false
	}
	return true, kept && e <= f.onTime[pos]
}

// departLate moves the forward schedule ss of a route without breaks to the latest starts that
// keep the last visit where it is: the technician leaves late instead of waiting at a door. No
// visit becomes late that was not, none leaves its told window, a visit under way stays, and
// each arrival in as follows (the first: just in time).
func (c *compiled) departLate(seq []int32, ss, ds, as []int64) {
	n := len(seq)
	for k := n - 2; k >= 0; k-- {
		job := c.job(int(seq[k]))
		if job.Started {
			break
		}
		bound := ss[k+1] - ds[k+1] - job.Duration
		if job.Due != 0 {
			bound = min(bound, max(job.Due, ss[k])) // no later past the deadline
		}
		if job.Told != nil && ss[k] <= job.Told.End {
			bound = min(bound, job.Told.End)
		}
		if l, ok := latestIn(c.jobs[seq[k]].ws, bound); ok && l > ss[k] {
			ss[k] = l
		}
	}
	for k := range n {
		switch {
		case k > 0:
			as[k] = ss[k-1] + c.job(int(seq[k-1])).Duration + ds[k]
		case !c.job(int(seq[0])).Started:
			as[0] = ss[0]
		}
	}
}

// shown sets, for the visits of route r, the starts the plan reports (after departLate): the
// times customers are told. s.start keeps the forward schedule the search reasons with.
func (c *compiled) shown(s *state, r int, out []int64) {
	var rep Route
	c.simulate(r, s.seqs[r], nil, &rep)
	for k, j := range s.seqs[r] {
		out[j] = rep.Visits[k].Start
	}
}

// shownAll is every placed job's reported start (the others: 0).
func (c *compiled) shownAll(s *state) []int64 {
	out := make([]int64, len(s.where))
	for r, seq := range s.seqs {
		if len(seq) > 0 {
			c.shown(s, r, out)
		}
	}
	return out
}

// toldFrom is the start of job's told window (no visit starts before it), or 0.
func toldFrom(job *Job) int64 {
	if job.Told != nil {
		return job.Told.Start
	}
	return 0
}

// simple says whether inserting job j into a route with visits seq changes only travel and
// balance, whatever the position (no deadline on the route or on j, j not accepted, no move
// costs): bestIn then ranks positions by their detour alone, waiting aside.
func (s *state) simple(c *compiled, seq []int32, j int) bool {
	if c.job(j).Due != 0 || !c.noMoveCost(j) {
		return false
	}
	for _, x := range seq {
		if c.job(int(x)).Due != 0 {
			return false
		}
	}
	return true
}

// noMoveCost says that where job j goes costs no disruption: j is accepted by no one and no told
// visit may move (Budget.Stability), so positions differ only in travel, waiting, balance and
// lateness.
func (c *compiled) noMoveCost(j int) bool {
	return c.job(j).AcceptedBy == 0 && c.told == nil
}

// detour is what inserting job j at pos in route r (visits seq) adds to travel and balance.
func (s *state) detour(c *compiled, r int, seq []int32, j, pos int) Cost {
	cr := c.routes[r]
	t := &c.pr.Technicians[cr.tech]
	sh := &t.Shifts[cr.shift]
	prev, next := sh.start(t), sh.end(t)
	if pos > 0 {
		prev = c.job(int(seq[pos-1])).Loc
	}
	if pos < len(seq) {
		next = c.job(int(seq[pos])).Loc
	}
	tr, job := c.pr.Travel, c.job(j)
	dt := tr.Seconds(prev, job.Loc) + tr.Seconds(job.Loc, next)
	if len(seq) > 0 { // an empty route had no travel at all
		dt -= tr.Seconds(prev, next)
	}
	w := s.work[cr.tech]
	return Cost{Travel: dt, Balance: balanceOf(w+dt+job.Duration) - balanceOf(w)}
}
