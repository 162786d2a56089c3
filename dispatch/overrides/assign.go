package overrides

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Warning is something a dispatcher should know about an override that was still carried out.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// AssignRequest is a dispatcher's override.
type AssignRequest struct {
	TechnicianID int64
	PlannedStart *time.Time // nil: the best time in the technician's route
	Pin          *bool      // default true: the solver must not move a hand-made assignment
	Reason       string
	Force        bool // kept for older clients: a skill mismatch is a warning, never refused
	// DryRun checks the assignment and says what it would warn of (or the conflict that refuses
	// it) without making it: the console asks before a dispatcher confirms a drag.
	DryRun bool
}

// AssignJob gives the job to a technician by hand, pinned by default. A time clash with the
// technician's other jobs is a conflict naming the job it clashes with; a skill mismatch, the SLA,
// the customer's windows, the area, the shift and time off come back as warnings (SPEC: "409 on a
// clash, warnings for skill or SLA risk"): the dispatcher knows better, and is told.
func (s *Service) AssignJob(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, r AssignRequest) (dispatch.Job, []Warning, error) {
	if err := staffOnly(a); err != nil {
		return dispatch.Job{}, nil, err
	}
	if utf8.RuneCountInString(r.Reason) > 1000 {
		return dispatch.Job{}, nil, dispatch.Invalid("reason", "too_long", "reason is longer than 1000 characters")
	}
	var (
		out      dispatch.Job
		warnings []Warning
	)
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		warnings = nil
		j, err := st.LockJob(ctx, id)
		if err != nil {
			return err
		}
		if err := dispatch.CheckVersion("job", id, j.Version, ifVersion); err != nil {
			return err
		}
		if j.Started() || !j.Live() {
			return dispatch.Conflict("job_not_assignable", "job %d is %s and can no longer be re-assigned", id, j.Status)
		}
		t, err := st.GetTechnician(ctx, r.TechnicianID)
		if errors.Is(err, dispatch.ErrNotFound) {
			return dispatch.Unprocessable("unknown_technician", "technician %d does not exist", r.TechnicianID)
		} else if err != nil {
			return err
		}
		if !t.Active {
			return dispatch.Unprocessable("technician_inactive", "technician %d is not active", t.ID)
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return err
		}
		if !t.HasSkills(b.RequiredSkills) {
			var lacks []string
			for _, sk := range b.RequiredSkills {
				if !slices.Contains(t.Skills, sk) {
					lacks = append(lacks, sk)
				}
			}
			warnings = append(warnings, Warning{"skill_mismatch", fmt.Sprintf("%s lacks %s, which this job needs", t.Name, strings.Join(lacks, ", "))})
		}
		now := s.Now()
		start := r.PlannedStart
		if start == nil {
			p, reason, err := s.Planner.PlanFor(ctx, st, b, j, t)
			if err != nil {
				return err
			}
			if p == nil {
				return s.noRoomFor(ctx, st, t, b, reason)
			}
			start = &p.Start
			if off, err := st.TimeOff(ctx, t.ID, now, p.Start); err == nil && len(off) > 0 {
				warnings = append(warnings, Warning{"technician_unavailable", fmt.Sprintf("%s is unavailable from %s until %s: the job is planned after, at %s",
					t.Name, off[0].Start.Format(time.RFC3339), off[len(off)-1].End.Format(time.RFC3339), p.Start.Format(time.RFC3339))})
			}
		} else if start.Before(now.Add(-time.Minute)) {
			return dispatch.Invalid("planned_start", "start_in_past", "planned_start %s is in the past", start.Format(time.RFC3339))
		}
		end := start.Add(b.Duration)
		if err := clashWith(ctx, st, t, j.ID, *start, end); err != nil {
			return err
		}
		warnings = append(warnings, s.assignmentWarnings(ctx, st, b, t, *start)...)
		if r.PlannedStart != nil {
			fits, err := s.Planner.Fits(ctx, st, b, j, t, *start)
			if err != nil {
				return err
			}
			if !fits {
				warnings = append(warnings, Warning{"route_does_not_fit", fmt.Sprintf("under the travel model %s cannot be at this visit at %s between their other visits and be home by the shift's end",
					t.Name, start.Format(time.RFC3339))})
			}
		}
		if r.DryRun {
			out = j
			out.TechnicianID, out.TechnicianName, out.PlannedStart, out.PlannedEnd = &t.ID, t.Name, start, &end
			return errDryRun // rolled back: a pick the planner reserved is released
		}

		prevTech, before := j.TechnicianID, j
		if err := s.Offers.Withdraw(ctx, st, j, "re-assigned by a dispatcher"); err != nil {
			return err
		}
		if prevTech != nil && *prevTech != t.ID {
			if err := s.Env.TellTechnician(ctx, st, prevTech, j, "cancellation", "Job removed", fmt.Sprintf("A dispatcher moved %s to a colleague.", j.Reference())); err != nil {
				return err
			}
		}
		from := j.Status
		pin := r.Pin == nil || *r.Pin
		j.TechnicianID, j.PlannedStart, j.PlannedEnd = &t.ID, start, &end
		j.Pinned, j.PinnedStart = pin, pin && r.PlannedStart != nil
		j.Status, j.OfferExpiresAt, j.AcceptedAt, j.UpdatedAt = dispatch.JobUnassigned, nil, nil, now
		saved, err := st.UpdateJob(ctx, j)
		if err != nil {
			return err
		}
		j.Version = saved.Version
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: id,
			Action: "assigned", FromStatus: string(from), ToStatus: string(dispatch.JobUnassigned), Reason: r.Reason,
			Data: map[string]any{"technician_id": t.ID, "previous_technician_id": prevTech, "planned_start": start, "pinned": pin,
				"forced": r.Force, "warnings": warnings, "booking_id": b.ID}}); err != nil {
			return err
		}
		if start.Before(now.Add(s.Offers.Config.OfferHorizon)) {
			if err := s.Offers.Offer(ctx, st, a, b, &j, nil); err != nil {
				return err
			}
		}
		if err := st.SetBookingStatus(ctx, b.ID, dispatch.BookingScheduled, s.Now()); err != nil {
			return err
		}
		if out, err = st.GetJob(ctx, id); err != nil {
			return err
		}
		return s.Env.TellMoved(ctx, st, b, before, out)
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if warnings == nil {
		warnings = []Warning{}
	}
	return out, warnings, err
}

