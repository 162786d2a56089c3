package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// AcceptJob accepts the caller's open offer for job id.
func (s *Service) AcceptJob(ctx context.Context, a dispatch.Actor, id int64) (dispatch.Job, error) {
	var out dispatch.Job
	err := s.Store.Tx(ctx, func(st Store) error {
		t, err := s.technicianFor(ctx, st, a)
		if err != nil {
			return err
		}
		j, o, err := s.lockOffered(ctx, st, t, id)
		if err != nil {
			return err
		}
		now := s.Now()
		if !now.Before(o.ExpiresAt) {
			return dispatch.Conflict("offer_expired", "the offer for job %d expired at %s", id, o.ExpiresAt.Format(time.RFC3339))
		}
		o.Status, o.RespondedAt = "accepted", &now
		if err := st.UpdateOffer(ctx, o); err != nil {
			return err
		}
		from := j.Status
		j.Status, j.AcceptedAt, j.OfferExpiresAt, j.UpdatedAt = dispatch.JobAccepted, &now, nil, now
		if out, err = st.UpdateJob(ctx, j); err != nil {
			return err
		}
		if err := st.SetBookingStatus(ctx, j.BookingID, dispatch.BookingScheduled, s.Now()); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: id,
			Action: "accepted", FromStatus: string(from), ToStatus: string(dispatch.JobAccepted)}); err != nil {
			return err
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return err
		}
		first, _, _ := strings.Cut(t.Name, " ")
		w := dispatch.PromisedWindow(*j.PlannedStart, s.Rules.Zone())
		return s.Env.TellCustomer(ctx, st, b, j, "confirmed", "Your visit is confirmed",
			fmt.Sprintf("%s will come for your %s on %s.", first, b.Appliance, dispatch.TellWindow(w, s.Rules.Zone())),
			map[string]any{"technician_first_name": first, "window_start": w.Start.Format(time.RFC3339), "window_end": w.End.Format(time.RFC3339)})
	})
	if err == nil {
		s.Count().Offer("accepted")
	}
	return out, err
}

// lockOffered locks job id and finds t's open offer for it; anything else is a clear refusal.
func (s *Service) lockOffered(ctx context.Context, st Store, t dispatch.Technician, id int64) (dispatch.Job, dispatch.Offer, error) {
	j, err := st.LockJob(ctx, id)
	if err != nil {
		return dispatch.Job{}, dispatch.Offer{}, err
	}
	o, err := st.OpenOffer(ctx, id)
	if errors.Is(err, dispatch.ErrNotFound) || (err == nil && o.TechnicianID != t.ID) {
		if j.TechnicianID == nil || *j.TechnicianID != t.ID {
			return dispatch.Job{}, dispatch.Offer{}, dispatch.NotFound("job", id)
		}
		return dispatch.Job{}, dispatch.Offer{}, dispatch.Conflict("no_open_offer", "job %d has no open offer for you (it is %s)", id, j.Status)
	}
	if err != nil {
		return dispatch.Job{}, dispatch.Offer{}, err
	}
	return j, o, nil
}

// DeclineJob declines the caller's open offer; the job is dispatched again without them.
func (s *Service) DeclineJob(ctx context.Context, a dispatch.Actor, id int64, reason string) (dispatch.Job, error) {
	if strings.TrimSpace(reason) == "" {
		return dispatch.Job{}, dispatch.Invalid("reason", "missing_field", "a decline needs a reason")
	}
	if utf8.RuneCountInString(reason) > 1000 {
		return dispatch.Job{}, dispatch.Invalid("reason", "too_long", "reason is longer than 1000 characters")
	}
	var out dispatch.Job
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		t, err := s.technicianFor(ctx, st, a)
		if err != nil {
			return err
		}
		j, o, err := s.lockOffered(ctx, st, t, id)
		if err != nil {
			return err
		}
		now := s.Now()
		o.Status, o.RespondedAt, o.Reason = "declined", &now, reason
		if err := st.UpdateOffer(ctx, o); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: id,
			Action: "declined", FromStatus: string(j.Status), ToStatus: string(dispatch.JobUnassigned), Reason: reason}); err != nil {
			return err
		}
		out, err = s.Offers.Redispatch(ctx, st, a, j)
		return err
	})
	if err == nil {
		s.Count().Offer("declined")
	}
	return out, err
}
