package optimize

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/scheduling"
)

// Result says what a re-optimisation did (or, in a dry run, would do).
type Result struct {
	DryRun     bool   `json:"dry_run"`
	Considered int    `json:"considered"`
	Moved      []Move `json:"moved"`
	Assigned   int    `json:"newly_assigned"`
	// The plan before and after, as the checker (scheduling.Check) recomputes both under the
	// same travel model: SLA breaches (paid weighted twice, an unserved job with a due time
	// counting as breached), the lateness of the planned visits and their travel (seconds).
	// Only the changes written (in a dry run: proposed) are in "after".
	Before, After  Figures `json:"-"`
	BreachesBefore int     `json:"breaches_before"`
	BreachesAfter  int     `json:"breaches_after"`
	LatenessBefore int64   `json:"lateness_before_s"`
	LatenessAfter  int64   `json:"lateness_after_s"`
	TravelBefore   int64   `json:"travel_before_s"`
	TravelAfter    int64   `json:"travel_after_s"`
	// BreachesAvoided and SecondsSaved (travel) are the differences of those checked figures.
	BreachesAvoided int     `json:"breaches_avoided"`
	SecondsSaved    float64 `json:"seconds_saved"`
	// NotWorthMoving counts the told visits the solver would have moved for less than their move
	// cost (Config): they stay where the customer was told.
	NotWorthMoving int    `json:"not_worth_moving"`
	Elapsed        string `json:"elapsed"`
	StoppedEarly   bool   `json:"stopped_early"`
	// Skipped counts the jobs the solver changed that were left as they are because a
	// technician of theirs had a new booking (or any change of plan) while it solved; the next
	// run takes them up. They are not in "after".
	Skipped int `json:"skipped_changed_meanwhile"`
	// NotModelled are the jobs and technicians the solver could not be given as they are stored
	// (a preferred window of less than a second, overlapping shifts, written before such input
	// was refused): each is left as it is, and the rest of the region is optimised.
	NotModelled []NotModelled `json:"not_modelled"`
}

// Move is a job a re-optimisation moves (or would move): from where to where, and its SLA.
type Move struct {
	JobID          int64      `json:"job_id"`
	BookingID      int64      `json:"booking_id"`
	FromTechnician *int64     `json:"from_technician_id"`
	FromStart      *time.Time `json:"from_start"`
	ToTechnician   *int64     `json:"to_technician_id"`
	ToStart        *time.Time `json:"planned_start"`
	// Status is the job's status once written ("proposed" in a dry run).
	Status   string    `json:"status"`
	SLADueAt time.Time `json:"sla_due_at"`
	// LateBefore and LateAfter are how far past the due time the visit starts (seconds).
	LateBefore int64 `json:"late_before_s"`
	LateAfter  int64 `json:"late_after_s"`
}

// NotModelled is a job or a technician a re-optimisation left out, and why.
type NotModelled struct {
	JobID        int64  `json:"job_id,omitempty"`
	TechnicianID int64  `json:"technician_id,omitempty"`
	Reason       string `json:"reason"`
}

// Reoptimize is Run of a region ("" for all) within budget, with the configured freeze.
func (s *Service) Reoptimize(ctx context.Context, a dispatch.Actor, region string, budget time.Duration) (Result, error) {
	return s.Run(ctx, a, Request{Region: region, Budget: budget})
}

