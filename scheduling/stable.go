package scheduling

import (
	"slices"
	"time"
)

// Stability keeps a re-optimised plan close to what customers and technicians were told
// (Budget.Stability). A told visit is a job placed in the plan given to Optimize with Job.Told
// set: the arrival window the customer heard.
type Stability struct {
	// Freeze: visits starting before Problem.Now+Freeze keep their technician and start (the
	// technician is preparing them). Zero: nothing is frozen by time.
	Freeze time.Duration
	// MoveCost, in seconds of travel, is what moving a told visit costs: giving it another
	// technician or shift, or a start outside its Told window. The search moves it only when the
	// move saves more. 0: DefaultMoveCost.
	MoveCost int64
	// ChangeCost is added to MoveCost when the technician or the shift (the day) changes.
	// 0: DefaultChangeCost.
	ChangeCost int64
	// MoveAccepted lets the search move accepted visits (at the Problem's Disruption when to
	// another technician); by default they keep their technician and start.
	MoveAccepted bool
}

// Defaults of Stability: about 10 minutes of travel to move a told visit within its shift, 30
// minutes to give it another technician or day.
const (
	DefaultMoveCost   = 600
	DefaultChangeCost = 1200
)

// told is where a told visit was when Optimize began, and what moving it costs.
type told struct {
	route      int // -1: not a told visit
	win        Window
	move, swap int64 // the cost outside the window; with another route
}

// stabilize marks, in sc (fixedFor's copy), what Stability freezes and what it charges for.
func (sc *compiled) stabilize(s *state, st *Stability) {
	move, change := st.MoveCost, st.ChangeCost
	if move == 0 {
		move = DefaultMoveCost
	}
	if change == 0 {
		change = DefaultChangeCost
	}
	frozen := sc.pr.Now + int64(st.Freeze/time.Second)
	shown := sc.shownAll(s)
	sc.told = make([]told, len(sc.jobs))
	for j := range sc.jobs {
		sc.told[j].route = -1
		r := s.where[j]
		job := sc.job(j)
		if r < 0 || sc.jobs[j].fixed {
			continue
		}
		if shown[j] < frozen || (job.AcceptedBy != 0 && !st.MoveAccepted) {
			sc.fix(j, int(r), shown[j])
			continue
		}
		if job.Told != nil {
			// A visit already after its told window (an earlier plan moved it) may stay where
			// it is for free: the cost is for moving it from here.
			win := *job.Told
			win.End = max(win.End, s.start[j], shown[j])
			sc.told[j] = told{route: int(r), win: win, move: move, swap: move + change}
		}
	}
}

// fix holds job j at route r and start.
func (c *compiled) fix(j, r int, start int64) {
	cj := &c.jobs[j]
	cj.fixed, cj.pinTech = true, c.routes[r].tech
	cj.ws = []Window{{start, start}}
}

// moveCost is what starting job j at s in route r costs against where it was told.
func (c *compiled) moveCost(j, r int, s int64) int64 {
	if c.told == nil {
		return 0
	}
	t := &c.told[j]
	switch {
	case t.route < 0:
		return 0
	case t.route != r:
		return t.swap
	case s < t.win.Start || s > t.win.End:
		return t.move
	}
	return 0
}

// InsertOptions choose how Insert places a job.
type InsertOptions struct {
	// KeepTold: every visit with a Told window keeps its technician and starts inside that
	// window; the new job goes only where that holds (the online booking's mode: nobody already
	// told a time hears a new one).
	KeepTold bool
}

// InsertWith is Insert with options.
func (p *Plan) InsertWith(j Job, candidates []int64, o InsertOptions) (Placement, error) {
	p.c.keepTold = o.KeepTold
	defer func() { p.c.keepTold = false }()
	return p.Insert(j, candidates)
}

// keeps says whether a visit of job at s keeps its told window (in KeepTold mode).
func (c *compiled) keeps(job *Job, s int64) bool {
	return !c.keepTold || job.Told == nil || (job.Told.Start <= s && s <= job.Told.End)
}

// restate re-evaluates every route of s under c (a route that no longer holds keeps its old
// evaluation: the search starts from it and moves away).
func (c *compiled) restate(s *state) {
	for r, seq := range s.seqs {
		if len(seq) > 0 {
			if rc := c.eval(r, seq, nil); rc.ok {
				s.set(c, r, seq, rc)
			}
		}
	}
}

// unassignReplacing takes job j out of its route when the rest does not hold as it stands
// (timed travel: the direct road at that hour is slower than the detour was): the visits after
// it leave the route from the last one until the route holds, and are placed again wherever
// they fit best. False when a visit that cannot move is in the way.
func (s *state) unassignReplacing(c *compiled, j int) bool {
	r := int(s.where[j])
	seq := slices.DeleteFunc(slices.Clone(s.seqs[r]), func(x int32) bool { return int(x) == j })
	pos := slices.Index(s.seqs[r], int32(j))
	var out []int32
	for len(seq) > pos {
		if rc := c.eval(r, seq, nil); rc.ok {
			break
		}
		last := seq[len(seq)-1]
		if job := c.job(int(last)); job.Started || job.PinnedStart != 0 || c.jobs[last].fixed {
			return false
		}
		out, seq = append(out, last), seq[:len(seq)-1]
	}
	rc := c.eval(r, seq, nil)
	if !rc.ok {
		return false
	}
	s.set(c, r, seq, rc)
	s.sum = s.sum.add(unassignedCost(*c.job(j), c.horizon, c.disrupt))
	for _, x := range out {
		s.where[x] = -1
		s.sum = s.sum.add(unassignedCost(*c.job(int(x)), c.horizon, c.disrupt))
	}
	for _, x := range slices.Backward(out) {
		if o, ok := s.bestOption(c, int(x), c.routesFor(int(x), nil, nil), nil, nil); ok {
			s.place(c, int(x), o)
		}
	}
	return true
}
