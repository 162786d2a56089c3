package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// WatchdogConfig tunes the SLA watchdog.
type WatchdogConfig struct {
	RiskMargin time.Duration // a booking without a technician this close to its due time is at risk (6 h)
	LateAfter  time.Duration // a technician this late for the planned start puts the booking at risk (30 min)
}

// DefaultWatchdog are the defaults of the spec.
func DefaultWatchdog() WatchdogConfig {
	return WatchdogConfig{RiskMargin: 6 * time.Hour, LateAfter: 30 * time.Minute}
}

// WatchdogSummary says what one watchdog run did.
type WatchdogSummary struct {
	AtRisk       int     `json:"at_risk"`
	Redispatched int     `json:"redispatched"`
	Flagged      int     `json:"newly_flagged"`
	Cleared      int     `json:"cleared"`
	Breaches     []int64 `json:"breaches"`
}

// SLAWatchdog finds at-risk bookings, tries to re-dispatch them (a wider search, other
// technicians), flags them for the board, audits and tells dispatchers; and records each breach
// once. Running it twice at the same moment changes nothing the second time.
func (s *Service) SLAWatchdog(ctx context.Context) (WatchdogSummary, error) {
	now := s.now()
	sum := WatchdogSummary{Breaches: []int64{}}
	risky, err := s.Store.AtRiskJobs(ctx, now.Add(s.Watchdog.RiskMargin), now.Add(-s.Watchdog.LateAfter))
	if err != nil {
		return sum, err
	}
	var (
		still  []int64
		failed error
	)
	for _, r := range risky {
		sum.AtRisk++
		var fixed, flagged bool
		err := s.planTx(ctx, func(st dispatch.Store) error {
			fixed, flagged = false, false
			j, err := st.LockJob(ctx, r.Job.ID)
			if err != nil {
				return err
			}
			if j.Started() || !j.Live() || j.Version != r.Job.Version {
				return nil // it moved since we looked; the next run judges it afresh
			}
			b, err := st.GetBooking(ctx, j.BookingID)
			if err != nil {
				return err
			}
			if !j.Pinned {
				if fixed, err = s.rescue(ctx, st, b, &j, now); err != nil {
					return err
				}
			}
			if fixed {
				return nil
			}
			if flagged, err = st.SetAtRisk(ctx, b.ID, true); err != nil || !flagged {
				return err
			}
			reason := atRiskReason(j, b, now, s.Watchdog)
			if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: dispatch.System().Subject, ActorRole: dispatch.RoleSystem, Entity: "booking", EntityID: b.ID,
				Action: "at_risk", Reason: reason, Data: map[string]any{"booking_id": b.ID, "job_id": j.ID, "sla_due_at": b.SLADueAt}}); err != nil {
				return err
			}
			return s.tellDispatchers(ctx, st, b, j, "SLA at risk: booking "+fmt.Sprint(b.ID), reason)
		})
		if err != nil {
			// One job that cannot be handled (its booking stays flagged as it was) must not stop
			// the others, nor the breaches below: it is reported, and the next run tries again.
			failed = errors.Join(failed, fmt.Errorf("watchdog job %d: %w", r.Job.ID, err))
			if dispatch.HaltsBackground(ctx, err) {
				return sum, failed
			}
			still = append(still, r.Job.BookingID)
			continue
		}
		if fixed {
			sum.Redispatched++
		} else {
			still = append(still, r.Job.BookingID)
		}
		if flagged {
			sum.Flagged++
		}
	}
	cleared, err := s.Store.ClearAtRisk(ctx, still)
	if err != nil {
		return sum, errors.Join(failed, err)
	}
	sum.Cleared = len(cleared)
	err = s.Store.Tx(ctx, func(st dispatch.Store) error {
		breached, err := st.RecordBreaches(ctx, now)
		if err != nil {
			return err
		}
		for _, b := range breached {
			sum.Breaches = append(sum.Breaches, b.ID)
			if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: dispatch.System().Subject, ActorRole: dispatch.RoleSystem, Entity: "booking", EntityID: b.ID,
				Action: "sla_breached", Reason: "no technician on site by " + b.SLADueAt.Format(time.RFC3339),
				Data: map[string]any{"booking_id": b.ID, "tier": b.Tier, "sla_due_at": b.SLADueAt}}); err != nil {
				return err
			}
		}
		return nil
	})
	return sum, errors.Join(failed, err)
}

func atRiskReason(j dispatch.Job, b dispatch.Booking, now time.Time, w WatchdogConfig) string {
	switch {
	case j.TechnicianID == nil:
		return fmt.Sprintf("no technician and %s to the SLA due time", b.SLADueAt.Sub(now).Round(time.Minute))
	case j.PlannedStart != nil && j.PlannedStart.After(b.SLADueAt):
		return "planned arrival after the SLA due time"
	default:
		return fmt.Sprintf("technician more than %s late for the planned start", w.LateAfter)
	}
}