// Run improves the plan of a region ("" for all) within the budget with the solver
// (scheduling.Optimize). The movable jobs (not pinned, accepted or started, starting after the
// freeze horizon, or unassigned) of the region are planned again on the technicians geo proposes
// for them (never one who refused the job or from whom a re-optimisation took it); every other
// job stays where it is and cuts its technician's shift (the technician must be at its door at its
// start and leaves from there). The solver's changes fall into groups that share no technician;
// a group is kept when its gain beats the cost of the told visits it moves (Config), under the
// one objective (scheduling.Cost). The kept groups are written, each in one transaction: a job
// moved to another technician has its offer withdrawn and is offered to the new one, a job that
// stays with its technician only changes time (never withdrawn and offered again), technicians
// who lose a job are told. A concurrent change to one of those technicians' plans (a booking, an
// accept, an override) wins: the changes that touch them are left for the next run. A dry run
// answers the same moves and writes nothing.
func (s *Service) Run(ctx context.Context, a dispatch.Actor, req Request) (Result, error) {
	if !a.Staff() && a.Role != dispatch.RoleSystem {
		return Result{}, dispatch.Forbidden("only dispatchers re-optimise")
	}
	if req.Region != "" {
		if _, err := geo.ParseCellAt(req.Region, geo.ResRegion); err != nil {
			return Result{}, dispatch.Invalid("region", "invalid_region", "region must be an H3 cell at resolution %d: %v", geo.ResRegion, err)
		}
	}
	if req.Budget <= 0 || req.Budget > 2*time.Minute {
		req.Budget = 10 * time.Second
	}
	began := time.Now()
	res := Result{DryRun: req.DryRun, Moved: []Move{}, NotModelled: []NotModelled{}}
	if err := s.reoptimize(ctx, a, req, began.Add(req.Budget), &res); err != nil {
		return res, err
	}
	res.BreachesBefore, res.BreachesAfter = int(res.Before.Breaches), int(res.After.Breaches)
	res.LatenessBefore, res.LatenessAfter = res.Before.Lateness, res.After.Lateness
	res.TravelBefore, res.TravelAfter = res.Before.Travel, res.After.Travel
	res.BreachesAvoided = int(res.Before.Breaches - res.After.Breaches)
	res.SecondsSaved = float64(res.Before.Travel - res.After.Travel)
	res.Elapsed = time.Since(began).Round(time.Millisecond).String()
	s.Count().SolverRun("reoptimize", time.Since(began), res.SecondsSaved)
	return res, nil
}

// reoptimize reads the region's plan, solves it until deadline and writes what is worth it, into res.
func (s *Service) reoptimize(ctx context.Context, a dispatch.Actor, req Request, deadline time.Time, res *Result) error {
	background := a.Role == dispatch.RoleSystem
	yield := func() {} // a dispatcher waits for the answer
	if background {
		yield = s.Planner.YieldToBookings // bookings first, in the reads and writes too
	}
	freeze := s.Config.FreezeHorizon
	if req.Freeze != nil {
		freeze = *req.Freeze
	}
	rp, err := s.readPlan(ctx, req.Region, s.Now().Add(freeze), yield)
	if err != nil {
		return err
	}
	res.NotModelled = append(res.NotModelled, rp.notModelled...)
	res.Considered = len(rp.movable)
	if len(rp.movable) == 0 {
		return nil
	}
	octx, cancel := context.WithDeadline(ctx, deadline)
	// The search weighs the same move costs as the groups kept below (worthMoving), so it
	// looks for gains that are worth their moves instead of finding ones that are not.
	// (Zero is the scheduling default there, so a cost configured as none is a second.)
	bud := scheduling.Budget{Time: time.Until(deadline), Iterations: 200 * len(rp.movable), Seed: 1}
	if s.Config.MoveCost > 0 || s.Config.ChangeTechnician > 0 {
		bud.Stability = &scheduling.Stability{MoveCost: max(1, int64(s.Config.MoveCost/time.Second)), ChangeCost: max(1, int64(s.Config.ChangeTechnician/time.Second))}
	}
	if background {
		bud.Searches, bud.Yield = 1, yield
	}
	out, _ := scheduling.Optimize(octx, rp.plan, bud)
	cancel()
	res.StoppedEarly = ctx.Err() != nil
	sel, err := s.worthMoving(rp, out)
	if err != nil {
		return fmt.Errorf("re-optimise: %w", err)
	}
	res.NotWorthMoving = sel.notWorth
	written := sel.groups
	if !req.DryRun && len(sel.groups) > 0 {
		var skipped int
		written, skipped, err = s.applyPlan(ctx, a, rp, sel, yield)
		res.Skipped = skipped
		if err != nil {
			return fmt.Errorf("re-optimise: %w", err)
		}
	}
	if res.Before, res.After, err = sel.figures(rp, written); err != nil {
		return fmt.Errorf("re-optimise: %w", err)
	}
	res.Moved = sel.moves(rp, written, req.DryRun)
	for _, m := range res.Moved {
		if m.FromTechnician == nil {
			res.Assigned++
		}
	}
	return nil
}