// errDryRun ends a dry run's transaction without writing.
var errDryRun = errors.New("dry run")

// assignmentWarnings are the risks of putting booking b with t at start.
func (s *Service) assignmentWarnings(ctx context.Context, st Store, b dispatch.Booking, t dispatch.Technician, start time.Time) []Warning {
	var ws []Warning
	if start.After(b.SLADueAt) {
		ws = append(ws, Warning{"sla_will_be_missed", fmt.Sprintf("planned start %s is after the SLA due time %s",
			start.Format(time.RFC3339), b.SLADueAt.Format(time.RFC3339))})
	}
	if len(b.PreferredWindows) > 0 && !slices.ContainsFunc(b.PreferredWindows, func(w dispatch.Window) bool {
		return !start.Before(w.Start) && start.Before(w.End)
	}) {
		ws = append(ws, Warning{"outside_customer_window", fmt.Sprintf("planned start %s is outside the windows the customer chose (%s)",
			start.Format(time.RFC3339), windowsText(b.PreferredWindows))})
	}
	if !planning.Covers(t, b.Location) {
		ws = append(ws, Warning{"outside_service_area", fmt.Sprintf("the address is outside %s's service area", t.Name)})
	}
	if !planning.OnShift(t, start, b.Duration) {
		ws = append(ws, Warning{"outside_shift", fmt.Sprintf("%s is not on shift for the whole visit", t.Name)})
	}
	if off, err := st.TimeOff(ctx, t.ID, start, start.Add(b.Duration)); err == nil && len(off) > 0 {
		ws = append(ws, Warning{"technician_unavailable", fmt.Sprintf("%s is marked unavailable then", t.Name)})
	}
	return ws
}

// windowsText lists windows for a person: "2026-11-21T15:00:00Z–17:00, …".
func windowsText(ws []dispatch.Window) string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Start.Format(time.RFC3339) + "–" + w.End.Format("15:04")
	}
	return strings.Join(out, ", ")
}

// clashWith refuses a visit of t in [start, end) that overlaps another of t's live jobs, naming it:
// the schema refuses the double booking too, but could not say with what.
func clashWith(ctx context.Context, st Store, t dispatch.Technician, jobID int64, start, end time.Time) error {
	jobs, err := st.TechnicianJobs(ctx, t.ID, start, end)
	if err != nil {
		return err
	}
	for _, o := range jobs {
		if o.ID == jobID || o.PlannedStart == nil || o.PlannedEnd == nil || !o.PlannedStart.Before(end) || !o.PlannedEnd.After(start) {
			continue
		}
		e := dispatch.Conflict("technician_double_booked", "%s already has %s (job %d) from %s to %s, which %s–%s overlaps",
			t.Name, o.Reference(), o.ID, o.PlannedStart.Format(time.RFC3339), o.PlannedEnd.Format(time.RFC3339), start.Format(time.RFC3339), end.Format("15:04"))
		e.(*dispatch.Error).Extra = map[string]any{"clashing_job_id": o.ID, "clashing_reference": o.Reference(),
			"clashing_start": o.PlannedStart, "clashing_end": o.PlannedEnd}
		return e
	}
	return nil
}

