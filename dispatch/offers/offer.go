package offers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Offer proposes planned job j to its technician (tech, or read when nil) and pushes it.
func (s *Service) Offer(ctx context.Context, st Writer, a dispatch.Actor, b dispatch.Booking, j *dispatch.Job, tech *dispatch.Technician) error {
	now := s.Now()
	if !dispatch.CanMove(j.Status, dispatch.JobOffered) {
		return dispatch.InvalidMove(*j, dispatch.JobOffered)
	}
	exp := now.Add(s.Config.OfferTTL)
	from := j.Status
	j.Status, j.OfferExpiresAt, j.UpdatedAt = dispatch.JobOffered, &exp, now
	saved, err := st.UpdateJob(ctx, *j)
	if err != nil {
		return err
	}
	j.Version = saved.Version
	return s.announceOffer(ctx, st, a, b, *j, from, tech)
}

// announceOffer records the open offer of job j (already written as offered, with its expiry),
// audits it and tells the technician.
func (s *Service) announceOffer(ctx context.Context, st Writer, a dispatch.Actor, b dispatch.Booking, j dispatch.Job, from dispatch.JobStatus, tech *dispatch.Technician) error {
	now, exp := s.Now(), *j.OfferExpiresAt
	if _, err := st.CreateOffer(ctx, dispatch.Offer{JobID: j.ID, TechnicianID: *j.TechnicianID, Status: "open", CreatedAt: now, ExpiresAt: exp}); err != nil {
		return err
	}
	st.AfterTx(func(committed bool) {
		if committed {
			s.Sent(exp)
		}
	})
	if err := st.AddAudit(ctx, offerAudit(a, now, b.ID, j, from)); err != nil {
		return err
	}
	if tech == nil {
		t, err := st.GetTechnician(ctx, *j.TechnicianID)
		if err != nil {
			return err
		}
		tech = &t
	}
	n := offerNotification(*tech, b, j)
	if n == nil {
		return nil
	}
	n.Data["deep_link"] = dispatch.JobLink(j.ID)
	return s.Env.Notify(ctx, st, *n)
}

// Sent counts an offer that committed and, when it lapses (at exp) before this replica's
// lifecycle loop would run anyway, wakes the loop to time its expiry. Offers share one time to
// live, so under load a new offer lapses after those the loop already waits for and it sleeps on.
func (s *Service) Sent(exp time.Time) {
	s.Count().Offer("sent")
	if due := s.lifecycleDue.Load(); due != 0 && exp.UnixNano() >= due {
		return
	}
	select {
	case s.offered <- struct{}{}:
	default:
	}
}

// offerAudit is the audit event of offering job j (of booking bookingID) to its technician.
func offerAudit(a dispatch.Actor, now time.Time, bookingID int64, j dispatch.Job, from dispatch.JobStatus) dispatch.AuditEvent {
	return dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: j.ID,
		Action: "offered", FromStatus: string(from), ToStatus: string(dispatch.JobOffered),
		Data: map[string]any{"technician_id": *j.TechnicianID, "expires_at": *j.OfferExpiresAt, "booking_id": bookingID}}
}

// offerNotification tells technician t of the offer of job j, without the deep link to the job
// (it needs the job's id); nil when t has no login, so no app to push to.
func offerNotification(t dispatch.Technician, b dispatch.Booking, j dispatch.Job) *dispatch.Notification {
	if t.Subject == nil {
		return nil
	}
	exp, loc := *j.OfferExpiresAt, t.Zone() // told in the technician's zone
	return &dispatch.Notification{RecipientKind: "technician", RecipientSubject: *t.Subject, Kind: "offer",
		JobID: new(j.ID), BookingID: new(b.ID), Title: "New job: " + b.Appliance + " " + string(b.ServiceType),
		Body: fmt.Sprintf("%s at %s, %s. Accept by %s.", b.Problem, j.PlannedStart.In(loc).Format("Mon 15:04"), b.Address, exp.In(loc).Format("15:04")),
		Data: map[string]any{"offer_expires_at": exp.Format(time.RFC3339)}}
}

// Withdraw closes the job's open offer, if any, and tells the technician it is off.
func (s *Service) Withdraw(ctx context.Context, st Writer, j dispatch.Job, why string) error {
	o, err := st.OpenOffer(ctx, j.ID)
	if errors.Is(err, dispatch.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	now := s.Now()
	o.Status, o.RespondedAt, o.Reason = "withdrawn", &now, why
	st.AfterTx(func(committed bool) {
		if committed { // a transaction planTx runs again would count it twice
			s.Count().Offer("withdrawn")
		}
	})
	return st.UpdateOffer(ctx, o)
}

// InHorizon reports whether a visit starting at start is offered now, rather than later by the
// lifecycle loop as it enters the offer horizon.
func (s *Service) InHorizon(start, now time.Time) bool {
	return start.Before(now.Add(s.Config.OfferHorizon))
}

// Draft makes job j of booking b an offer to tech before anything is written (a new booking's
// single write): j is offered until the offer lapses; the audit event (without ids yet) and the
// technician's notification (nil when tech has no login) are for the write to add.
func (s *Service) Draft(a dispatch.Actor, now time.Time, b dispatch.Booking, j *dispatch.Job, tech dispatch.Technician) (dispatch.AuditEvent, *dispatch.Notification) {
	exp := now.Add(s.Config.OfferTTL)
	j.Status, j.OfferExpiresAt = dispatch.JobOffered, &exp
	return offerAudit(a, now, 0, *j, dispatch.JobUnassigned), offerNotification(tech, b, *j)
}