var errMovedMeanwhile = errors.New("job changed meanwhile")

// readPlanned is the solver's view of the region's plan.
type readPlanned struct {
	plan    *scheduling.Plan
	movable map[int64]dispatch.Job // by id, as read
	booking map[int64]dispatch.Booking
	techs   map[int64]dispatch.Technician
	// versions are the technicians' plan_version, read before their routes: a route written
	// back must not have moved since.
	versions map[int64]int64
	// notModelled are the jobs and technicians left out of the problem: they stay as they are.
	notModelled []NotModelled
	// written are the statuses of the jobs written, by id.
	written map[int64]dispatch.JobStatus
}

// readPlan builds the scheduling problem: movable jobs with their skills, windows, SLA due
// time, tier, declined technicians and area's candidates; the candidates' shifts (time off cut
// out) split around the jobs that must stay; the current routes of the movable jobs.
func (s *Service) readPlan(ctx context.Context, region string, frozenUntil time.Time, yield func()) (*readPlanned, error) {
	now := s.Now()
	ids, err := s.Store.MovableJobs(ctx, frozenUntil, region)
	if err != nil {
		return nil, err
	}
	rp := &readPlanned{movable: map[int64]dispatch.Job{}, booking: map[int64]dispatch.Booking{}, techs: map[int64]dispatch.Technician{}}
	places := scheduling.NewPlaces(now)
	places.Model = s.Planner.Travel
	var jobs []scheduling.Job
	until := now
	for _, id := range ids {
		yield()
		j, err := s.Store.GetJob(ctx, id)
		if err != nil {
			return nil, err
		}
		b, err := s.Store.GetBooking(ctx, j.BookingID)
		if err != nil {
			return nil, err
		}
		refused, err := s.Store.RefusedTechnicians(ctx, id)
		if err != nil {
			return nil, err
		}
		taken, err := s.Store.ReoptimizedFrom(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, t := range taken { // the technician who has it now keeps it, if the solver says so
			if (j.TechnicianID == nil || t != *j.TechnicianID) && !slices.Contains(refused, t) {
				refused = append(refused, t)
			}
		}
		cands, err := s.Planner.Candidates(ctx, s.Store, b, refused)
		if err != nil {
			return nil, err
		}
		// A job that requires parts goes only to a van that holds them (its own holds what it reserved).
		var wh *planning.Warehouse
		if cands, wh, _, err = planning.WithParts(ctx, s.Store, j, b.Location, cands); err != nil {
			return nil, err
		}
		if wh != nil {
			// Only a warehouse holds them: the online planner places it with its pick-up stop
			// (the re-optimisation's search has no detours); it stays as it is.
			rp.notModelled = append(rp.notModelled, NotModelled{JobID: id, Reason: "its parts are only at a warehouse: planned online with a pick-up stop"})
			continue
		}
		if j.TechnicianID != nil && !containsTech(cands, *j.TechnicianID) {
			t, err := s.Store.GetTechnician(ctx, *j.TechnicianID)
			if err != nil {
				return nil, err
			}
			cands = append(cands, t)
		}
		sj := scheduling.Job{ID: id, Loc: places.Add(planning.Point(b.Location)), Duration: int64(b.Duration / time.Second),
			Skills: b.RequiredSkills, Due: b.SLADueAt.Unix(), Tier: tierOf(b.Tier), Exclude: refused}
		if j.TechnicianID != nil && j.PlannedStart != nil {
			// The customer heard the arrival window of the planned start: the search charges
			// for moving the visit out of it (Budget.Stability) and never comes before it.
			w := dispatch.PromisedWindow(*j.PlannedStart, s.Rules.Zone())
			sj.Told = &scheduling.Window{Start: w.Start.Unix(), End: max(w.Start.Unix(), w.End.Unix()-1)}
		}
		for _, t := range cands {
			sj.Technicians = append(sj.Technicians, t.ID)
			rp.techs[t.ID] = t
		}
		windows := b.PreferredWindows
		if j.NotBefore != nil { // a return visit waits for its part
			windows = planning.NotBefore(windows, *j.NotBefore)
		}
		for _, w := range windows {
			// The visit starts inside the window [Start, End), as the online insertion has it.
			sj.Windows = append(sj.Windows, scheduling.Window{Start: w.Start.Unix(), End: w.End.Unix() - 1})
		}
		if err := sj.Validate(); err != nil {
			// Stored before such input was refused (a window of less than a second): the job
			// stays where it is, reported, and does not fail its region.
			s.Log.Warn("re-optimise: a job cannot be modelled; it stays as it is", "job_id", id, "booking_id", b.ID, "err", err)
			rp.notModelled = append(rp.notModelled, NotModelled{JobID: id, Reason: err.Error()})
			continue
		}
		for _, w := range windows {
			until = planning.Later(until, w.End)
		}
		until = planning.Later(until, b.SLADueAt.Add(s.Planner.Config.Horizon))
		jobs = append(jobs, sj)
		rp.movable[id], rp.booking[id] = j, b
	}
	if len(jobs) == 0 {
		return rp, nil
	}
	until = minTime(until, now.Add(7*24*time.Hour))
	techs := make([]dispatch.Technician, 0, len(rp.techs))
	for _, t := range rp.techs {
		techs = append(techs, t)
	}
	slices.SortFunc(techs, func(a, b dispatch.Technician) int { return int(a.ID - b.ID) })
	techIDs := make([]int64, len(techs))
	for i, t := range techs {
		techIDs[i] = t.ID
	}
	if rp.versions, err = s.Store.PlanVersions(ctx, techIDs, false); err != nil {
		return nil, err
	}
	rd, err := s.Planner.Routes(ctx, s.Store, techs, until)
	if err != nil {
		return nil, err
	}
	// A route that does not hold under the solver's travel times (planned on others, or by hand)
	// stays as it is: its jobs are no longer movable but cut their technician's shift like any
	// fixed visit. Left free, the solver would count their slots free while the database still
	// holds them there. So too the route of a technician the solver cannot be given (shifts that
	// overlap, stored before they were refused): the technician is left out, reported.
	for {
		plan, stuck, unfit, err := s.buildPlan(places, now, jobs, techs, rd, rp)
		if err != nil {
			return nil, err
		}
		for _, u := range unfit {
			s.Log.Warn("re-optimise: a technician cannot be modelled; their route stays as it is", "technician_id", u.TechnicianID, "err", u.Reason)
			rp.notModelled = append(rp.notModelled, u)
			techs = slices.DeleteFunc(techs, func(t dispatch.Technician) bool { return t.ID == u.TechnicianID })
		}
		if len(stuck) == 0 && len(unfit) == 0 {
			rp.plan = plan
			return rp, nil
		}
		for _, id := range stuck {
			delete(rp.movable, id)
			delete(rp.booking, id)
		}
		jobs = slices.DeleteFunc(jobs, func(j scheduling.Job) bool { return slices.Contains(stuck, j.ID) })
	}
}

// buildPlan is the scheduling problem of readPlan with the current routes assigned, the jobs of
// the routes that do not hold under the solver's travel times (or of a technician left out), and
// the technicians it left out because the solver cannot take them as they are.
func (s *Service) buildPlan(places *scheduling.Places, now time.Time, jobs []scheduling.Job, techs []dispatch.Technician, rd *planning.Routes, rp *readPlanned) (*scheduling.Plan, []int64, []NotModelled, error) {
	pr := &scheduling.Problem{Travel: places.Timed(), Now: now.Unix(), Jobs: jobs}
	var (
		routes []scheduling.Assignment
		stuck  []int64
		unfit  []NotModelled
	)
	for _, t := range techs {
		home := places.Add(planning.Point(t.Home))
		st := scheduling.Technician{ID: t.ID, Skills: t.Skills, Start: home, End: home}
		here := places.Add(planning.Point(s.Planner.PositionAt(t, now, rd.Stops(t.ID))))
		var fixed, mine []planning.Stop
		var own []scheduling.Assignment
		for _, sp := range rd.Stops(t.ID) {
			if _, ok := rp.movable[sp.JobID]; ok {
				mine = append(mine, sp)
			} else {
				fixed = append(fixed, sp)
			}
		}
		for _, w := range rd.Shifts(t.ID) {
			for _, part := range cutShift(w, fixed, now) {
				sh := scheduling.Shift{Window: scheduling.Window{Start: part.w.Start.Unix(), End: part.w.End.Unix()}}
				switch {
				case part.from != nil:
					l := places.Add(planning.Point(*part.from))
					sh.From = &l
				case !w.Start.After(now):
					sh.From = &here // under way: from where the technician is
				}
				if part.to != nil {
					l := places.Add(planning.Point(*part.to))
					sh.To = &l
				}
				a := scheduling.Assignment{Technician: t.ID, Shift: len(st.Shifts)}
				for _, sp := range mine {
					if !sp.Start.Before(part.w.Start) && !sp.End.After(part.w.End) {
						a.Jobs = append(a.Jobs, sp.JobID)
					}
				}
				st.Shifts = append(st.Shifts, sh)
				if len(a.Jobs) > 0 {
					own = append(own, a)
				}
			}
		}
		if err := st.Validate(); err != nil {
			unfit = append(unfit, NotModelled{TechnicianID: t.ID, Reason: err.Error()})
			for _, sp := range mine {
				stuck = append(stuck, sp.JobID)
			}
			continue
		}
		routes = append(routes, own...)
		pr.Technicians = append(pr.Technicians, st)
	}
	plan, err := scheduling.NewPlan(pr, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, a := range routes {
		if err := plan.Assign(a); err != nil {
			s.Log.Debug("re-optimise: a route does not hold under the solver's travel times; it stays", "technician_id", a.Technician, "err", err)
			stuck = append(stuck, a.Jobs...)
		}
	}
	return plan, stuck, unfit, nil
}

// shiftPart is a piece of a shift between visits that stay: from the door of one to the next's.
type shiftPart struct {
	w        dispatch.Window
	from, to *dispatch.Location
}

// cutShift splits shift w around the fixed stops, dropping what lies before now.
func cutShift(w dispatch.Window, fixed []planning.Stop, now time.Time) []shiftPart {
	cur := shiftPart{w: dispatch.Window{Start: planning.Later(w.Start, now), End: w.End}}
	var out []shiftPart
	for _, sp := range fixed {
		if !sp.End.After(cur.w.Start) || !sp.Start.Before(cur.w.End) {
			continue
		}
		if sp.Start.After(cur.w.Start) {
			loc := sp.Location
			out = append(out, shiftPart{w: dispatch.Window{Start: cur.w.Start, End: sp.Start}, from: cur.from, to: &loc})
		}
		loc := sp.Location
		cur = shiftPart{w: dispatch.Window{Start: sp.End, End: cur.w.End}, from: &loc}
	}
	if cur.w.End.After(cur.w.Start) {
		out = append(out, cur)
	}
	return out
}

func tierOf(t dispatch.Tier) scheduling.Tier {
	if t == dispatch.TierPaid {
		return scheduling.Paid
	}
	return scheduling.Warranty
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func containsTech(ts []dispatch.Technician, id int64) bool {
	return slices.ContainsFunc(ts, func(t dispatch.Technician) bool { return t.ID == id })
}