// noRoomFor is the refusal of an assignment without a time that t's route cannot fit, said of t
// (the planner's reason speaks of every candidate).
func (s *Service) noRoomFor(ctx context.Context, st Store, t dispatch.Technician, b dispatch.Booking, reason planning.Reason) error {
	var why string
	switch reason.Code {
	case "no_shift":
		why = fmt.Sprintf("%s has no shift in the planning horizon", t.Name)
	case "no_room_in_windows":
		why = fmt.Sprintf("%s has no room for a %d-minute visit inside the customer's windows (%s)", t.Name, int(b.Duration/time.Minute), windowsText(b.PreferredWindows))
	default:
		now := s.Now()
		n := 0
		if jobs, err := st.TechnicianJobs(ctx, t.ID, now, b.SLADueAt.Add(48*time.Hour)); err == nil {
			n = len(jobs)
		}
		why = fmt.Sprintf("%s's shifts, time off and %d planned jobs leave no gap for a %d-minute visit", t.Name, n, int(b.Duration/time.Minute))
	}
	e := dispatch.Conflict("no_room", "%s; give planned_start to place it by hand", why)
	e.(*dispatch.Error).Extra = map[string]any{"technician_id": t.ID, "reason_code": reason.Code}
	return e
}

// UnassignJob takes the job off its technician; it waits on the board for a dispatcher or the next optimisation.
func (s *Service) UnassignJob(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, reason string) (dispatch.Job, error) {
	if err := staffOnly(a); err != nil {
		return dispatch.Job{}, err
	}
	var out dispatch.Job
	err := s.Store.Tx(ctx, func(st Store) error {
		j, err := st.LockJob(ctx, id)
		if err != nil {
			return err
		}
		if err := dispatch.CheckVersion("job", id, j.Version, ifVersion); err != nil {
			return err
		}
		if j.Started() || !j.Live() {
			return dispatch.Conflict("job_not_assignable", "job %d is %s and can no longer be unassigned", id, j.Status)
		}
		if j.TechnicianID == nil {
			return dispatch.Conflict("not_assigned", "job %d has no technician", id)
		}
		if err := s.Offers.Withdraw(ctx, st, j, "unassigned by a dispatcher"); err != nil {
			return err
		}
		if err := s.Env.TellTechnician(ctx, st, j.TechnicianID, j, "cancellation", "Job removed", fmt.Sprintf("A dispatcher took job %d off your agenda.", j.ID)); err != nil {
			return err
		}
		prev, from, now, before := j.TechnicianID, j.Status, s.Now(), j
		j.Status, j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.OfferExpiresAt, j.AcceptedAt = dispatch.JobUnassigned, nil, nil, nil, nil, nil
		j.Pinned, j.PinnedStart, j.UpdatedAt = false, false, now
		if _, err := st.UpdateJob(ctx, j); err != nil {
			return err
		}
		if err := st.SetBookingStatus(ctx, j.BookingID, dispatch.BookingOpen, s.Now()); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: id,
			Action: "unassigned", FromStatus: string(from), ToStatus: string(dispatch.JobUnassigned), Reason: reason,
			Data: map[string]any{"previous_technician_id": *prev, "booking_id": j.BookingID}}); err != nil {
			return err
		}
		if out, err = st.GetJob(ctx, id); err != nil {
			return err
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return err
		}
		return s.Env.TellMoved(ctx, st, b, before, out)
	})
	return out, err
}

// SetPinned pins or unpins a job: the solver never moves a pinned job.
func (s *Service) SetPinned(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, pinned bool) (dispatch.Job, error) {
	if err := staffOnly(a); err != nil {
		return dispatch.Job{}, err
	}
	var out dispatch.Job
	err := s.Store.Tx(ctx, func(st Store) error {
		j, err := st.LockJob(ctx, id)
		if err != nil {
			return err
		}
		if err := dispatch.CheckVersion("job", id, j.Version, ifVersion); err != nil {
			return err
		}
		if !j.Live() {
			return dispatch.Conflict("job_closed", "job %d is %s", id, j.Status)
		}
		if pinned && j.TechnicianID == nil {
			return dispatch.Conflict("not_assigned", "job %d has no technician to pin it to", id)
		}
		now := s.Now()
		j.Pinned, j.UpdatedAt = pinned, now
		if !pinned {
			j.PinnedStart = false
		}
		if out, err = st.UpdateJob(ctx, j); err != nil {
			return err
		}
		action := "unpinned"
		if pinned {
			action = "pinned"
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: id,
			Action: action, FromStatus: string(j.Status), ToStatus: string(j.Status), Data: map[string]any{"booking_id": j.BookingID}})
	})
	if err != nil {
		return dispatch.Job{}, err
	}
	return s.Store.GetJob(ctx, out.ID)
}
