// Package scheduling plans field-service visits: which technician does each job, in which shift,
// in which order and when. A Problem (technicians with skills, shifts, breaks and capacities;
// jobs with skills, customer windows, SLA deadlines and pins) becomes a Plan; Insert places one
// new job online, Optimize improves a plan within a budget (ruin and recreate with adaptive
// operator choice, then local search), and Check recomputes any plan from scratch.
//
// Pure Go: no database, no HTTP and no clock of its own. Times are integer seconds on an epoch
// the caller chooses (FieldFix uses Unix seconds); travel comes from a Travel the caller gives
// (geo's model or a routing engine's matrix).
//
// The objective, compared lexicographically (see Cost): hard constraints are never broken (a job
// that fits nowhere stays unassigned, with a reason) → fewest SLA breaches, paid weighted twice
// warranty → least total lateness → fewest unassigned jobs (higher priority first) → least
// travel plus disruption (accepted jobs given away, told visits moved under Stability) → least
// waiting between visits (routes leave as late as their visits allow) → balanced work.
//
// Travel is a Matrix as given, or timed by the hour of each departure (TimedTravel,
// Places.Timed) in the search and in Check alike. Job.Told is the window a customer was told:
// InsertWith(KeepTold) never moves a told visit out of it, Optimize with Budget.Stability
// freezes what starts soon and charges for moving told visits.
package scheduling

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Tier is the SLA tier of a job.
type Tier uint8

// Tiers: a paid repair's breach weighs twice a warranty repair's.
const (
	Warranty Tier = iota
	Paid
)

func (t Tier) weight() int64 {
	if t == Paid {
		return 2
	}
	return 1
}

// Window is a closed interval of start times, in seconds: a visit may start at any s with
// Start ≤ s ≤ End.
type Window struct{ Start, End int64 }

// Break is a rest of Duration seconds whose start must fall in the window, taken between visits
// as late as the visits allow: before the first visit that would end after the window closes
// (on arrival there, waiting for the window to open if need be, or before leaving when the window
// would close on the road), else after the shift's last visit.
type Break struct {
	Window
	Duration int64
}

// Shift is a working period: the technician leaves Start location no earlier than Start and is
// back at End location by End. A technician with work in a shift takes its breaks.
type Shift struct {
	Window
	Breaks []Break
	// From and To, when set, are where this shift starts and ends instead of the technician's
	// Start and End: a shift cut short by a visit the planner must not move ends at its door.
	From, To *int
}

// start and end are where shift sh of technician t begins and ends: its own From and To when
// set, else the technician's Start and End.
func (sh *Shift) start(t *Technician) int {
	if sh.From != nil {
		return *sh.From
	}
	return t.Start
}

func (sh *Shift) end(t *Technician) int {
	if sh.To != nil {
		return *sh.To
	}
	return t.End
}

// Technician is a resource. MaxJobs and Capacity (van load, matched against Job.Load) apply to
// each shift; zero means no limit.
type Technician struct {
	ID         int64
	Skills     []string
	Shifts     []Shift
	Start, End int // locations: indices the Travel knows
	MaxJobs    int
	Capacity   int
}

// Job is a visit to plan.
type Job struct {
	ID       int64
	Loc      int   // location index the Travel knows
	Duration int64 // seconds on site
	Skills   []string
	// Windows are the customer's acceptable start times; none means any time in a shift.
	Windows []Window
	Due     int64 // SLA: on site by this time (0: no deadline)
	Tier    Tier
	// Priority (0–100) ranks jobs that cannot all be served: higher stays assigned first.
	Priority int
	Load     int
	// PinnedTech and PinnedStart fix the technician and/or the start (0: not pinned). Optimize
	// never moves a pinned job.
	PinnedTech  int64
	PinnedStart int64
	// Started jobs are under way: their technician (PinnedTech) and start (PinnedStart) are facts.
	Started bool
	// AcceptedBy is the technician who accepted the job (0: none); giving it to another costs
	// Problem.Disruption.
	AcceptedBy int64
	// Exclude are technicians who must not get the job (they declined it).
	Exclude []int64
	// Technicians, when set, are the only ones who may get the job (those whose area holds it).
	Technicians []int64
	// Told is the arrival window the customer was told (nil: none yet): the visit never starts
	// before it; Insert in KeepTold mode keeps it inside, and Optimize with Stability charges
	// its MoveCost to start after it or with another technician.
	Told *Window
}

// Travel gives driving times in seconds between locations.
type Travel interface {
	Seconds(from, to int) int64
}

// TimedTravel is a Travel whose times depend on the hour of departure (rush hours): SecondsAt
// is the drive leaving at depart, and leaving later never arrives earlier (FIFO). The search and
// Check time each leg from when it leaves: the end of the previous visit (the shift's start for
// the first). Seconds stays the untimed figure, used only to rank neighbours.
type TimedTravel interface {
	Travel
	SecondsAt(from, to int, depart int64) int64
}