// rescue re-plans an at-risk job with a wider search; it keeps the new plan only when it
// arrives by the due time (and, for a late technician, goes to someone else).
func (s *Service) rescue(ctx context.Context, st dispatch.Store, b dispatch.Booking, j *dispatch.Job, now time.Time) (bool, error) {
	var exclude []int64
	late := j.TechnicianID != nil && j.PlannedStart != nil && j.PlannedStart.Before(now.Add(-s.Watchdog.LateAfter))
	if late {
		exclude = append(exclude, *j.TechnicianID)
	}
	refused, err := st.RefusedTechnicians(ctx, j.ID)
	if err != nil {
		return false, err
	}
	p, _, err := s.Planner.Wider().Plan(ctx, st, b, *j, append(exclude, refused...), false)
	if err != nil || p == nil || p.Start.After(b.SLADueAt) {
		return false, err
	}
	if j.TechnicianID != nil && !late && j.PlannedStart != nil && !p.Start.Before(*j.PlannedStart) {
		return false, nil // no better than what it has
	}
	prev := j.TechnicianID
	if err := s.Offers.Withdraw(ctx, st, *j, "re-dispatched by the SLA watchdog"); err != nil {
		return false, err
	}
	if prev != nil && *prev != p.TechnicianID {
		if err := s.Env.TellTechnician(ctx, st, prev, *j, "cancellation", "Job re-assigned", fmt.Sprintf("Job %d went to a colleague to keep its SLA.", j.ID)); err != nil {
			return false, err
		}
	}
	from := j.Status
	j.TechnicianID, j.PlannedStart, j.PlannedEnd = &p.TechnicianID, &p.Start, &p.End
	j.Status, j.OfferExpiresAt, j.AcceptedAt, j.UpdatedAt = dispatch.JobUnassigned, nil, nil, now
	saved, err := st.UpdateJob(ctx, *j)
	if err != nil {
		return false, err
	}
	j.Version = saved.Version
	if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: dispatch.System().Subject, ActorRole: dispatch.RoleSystem, Entity: "job", EntityID: j.ID,
		Action: "redispatch", FromStatus: string(from), ToStatus: string(dispatch.JobUnassigned), Reason: "SLA watchdog",
		Data: map[string]any{"booking_id": b.ID, "previous_technician_id": prev, "technician_id": p.TechnicianID, "planned_start": p.Start}}); err != nil {
		return false, err
	}
	if p.Start.Before(now.Add(s.Offers.Config.OfferHorizon)) {
		if err := s.Offers.Offer(ctx, st, dispatch.System(), b, j, nil); err != nil {
			return false, err
		}
	}
	return true, s.setBookingStatus(ctx, st, b.ID, dispatch.BookingScheduled)
}

// tellDispatchers notifies every dispatcher with a registered device.
func (s *Service) tellDispatchers(ctx context.Context, st dispatch.Store, b dispatch.Booking, j dispatch.Job, title, body string) error {
	subs, err := st.DispatcherSubjects(ctx)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if err := s.Env.Notify(ctx, st, dispatch.Notification{RecipientKind: "dispatcher", RecipientSubject: sub, Kind: "reminder", JobID: &j.ID,
			BookingID: &b.ID, Title: title, Body: body, Data: map[string]any{"deep_link": fmt.Sprintf("fieldfix://bookings/%d", b.ID)}}); err != nil {
			return err
		}
	}
	return nil
}

// DisableStaleDevices turns off tokens not seen for maxAge (FCM drops them after ~270 days; 30 is ours).
func (s *Service) DisableStaleDevices(ctx context.Context, maxAge time.Duration) (int64, error) {
	return s.Store.DisableStaleDevices(ctx, s.now().Add(-maxAge))
}

// ReoptimizeRegions re-optimises each region with bookings to serve, sharing the budget; regions
// are independent, so one region's work never waits on another's.
func (s *Service) ReoptimizeRegions(ctx context.Context, budget time.Duration) (map[string]OptimizeResult, error) {
	regions, err := s.Store.OpenRegions(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]OptimizeResult{}
	var failed error
	for _, r := range regions {
		if r == "" {
			continue
		}
		res, err := s.Reoptimize(ctx, dispatch.System(), r, budget/time.Duration(max(1, len(regions))))
		if err != nil {
			// Reported; the regions after it are re-optimised all the same.
			failed = errors.Join(failed, fmt.Errorf("region %s: %w", r, err))
			if dispatch.HaltsBackground(ctx, err) {
				return out, failed
			}
			continue
		}
		out[r] = res
	}
	return out, failed
}
