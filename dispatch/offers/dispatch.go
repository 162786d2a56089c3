package offers

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Dispatch plans job j of booking b anew (without the excluded technicians): it gets a
// technician and a start, and an offer when the start is inside the offer horizon. With no
// feasible placement the job stays unassigned and the reason is audited.
func (s *Service) Dispatch(ctx context.Context, st Writer, a dispatch.Actor, b dispatch.Booking, j *dispatch.Job, exclude []int64) error {
	now := s.Now()
	p, reason, err := s.Planner.Plan(ctx, st, b, *j, exclude, false)
	if err != nil {
		return err
	}
	from := j.Status
	if p == nil {
		j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.OfferExpiresAt, j.TechnicianName = nil, nil, nil, nil, ""
		j.Status, j.UpdatedAt = dispatch.JobUnassigned, now
		if err := planning.WritePlaced(ctx, st, j, nil, func() error {
			saved, err := st.UpdateJob(ctx, *j)
			j.Version = saved.Version
			return err
		}); err != nil {
			return err
		}
		return st.AddAudit(ctx, PlanAudit(a, now, b.ID, j.ID, from, nil, reason))
	}
	j.TechnicianID, j.PlannedStart, j.PlannedEnd = &p.TechnicianID, &p.Start, &p.End
	j.UpdatedAt, j.TechnicianName = now, p.Technician.Name
	j.Status = dispatch.JobUnassigned
	if err := st.AddAudit(ctx, PlanAudit(a, now, b.ID, j.ID, from, p, reason)); err != nil {
		return err
	}
	return planning.WritePlaced(ctx, st, j, p, func() error {
		if p.Start.Before(now.Add(s.Config.OfferHorizon)) {
			return s.Offer(ctx, st, a, b, j, &p.Technician) // writes the job too
		}
		saved, err := st.UpdateJob(ctx, *j)
		j.Version = saved.Version
		return err
	})
}

// PlanAudit is the audit event of planning job jobID of booking bookingID: "planned" with the
// technician and start, or, with no placement (p nil), "unassigned" with the reason.
func PlanAudit(a dispatch.Actor, now time.Time, bookingID, jobID int64, from dispatch.JobStatus, p *planning.Placement, reason planning.Reason) dispatch.AuditEvent {
	e := dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: jobID,
		FromStatus: string(from), ToStatus: string(dispatch.JobUnassigned)}
	if p == nil {
		e.Action, e.Reason = "unassigned", reason.Message
		e.Data = map[string]any{"reason_code": reason.Code, "booking_id": bookingID}
		return e
	}
	e.Action, e.ToStatus = "planned", string(dispatch.JobPlanned)
	e.Data = map[string]any{"technician_id": p.TechnicianID, "planned_start": p.Start, "booking_id": bookingID}
	if p.Pickup != nil {
		e.Data["pickup"] = map[string]any{"location_id": p.Pickup.ID, "warehouse": p.Pickup.Name, "start": p.Pickup.Start, "end": p.Pickup.End}
	}
	return e
}

// Redispatch returns the job to unassigned and plans it again without anyone who declined,
// let it expire, or is marked unavailable.
func (s *Service) Redispatch(ctx context.Context, st Writer, a dispatch.Actor, j dispatch.Job) (dispatch.Job, error) {
	b, err := st.GetBooking(ctx, j.BookingID)
	if err != nil {
		return dispatch.Job{}, err
	}
	exclude, err := st.RefusedTechnicians(ctx, j.ID)
	if err != nil {
		return dispatch.Job{}, err
	}
	before := j
	if err := s.unassign(ctx, st, &j); err != nil {
		return dispatch.Job{}, err
	}
	if err := s.Dispatch(ctx, st, a, b, &j, exclude); err != nil {
		return dispatch.Job{}, err
	}
	if j.TechnicianID != nil && j.Status == dispatch.JobUnassigned {
		// planned beyond the horizon: scheduled, offered later
		if err := st.SetBookingStatus(ctx, b.ID, dispatch.BookingScheduled, s.Now()); err != nil {
			return dispatch.Job{}, err
		}
	}
	if err := s.Env.TellMoved(ctx, st, b, before, j); err != nil {
		return dispatch.Job{}, err
	}
	return st.GetJob(ctx, j.ID)
}

// unassign takes job j off its technician and route, unpinned, and opens its booking again.
func (s *Service) unassign(ctx context.Context, st Writer, j *dispatch.Job) error {
	j.Status, j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.OfferExpiresAt = dispatch.JobUnassigned, nil, nil, nil, nil
	j.Pinned, j.PinnedStart = false, false
	j.UpdatedAt = s.Now()
	saved, err := st.UpdateJob(ctx, *j)
	if err != nil {
		return err
	}
	j.Version = saved.Version
	return st.SetBookingStatus(ctx, j.BookingID, dispatch.BookingOpen, s.Now())
}

// Moved is a job a re-dispatch touched.
type Moved struct {
	JobID           int64      `json:"job_id"`
	BookingID       int64      `json:"booking_id"`
	FromTechnician  *int64     `json:"from_technician_id"`
	ToTechnician    *int64     `json:"to_technician_id"`
	Status          string     `json:"status"`
	PlannedStartNew *time.Time `json:"planned_start"`
}
