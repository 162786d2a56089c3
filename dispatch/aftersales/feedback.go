package aftersales

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// SubmitFeedback records the customer's rating, once, after the booking is completed.
func (s *Service) SubmitFeedback(ctx context.Context, a dispatch.Actor, bookingID int64, csat, nps int, comment string) (Feedback, error) {
	if a.Role != dispatch.RoleCustomer {
		return Feedback{}, dispatch.Forbidden("only the booking's customer gives feedback")
	}
	if csat < 1 || csat > 5 {
		return Feedback{}, dispatch.Invalid("csat", "out_of_range", "csat must be between 1 and 5")
	}
	if nps < 0 || nps > 10 {
		return Feedback{}, dispatch.Invalid("nps", "out_of_range", "nps must be between 0 and 10")
	}
	if utf8.RuneCountInString(comment) > 4000 {
		return Feedback{}, dispatch.Invalid("comment", "too_long", "comment is longer than 4000 characters")
	}
	var out Feedback
	err := s.Store.Tx(ctx, func(st Store) error {
		b, err := st.GetBooking(ctx, bookingID)
		if err != nil {
			return err
		}
		if b.CustomerSubject != a.Subject {
			return dispatch.NotFound("booking", bookingID)
		}
		if b.Status != dispatch.BookingCompleted {
			return dispatch.Conflict("not_completed", "feedback opens when the visit is completed; booking %d is %s", bookingID, b.Status)
		}
		f, inserted, err := st.AddFeedback(ctx, Feedback{BookingID: b.ID, CustomerID: b.CustomerID, CSAT: csat, NPS: nps,
			Comment: strings.TrimSpace(comment), CreatedAt: s.Now()})
		if err != nil {
			return err
		}
		if !inserted {
			return dispatch.Conflict("feedback_exists", "booking %d already has feedback", bookingID)
		}
		out = f
		return st.AddAudit(ctx, dispatch.AuditEvent{At: f.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "booking", EntityID: b.ID,
			Action: "feedback", Data: map[string]any{"csat": csat, "nps": nps}})
	})
	return out, err
}

// FollowUpConfig tunes the after-visit survey.
type FollowUpConfig struct {
	After time.Duration // after completion (24 h)
	// Webhook, when set, is called with each request too (in the claiming transaction, so a
	// failed call is retried next run; receivers dedupe on the booking id).
	Webhook func(ctx context.Context, bookingID int64, customerSub string) error
}

// FollowUps asks each customer for feedback once, FollowUp.After their visit was completed.
func (s *Service) FollowUps(ctx context.Context) (int, error) {
	now := s.Now()
	ids, err := s.Store.FollowUpsDue(ctx, now.Add(-s.FollowUp.After))
	if err != nil {
		return 0, err
	}
	sent, inARow := 0, 0
	var failed error
	for _, id := range ids {
		asked := false
		err := s.Store.Tx(ctx, func(st Store) error {
			ok, err := st.ClaimFollowUp(ctx, id, now)
			if err != nil || !ok {
				return err
			}
			b, err := st.GetBooking(ctx, id)
			if err != nil {
				return err
			}
			if err := s.Env.Notify(ctx, st, dispatch.Notification{RecipientKind: "customer", RecipientSubject: b.CustomerSubject, Kind: "feedback_request",
				BookingID: &b.ID, Title: "How did we do?", Body: fmt.Sprintf("Rate the %s visit: it takes ten seconds.", b.Appliance),
				Data: map[string]any{"deep_link": fmt.Sprintf("fieldfix://bookings/%d/feedback", b.ID)}}); err != nil {
				return err
			}
			if s.FollowUp.Webhook != nil {
				if err := s.FollowUp.Webhook(ctx, b.ID, b.CustomerSubject); err != nil {
					return fmt.Errorf("follow-up webhook: %w", err)
				}
			}
			asked = true
			return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: dispatch.System().Subject, ActorRole: dispatch.RoleSystem, Entity: "booking", EntityID: b.ID,
				Action: "followup_sent", Data: map[string]any{"booking_id": b.ID}})
		})
		if err != nil {
			// Reported, and asked again next run; the other customers are asked all the same,
			// unless the failures come in a row: the webhook is down, and each try would hold a
			// transaction for its timeout.
			failed = errors.Join(failed, fmt.Errorf("follow-up booking %d: %w", id, err))
			if inARow++; dispatch.HaltsBackground(ctx, err) || inARow == 3 {
				return sent, failed
			}
			continue
		}
		inARow = 0
		if asked {
			sent++
		}
	}
	return sent, failed
}

// Feedback is a customer's rating of a completed booking.
type Feedback struct {
	BookingID  int64
	CustomerID int64
	CSAT       int // 1–5
	NPS        int // 0–10
	Comment    string
	CreatedAt  time.Time
}