// leg is the drive from a to b leaving at depart.
func leg(tr Travel, timed TimedTravel, a, b int, depart int64) int64 {
	if timed != nil {
		return timed.SecondsAt(a, b, depart)
	}
	return tr.Seconds(a, b)
}

// Matrix is a Travel from a full duration table.
type Matrix [][]int64

// Seconds implements Travel.
func (m Matrix) Seconds(from, to int) int64 { return m[from][to] }

// DefaultDisruption is what moving an accepted job to another technician costs (in seconds of
// travel) when the Problem does not say.
const DefaultDisruption = 1800

// Problem is what a plan is made for.
type Problem struct {
	Technicians []Technician
	Jobs        []Job
	Travel      Travel
	// Now: no visit starts before it (started jobs excepted).
	Now int64
	// Disruption is the cost, in seconds of travel, of giving an accepted job to someone else.
	Disruption int64
	// DepartLate reports each route leaving as late as its visits allow (shift-start slack):
	// visits start at the latest times that keep the route's end, deadlines and told windows,
	// and waiting counts only what no later departure avoids. Off, visits start as early as
	// they can (what the dispatch side's bookings and offers assume).
	DepartLate bool
}

// Reason says, in a dispatcher's words, why a job is unassigned.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Reasons for unassigned jobs.
var (
	ReasonNoSkill       = Reason{"no_skill", "no technician has the skills the job needs"}
	ReasonOutsideAreas  = Reason{"outside_areas", "the address is outside every technician's area"}
	ReasonPinned        = Reason{"pinned_unavailable", "the pinned technician or start time cannot take the job"}
	ReasonNoShift       = Reason{"no_shift", "no technician with the skills has a shift at an acceptable time"}
	ReasonCapacity      = Reason{"capacity", "every suitable shift is at its job or load capacity"}
	ReasonNoRoomWindows = Reason{"no_room_in_windows", "no technician has room inside the customer's windows"}
	ReasonNoRoom        = Reason{"no_room", "every suitable technician is fully booked"}
)

// ErrInvalid marks a problem that cannot be planned as given.
var ErrInvalid = errors.New("invalid problem")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// validate checks the travel and the technicians (not feasibility); compile checks each job as
// it adds it (Job.Validate, duplicates, pins).
func (p *Problem) validate() error {
	if p.Travel == nil {
		return invalid("no travel")
	}
	techs := map[int64]bool{}
	for _, t := range p.Technicians {
		if techs[t.ID] {
			return invalid("technician %d twice", t.ID)
		}
		techs[t.ID] = true
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a technician on its own: shifts in order, none overlapping, breaks well
// formed. A caller with many technicians can leave out the one it cannot give the planner.
func (t Technician) Validate() error {
	for i, s := range t.Shifts {
		if s.End < s.Start {
			return invalid("technician %d: shift %d ends before it starts", t.ID, i)
		}
		if i > 0 && s.Start < t.Shifts[i-1].End {
			return invalid("technician %d: shifts overlap or are out of order", t.ID)
		}
		for _, b := range s.Breaks {
			if b.End < b.Start || b.Duration < 0 {
				return invalid("technician %d: bad break", t.ID)
			}
		}
	}
	return nil
}

// Validate checks a job on its own (addJob checks its id and its pin against the others): a
// caller with many jobs can leave out the one it cannot give the planner.
func (j Job) Validate() error {
	if j.Duration < 0 || j.Load < 0 {
		return invalid("job %d: negative duration or load", j.ID)
	}
	for _, w := range j.Windows {
		if w.End < w.Start {
			return invalid("job %d: window ends before it starts", j.ID)
		}
	}
	if j.Started && (j.PinnedTech == 0 || j.PinnedStart == 0) {
		return invalid("job %d: a started job needs its technician and start", j.ID)
	}
	return nil
}

// windowsOf is where job j may start: its pin, or its windows sorted (nil: anywhere).
func windowsOf(j Job) []Window {
	if j.PinnedStart != 0 {
		return []Window{{j.PinnedStart, j.PinnedStart}}
	}
	ws := slices.Clone(j.Windows)
	slices.SortFunc(ws, func(a, b Window) int { return cmp.Compare(a.Start, b.Start) })
	return ws
}

// earliest is the first start ≥ t inside one of ws (sorted), or false.
func earliest(ws []Window, t int64) (int64, bool) {
	if len(ws) == 0 {
		return t, true
	}
	for _, w := range ws {
		if w.End >= t {
			return max(t, w.Start), true
		}
	}
	return 0, false
}
