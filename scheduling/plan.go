package scheduling

import (
	"fmt"
	"maps"
	"slices"
)

// compiled is the problem in the form the search reads: skills as bit sets, windows sorted, one
// route per technician and shift.
type compiled struct {
	pr       *Problem
	techs    []ctech
	routes   []croute
	jobs     []cjob
	jobIndex map[int64]int
	techIdx  map[int64]int
	skillBit map[string]int
	horizon  int64 // the last shift end
	disrupt  int64
	told     []told      // Optimize with Stability: where told visits were (nil: no stability)
	keepTold bool        // InsertWith(KeepTold): told visits stay in their windows
	timed    TimedTravel // the Travel when it depends on the hour (nil: it does not)
	// oneFleet: every technician is alike (the same places, skills, limits and shifts, only the
	// IDs differ), a fleet of vans from one depot as in Solomon's instances.
	oneFleet bool
	// latest caches latestStarts by route for one search (Optimize's own copy; nil elsewhere).
	latest []latestMemo
}

// latestMemo is a route's latest starts for the visits it had: a route's visits are never
// changed in place (a change sets a new slice), so the slice's first element and length name them.
type latestMemo struct {
	first  *int32
	n      int
	latest []int64
	quick  bool
	// onTime: latestOnTime's, worked out the first time a search asks (onTimeSet).
	onTime                 []int64
	onTimeQuick, onTimeSet bool
}

type ctech struct {
	skills uint64
	routes []int // one per shift
	// twin is the first technician (index) alike in everything but the ID: skills, places,
	// limits and shifts. Two idle twins are the same choice for a job (see bestOption).
	twin int
}

type croute struct {
	tech, shift int
}

type cjob struct {
	skills  uint64
	ws      []Window
	pinTech int    // technician index, -1: none
	exclude []int  // technician indices
	allow   []bool // by technician index; nil: everyone
	fixed   bool   // Optimize leaves it where it is (pinned or under way)
	removed bool
}

// insertRoom is the room a compiled problem keeps for jobs Insert adds without growing its slices.
const insertRoom = 8

