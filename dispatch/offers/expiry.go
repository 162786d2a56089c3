package offers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// ExpireOffers expires open offers whose time is up and dispatches their jobs again without
// the technician who let them lapse. Each offer is its own transaction; rows another replica
// is expiring are skipped. An offer whose job cannot be planned again (the planning fails, not
// "nobody can take it") still expires: its job goes back to the queue unassigned, with the
// failure audited, so that one bad job cannot hold up every expiry behind it. It returns how
// many offers it expired.
func (s *Service) ExpireOffers(ctx context.Context, limit int) (int, error) {
	n := 0
	for n < limit {
		var (
			current int64 // the offer being expired
			done    bool
		)
		expire := func(cause error) func(st Store) error {
			return func(st Store) error {
				os, err := st.ExpiredOffers(ctx, s.Now(), 1)
				if err != nil {
					return err
				}
				if len(os) == 0 {
					done = true
					return nil
				}
				o := os[0]
				if cause != nil && o.ID != current {
					return errOtherOffer
				}
				current = o.ID
				j, err := st.LockJob(ctx, o.JobID)
				if err != nil {
					return err
				}
				now := s.Now()
				o.Status, o.RespondedAt = "expired", &now
				if err := st.UpdateOffer(ctx, o); err != nil {
					return err
				}
				if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: dispatch.System().Subject, ActorRole: dispatch.RoleSystem, Entity: "job", EntityID: j.ID,
					Action: "expired", FromStatus: string(j.Status), ToStatus: string(dispatch.JobUnassigned),
					Reason: fmt.Sprintf("offer to technician %d expired at %s", o.TechnicianID, o.ExpiresAt.Format(time.RFC3339)),
					Data:   map[string]any{"technician_id": o.TechnicianID, "booking_id": j.BookingID}}); err != nil {
					return err
				}
				if err := s.Env.TellTechnician(ctx, st, &o.TechnicianID, j, "cancellation", "Offer expired",
					fmt.Sprintf("The offer for job %d expired.", j.ID)); err != nil {
					return err
				}
				if cause == nil {
					_, err = s.Redispatch(ctx, st, dispatch.System(), j)
					return err
				}
				if err := s.unassign(ctx, st, &j); err != nil {
					return err
				}
				return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: dispatch.System().Subject, ActorRole: dispatch.RoleSystem, Entity: "job", EntityID: j.ID,
					Action: "unassigned", FromStatus: string(dispatch.JobUnassigned), ToStatus: string(dispatch.JobUnassigned), Reason: "planning it again failed: " + cause.Error(),
					Data: map[string]any{"reason_code": "redispatch_failed", "booking_id": j.BookingID}})
			}
		}
		err := planning.Retry(ctx, s.Store.Tx, expire(nil))
		if err != nil && current != 0 && !dispatch.HaltsBackground(ctx, err) {
			s.Log.Error("expired offer: planning its job again failed; the job goes back to the queue", "offer_id", current, "err", err)
			err = s.Store.Tx(ctx, expire(err))
			if errors.Is(err, errOtherOffer) {
				continue // another replica took it meanwhile
			}
		}
		if err != nil {
			return n, err
		}
		if done {
			return n, nil
		}
		n++
		s.Count().Offer("expired")
	}
	return n, nil
}

// errOtherOffer: the offer whose re-dispatch failed is not the next one to expire any more.
var errOtherOffer = errors.New("another offer came first")

// OfferDue offers the planned jobs that have entered the offer horizon. A job it cannot offer is
// reported and left for the next run; the jobs after it are offered all the same.
func (s *Service) OfferDue(ctx context.Context, limit int) (int, error) {
	ids, err := s.Store.JobsToOffer(ctx, s.Now().Add(s.Config.OfferHorizon), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	var failed error
	for _, id := range ids {
		offered := false
		err := s.Store.Tx(ctx, func(st Store) error {
			j, err := st.LockJob(ctx, id)
			if err != nil {
				return err
			}
			if j.Status != dispatch.JobUnassigned || j.TechnicianID == nil {
				return nil // someone else moved it meanwhile
			}
			b, err := st.GetBooking(ctx, j.BookingID)
			if err != nil {
				return err
			}
			if err := s.Offer(ctx, st, dispatch.System(), b, &j, nil); err != nil {
				return err
			}
			offered = true
			return nil
		})
		if err != nil {
			failed = errors.Join(failed, fmt.Errorf("offer job %d: %w", id, err))
			if dispatch.HaltsBackground(ctx, err) {
				return n, failed
			}
			continue
		}
		if offered {
			n++
		}
	}
	return n, failed
}

// RunLifecycle expires each offer at its expiry time and offers jobs as they enter the horizon,
// until ctx ends: it sleeps until the earliest open offer lapses, or interval at most (new offers,
// from any replica, are seen within it). Row locks with SKIP LOCKED make it safe on every replica.
func (s *Service) RunLifecycle(ctx context.Context, interval time.Duration) {
	for {
		s.lifecycleDue.Store(0) // running: an offer made meanwhile wakes it again
		if _, err := s.ExpireOffers(ctx, 100); err != nil && ctx.Err() == nil {
			s.Log.Error("expire offers", "err", err)
		}
		if _, err := s.OfferDue(ctx, 100); err != nil && ctx.Err() == nil {
			s.Log.Error("offer due jobs", "err", err)
		}
		wait := interval
		if next, err := s.Store.NextOfferExpiry(ctx); err == nil {
			if d := next.Sub(s.Now()) + 10*time.Millisecond; d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		s.lifecycleDue.Store(s.Now().Add(wait).UnixNano())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-s.offered:
		}
	}
}