func compile(p *Problem) (*compiled, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	shifts := 0
	for i := range p.Technicians {
		shifts += len(p.Technicians[i].Shifts)
	}
	c := &compiled{pr: p, jobIndex: make(map[int64]int, len(p.Jobs)+insertRoom), techIdx: make(map[int64]int, len(p.Technicians)), skillBit: map[string]int{},
		disrupt: p.Disruption, techs: make([]ctech, 0, len(p.Technicians)), routes: make([]croute, 0, shifts), jobs: make([]cjob, 0, len(p.Jobs)+insertRoom)}
	c.timed, _ = p.Travel.(TimedTravel)
	if c.disrupt == 0 {
		c.disrupt = DefaultDisruption
	}
	for ti, t := range p.Technicians {
		c.techIdx[t.ID] = ti
		mask, err := c.mask(t.Skills)
		if err != nil {
			return nil, err
		}
		ct := ctech{skills: mask, twin: ti}
		for k := range ti {
			if c.techs[k].twin == k && c.techs[k].skills == mask && alike(&p.Technicians[k], &t) {
				ct.twin = k
				break
			}
		}
		for si, s := range t.Shifts {
			ct.routes = append(ct.routes, len(c.routes))
			c.routes = append(c.routes, croute{tech: ti, shift: si})
			c.horizon = max(c.horizon, s.End)
		}
		c.techs = append(c.techs, ct)
	}
	c.oneFleet = len(c.techs) > 1
	for _, t := range c.techs {
		c.oneFleet = c.oneFleet && t.twin == 0
	}
	for _, j := range p.Jobs {
		if err := c.addJob(j); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// twinsCount says whether idle alike technicians are one choice for job j (see bestOption).
func (c *compiled) twinsCount(j int) bool { return c.told == nil && c.job(j).AcceptedBy == 0 }

// idleKind is route r's kind (its technician's first twin and its shift) and whether its
// technician is idle (no work in any shift).
func (s *state) idleKind(c *compiled, r int) (croute, bool) {
	cr := c.routes[r]
	return croute{tech: c.techs[cr.tech].twin, shift: cr.shift}, s.work[cr.tech] == 0 && len(s.seqs[r]) == 0
}

// alike says whether technicians a and b differ only in their IDs.
func alike(a, b *Technician) bool {
	if a.Start != b.Start || a.End != b.End || a.MaxJobs != b.MaxJobs || a.Capacity != b.Capacity || len(a.Shifts) != len(b.Shifts) {
		return false
	}
	same := func(x, y *int) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	for i := range a.Shifts {
		sa, sb := &a.Shifts[i], &b.Shifts[i]
		if sa.Window != sb.Window || !slices.Equal(sa.Breaks, sb.Breaks) || !same(sa.From, sb.From) || !same(sa.To, sb.To) {
			return false
		}
	}
	return true
}

// clone copies what Insert and Remove change, so two plans never share it.
func (c *compiled) clone() *compiled {
	cc := *c
	pr := *c.pr
	pr.Jobs = slices.Clone(c.pr.Jobs)
	cc.pr = &pr
	cc.jobs = slices.Clone(c.jobs)
	cc.jobIndex = maps.Clone(c.jobIndex)
	cc.skillBit = maps.Clone(c.skillBit)
	return &cc
}

// mask maps skill names to bits; a job's skill no technician has gets a bit no one holds.
func (c *compiled) mask(skills []string) (uint64, error) {
	var m uint64
	for _, s := range skills {
		b, ok := c.skillBit[s]
		if !ok {
			if len(c.skillBit) == 64 {
				return 0, invalid("more than 64 distinct skills")
			}
			b = len(c.skillBit)
			c.skillBit[s] = b
		}
		m |= 1 << b
	}
	return m, nil
}

func (c *compiled) addJob(j Job) error {
	if _, dup := c.jobIndex[j.ID]; dup {
		return invalid("job %d twice", j.ID)
	}
	if err := j.Validate(); err != nil {
		return err
	}
	cj := cjob{ws: windowsOf(j), pinTech: -1}
	if j.PinnedTech != 0 {
		ti, ok := c.techIdx[j.PinnedTech]
		if !ok {
			return invalid("job %d: pinned to unknown technician %d", j.ID, j.PinnedTech)
		}
		cj.pinTech = ti
	}
	m, err := c.mask(j.Skills)
	if err != nil {
		return err
	}
	cj.skills = m
	for _, id := range j.Exclude {
		if ti, ok := c.techIdx[id]; ok {
			cj.exclude = append(cj.exclude, ti)
		}
	}
	if len(j.Technicians) > 0 {
		cj.allow = make([]bool, len(c.techs))
		for _, id := range j.Technicians {
			if ti, ok := c.techIdx[id]; ok {
				cj.allow[ti] = true
			}
		}
	}
	c.jobIndex[j.ID] = len(c.jobs)
	c.jobs = append(c.jobs, cj)
	if len(c.pr.Jobs) < len(c.jobs) {
		c.pr.Jobs = append(c.pr.Jobs, j)
	}
	return nil
}

func (c *compiled) job(j int) *Job { return &c.pr.Jobs[j] }

// canDo says whether technician ti may do job j (skills and pins).
func (c *compiled) canDo(ti, j int) bool {
	cj := &c.jobs[j]
	return !cj.removed && cj.skills&^c.techs[ti].skills == 0 && (cj.pinTech < 0 || cj.pinTech == ti) &&
		(cj.allow == nil || cj.allow[ti]) && !slices.Contains(cj.exclude, ti)
}

// Plan is a schedule for a Problem. Its methods are not safe for concurrent use.
type Plan struct {
	c *compiled
	s *state
}

// Route is one technician's shift: the visits in order, with their times.
type Route struct {
	Technician int64    `json:"technician"`
	Shift      int      `json:"shift"`
	Visits     []Visit  `json:"visits"`
	Breaks     []Window `json:"breaks,omitempty"` // taken: start and end
}

// Visit is a job in a route.
type Visit struct {
	Job     int64 `json:"job"`
	Arrival int64 `json:"arrival"`
	Start   int64 `json:"start"`
	End     int64 `json:"end"`
}

// Unassigned is a job without a place, and why.
type Unassigned struct {
	Job    int64  `json:"job"`
	Reason Reason `json:"reason"`
}

// Assignment is an existing route for NewPlan: a technician's shift and its jobs in order.
type Assignment struct {
	Technician int64
	Shift      int
	Jobs       []int64
}

// NewPlan makes a plan of p: the given routes (checked: an infeasible route is an error), every
// other job unassigned. Call Insert or Optimize to place them. The plan reads p's technicians
// where they are: they must not change while the plan is in use.
func NewPlan(p *Problem, routes []Assignment) (*Plan, error) {
	cp := *p
	// The plan's own jobs, with room for the few an online insertion adds (one a window tried):
	// Insert appends to them, never to the caller's.
	cp.Jobs = append(make([]Job, 0, len(p.Jobs)+insertRoom), p.Jobs...)
	c, err := compile(&cp)
	if err != nil {
		return nil, err
	}
	plan := &Plan{c: c, s: newState(c)}
	for _, a := range routes {
		if err := plan.Assign(a); err != nil {
			return nil, err
		}
	}
	s := plan.s
	for j := range c.jobs {
		if c.job(j).Started && s.where[j] < 0 {
			return nil, invalid("job %d is under way but in no route", c.job(j).ID)
		}
	}
	return plan, nil
}

// Assign puts an existing route into the plan: technician a.Technician's shift a.Shift (empty
// until now) with a.Jobs (unassigned until now) in that order. An infeasible route is refused
// with ErrInvalid and the plan is unchanged.
func (p *Plan) Assign(a Assignment) error {
	c, s := p.c, p.s
	ti, ok := c.techIdx[a.Technician]
	if !ok || a.Shift < 0 || a.Shift >= len(c.techs[ti].routes) {
		return invalid("route of technician %d shift %d: no such shift", a.Technician, a.Shift)
	}
	r := c.techs[ti].routes[a.Shift]
	if len(s.seqs[r]) > 0 {
		return invalid("technician %d shift %d given twice", a.Technician, a.Shift)
	}
	seq := make([]int32, 0, len(a.Jobs))
	for _, id := range a.Jobs {
		j, ok := c.jobIndex[id]
		if !ok {
			return invalid("route of technician %d: unknown job %d", a.Technician, id)
		}
		if s.where[j] >= 0 || slices.Contains(seq, int32(j)) {
			return invalid("job %d in two places", id)
		}
		if !c.canDo(ti, j) {
			return invalid("job %d: technician %d lacks its skills, is not its pin or is excluded", id, a.Technician)
		}
		seq = append(seq, int32(j))
	}
	rc := c.eval(r, seq, nil)
	if !rc.ok {
		return invalid("route of technician %d shift %d is infeasible", a.Technician, a.Shift)
	}
	for _, j := range seq {
		s.sum = s.sum.sub(unassignedCost(*c.job(int(j)), c.horizon, c.disrupt))
	}
	s.set(c, r, seq, rc)
	return nil
}

// Placement is where Insert put a job, or why it could not.
type Placement struct {
	Assigned   bool   `json:"assigned"`
	Technician int64  `json:"technician,omitempty"`
	Shift      int    `json:"shift"`
	Start      int64  `json:"start,omitempty"`
	Reason     Reason `json:"reason"`
}

// Insert adds job j to the plan and puts it where the objective is best among the candidate
// technicians (the ids geo proposes; nil: every technician), moving later visits of that route
// as needed. Placing it must improve the objective: a job whose visit would make others breach
// more than it saves stays unassigned, and so does one that fits nowhere, with a reason.
func (p *Plan) Insert(j Job, candidates []int64) (Placement, error) {
	c, s := p.c, p.s
	if err := c.addJob(j); err != nil {
		return Placement{}, err
	}
	ji := len(c.jobs) - 1
	s.grow(c, ji)
	var techs []int
	if candidates != nil {
		techs = make([]int, 0, len(candidates))
		for _, id := range candidates {
			if ti, ok := c.techIdx[id]; ok {
				techs = append(techs, ti)
			}
		}
	}
	if o, ok := s.bestOption(c, ji, c.routesFor(ji, techs, nil), nil, nil); ok {
		s.place(c, ji, o)
		_, _, start, _ := p.Where(j.ID)
		return Placement{Assigned: true, Technician: c.pr.Technicians[c.routes[o.r].tech].ID, Shift: c.routes[o.r].shift, Start: start}, nil
	}
	return Placement{Reason: c.reason(s, ji, techs)}, nil
}

// bestOption is job j's best place among routes rs that improves on leaving it out. Of idle
// twins (alike technicians with no work in any shift) only the first shift of each kind is tried:
// the others would give the same place at the same cost (a fleet of alike vans, as in Solomon's
// instances, tried once instead of once a van). Not when the technician's ID counts: an accepted
// job, or told visits whose move costs depend on who gets them.
func (s *state) bestOption(c *compiled, j int, rs []int, buf []int32, skip func() bool) (option, bool) {
	best, found := option{}, false
	twins := c.twinsCount(j)
	var tried [8]croute
	nt := 0
	for _, r := range rs {
		if kind, idle := s.idleKind(c, r); twins && idle {
			if slices.Contains(tried[:nt], kind) {
				continue
			}
			if nt < len(tried) {
				tried[nt] = kind
				nt++
			}
		}
		o, ok := s.bestIn(c, r, j, buf, skip)
		if ok && (!found || o.d.Less(best.d)) {
			best, found = o, true
		}
	}
	if !found {
		return best, false
	}
	return best, best.d.sub(unassignedCost(*c.job(j), c.horizon, c.disrupt)).Less(Cost{})
}

// Remove takes a job out of the plan (a cancelled booking). Later visits keep their order and
// may start earlier; with timed travel the direct road can be slower than the detour was, and
// the later visits it makes unreachable are placed again like new bookings.
func (p *Plan) Remove(id int64) error {
	j, ok := p.c.jobIndex[id]
	if !ok {
		return fmt.Errorf("%w: no job %d", ErrInvalid, id)
	}
	if p.c.job(j).Started {
		return fmt.Errorf("%w: job %d is under way", ErrInvalid, id)
	}
	if !p.s.unassign(p.c, j) && !p.s.unassignReplacing(p.c, j) {
		return fmt.Errorf("%w: removing job %d breaks its route (a pinned start or a break)", ErrInvalid, id)
	}
	p.s.sum = p.s.sum.sub(unassignedCost(*p.c.job(j), p.c.horizon, p.c.disrupt))
	delete(p.c.jobIndex, id)
	p.c.jobs[j].removed = true // its index stays, so the others keep theirs
	p.s.where[j] = -2
	return nil
}

// Cost is the plan's objective.
func (p *Plan) Cost() Cost { return p.s.sum }

// Routes lists the non-empty routes, technician by technician, shift by shift.
func (p *Plan) Routes() []Route {
	var out []Route
	for r, seq := range p.s.seqs {
		if len(seq) == 0 {
			continue
		}
		out = append(out, p.route(r))
	}
	return out
}

// route re-simulates route r to report its times and breaks.
func (p *Plan) route(r int) Route {
	cr := p.c.routes[r]
	out := Route{Technician: p.c.pr.Technicians[cr.tech].ID, Shift: cr.shift}
	p.c.simulate(r, p.s.seqs[r], nil, &out)
	return out
}

// Unassigned lists the jobs without a place, with reasons.
func (p *Plan) Unassigned() []Unassigned {
	var out []Unassigned
	for j, r := range p.s.where {
		if r == -1 {
			out = append(out, Unassigned{Job: p.c.job(j).ID, Reason: p.c.reason(p.s, j, nil)})
		}
	}
	return out
}

// Where says which technician and shift has job id, and when it starts.
func (p *Plan) Where(id int64) (tech int64, shift int, start int64, ok bool) {
	j, found := p.c.jobIndex[id]
	if !found || p.s.where[j] < 0 {
		return 0, 0, 0, false
	}
	r := int(p.s.where[j])
	cr := p.c.routes[r]
	var rep Route
	p.c.simulate(r, p.s.seqs[r], nil, &rep)
	start = rep.Visits[slices.Index(p.s.seqs[r], int32(j))].Start
	return p.c.pr.Technicians[cr.tech].ID, cr.shift, start, true
}

// Problem is the plan's problem as it stands: the jobs Insert added, without those removed.
func (p *Plan) Problem() *Problem {
	cp := *p.c.pr
	cp.Jobs = make([]Job, 0, len(p.c.jobs))
	for j := range p.c.jobs {
		if !p.c.jobs[j].removed {
			cp.Jobs = append(cp.Jobs, p.c.pr.Jobs[j])
		}
	}
	return &cp
}
