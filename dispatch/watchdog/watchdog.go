// Package watchdog owns the SLA watch: bookings at risk of missing their due time are planned again
// on a wider search or flagged for the board (dispatchers told), and each breach is recorded once.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Store is what the watchdog reads and writes.
type Store interface {
	offers.Writer
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// LockJob reads the job with its row locked until the transaction ends.
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	// AtRiskJobs are first visits not yet started whose booking is at risk: no technician and due
	// before riskBefore, planned after the due time, or planned to start before lateBefore.
	AtRiskJobs(ctx context.Context, riskBefore, lateBefore time.Time) ([]AtRiskJob, error)
	// SetAtRisk flags or clears a booking; it reports whether the flag changed.
	SetAtRisk(ctx context.Context, bookingID int64, atRisk bool) (bool, error)
	// ClearAtRisk clears every flag but those of still; it returns the cleared bookings.
	ClearAtRisk(ctx context.Context, still []int64) ([]int64, error)
	// RecordBreaches marks, once, the bookings whose due time passed without an arrival.
	RecordBreaches(ctx context.Context, now time.Time) ([]dispatch.Booking, error)
	DispatcherSubjects(ctx context.Context) ([]string, error)
}

// Service is the SLA watchdog: at-risk bookings rescued or flagged, breaches recorded once.
type Service struct {
	*dispatch.Env
	Store   Store
	Planner *planning.Planner
	Offers  *offers.Service
	Config  Config

	mu    sync.Mutex
	tried map[int64]retry // at-risk jobs the wider search could not rescue, by job
}

// retry is when a job the wider search could not rescue is planned again: at next, or as soon as
// the job itself changes (its version).
type retry struct {
	version int
	next    time.Time
	wait    time.Duration // the wait before next; doubled at each failure, to Config.RetryMax
}

// New is the watchdog over store with the default margins, planning and offering through planner
// and offers.
func New(store Store, env *dispatch.Env, planner *planning.Planner, offers *offers.Service) *Service {
	return &Service{Env: env, Store: store, Planner: planner, Offers: offers, Config: DefaultConfig()}
}

// Config tunes the SLA watchdog.
type Config struct {
	RiskMargin time.Duration // a booking without a technician this close to its due time is at risk (6 h)
	LateAfter  time.Duration // a technician this late for the planned start puts the booking at risk (30 min)
	// RetryAfter is how long a job the wider search could not rescue waits before it is planned
	// again (2 min), doubling at each failure to RetryMax (16 min), and never more than a quarter
	// of the time left to its due time; a change to the job itself (a dispatcher's edit, parts
	// required, a decline) ends the wait. It stays flagged meanwhile.
	RetryAfter, RetryMax time.Duration
	// TickBudget is the planning one run may spend (5 s): the jobs due soonest are planned first,
	// and those left over are flagged without a new plan, to be planned first by the next run.
	TickBudget time.Duration
}

// DefaultConfig are the defaults of the spec.
func DefaultConfig() Config {
	return Config{RiskMargin: 6 * time.Hour, LateAfter: 30 * time.Minute, RetryAfter: 2 * time.Minute, RetryMax: 16 * time.Minute, TickBudget: 5 * time.Second}
}

// Summary says what one watchdog run did.
type Summary struct {
	AtRisk       int `json:"at_risk"`
	Redispatched int `json:"redispatched"`
	Flagged      int `json:"newly_flagged"`
	// Deferred are at-risk jobs not planned again this run: the wider search found no rescue for
	// them lately and nothing about them changed since, or the run's planning budget was spent.
	Deferred int     `json:"deferred"`
	Cleared  int     `json:"cleared"`
	Breaches []int64 `json:"breaches"`
}

// SLAWatchdog finds at-risk bookings, tries to re-dispatch them (a wider search, other
// technicians), flags them for the board, audits and tells dispatchers; and records each breach
// once. Running it twice at the same moment changes nothing the second time.
func (s *Service) SLAWatchdog(ctx context.Context) (Summary, error) {
	now := s.Now()
	sum := Summary{Breaches: []int64{}}
	risky, err := s.Store.AtRiskJobs(ctx, now.Add(s.Config.RiskMargin), now.Add(-s.Config.LateAfter))
	if err != nil {
		return sum, err
	}
	var (
		still  []int64
		failed error
	)
	began := time.Now() // the budget is the process's own time, whatever the service's clock
	seen := make(map[int64]bool, len(risky))
	for _, r := range risky {
		seen[r.Job.ID] = true
		sum.AtRisk++
		plan := !r.Job.Pinned && s.due(r.Job, now) && time.Since(began) < s.Config.TickBudget
		if !plan {
			if !r.Job.Pinned {
				sum.Deferred++
			}
			if r.AtRisk {
				still = append(still, r.Job.BookingID) // flagged already: nothing to write
				continue
			}
		}
		// Bookings first: a customer waits on each, and a rescue or a flag a few milliseconds
		// later is the same (each planning of the watchdog's is a wider search than a booking's,
		// and the flags left when the budget ends came as one burst of hundreds of transactions:
		// on the load benchmark a second of slow bookings some 10 s after the tick).
		s.Planner.YieldToBookings()
		var fixed, flagged, planned bool
		err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
			fixed, flagged, planned = false, false, false
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
			if plan {
				planned = true
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
			reason := atRiskReason(j, b, now, s.Config)
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
		if planned {
			s.planned(r, fixed, now)
		}
		if flagged {
			sum.Flagged++
		}
	}
	s.forget(seen)
	cleared, err := s.Store.ClearAtRisk(ctx, still)
	if err != nil {
		return sum, errors.Join(failed, err)
	}
	sum.Cleared = len(cleared)
	err = s.Store.Tx(ctx, func(st Store) error {
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

// due says whether an at-risk job is to be planned again now: it was never tried, it changed
// since, or its wait is over.
func (s *Service) due(j dispatch.Job, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tried[j.ID]
	return !ok || t.version != j.Version || !now.Before(t.next)
}

// planned remembers how the wider search did on r: a rescue forgets it, a failure doubles its wait.
func (s *Service) planned(r AtRiskJob, fixed bool, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fixed {
		delete(s.tried, r.Job.ID)
		return
	}
	if s.tried == nil {
		s.tried = map[int64]retry{}
	}
	wait := s.Config.RetryAfter
	if t, ok := s.tried[r.Job.ID]; ok && t.version == r.Job.Version {
		wait = min(2*t.wait, s.Config.RetryMax)
	}
	wait = max(min(wait, r.SLADueAt.Sub(now)/4), 0)
	s.tried[r.Job.ID] = retry{version: r.Job.Version, next: now.Add(wait), wait: max(wait, s.Config.RetryAfter)}
}

// forget drops what it remembers of jobs no longer at risk.
func (s *Service) forget(seen map[int64]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.tried {
		if !seen[id] {
			delete(s.tried, id)
		}
	}
}

func atRiskReason(j dispatch.Job, b dispatch.Booking, now time.Time, w Config) string {
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
func (s *Service) rescue(ctx context.Context, st Store, b dispatch.Booking, j *dispatch.Job, now time.Time) (bool, error) {
	var exclude []int64
	late := j.TechnicianID != nil && j.PlannedStart != nil && j.PlannedStart.Before(now.Add(-s.Config.LateAfter))
	if late {
		exclude = append(exclude, *j.TechnicianID)
	}
	refused, err := st.RefusedTechnicians(ctx, j.ID)
	if err != nil {
		return false, err
	}
	wide := *s.Planner // a wider search, on the same plan cache and picks
	wide.Config.Candidates *= 3
	wide.Config.MaxRadiusKm *= 2
	p, _, err := wide.Plan(ctx, st, b, *j, append(exclude, refused...), false)
	if err != nil || p == nil || p.Start.After(b.SLADueAt) {
		return false, err
	}
	if j.TechnicianID != nil && !late && j.PlannedStart != nil && !p.Start.Before(*j.PlannedStart) {
		return false, nil // no better than what it has
	}
	prev, before := j.TechnicianID, *j
	if err := s.Offers.Withdraw(ctx, st, *j, "re-dispatched by the SLA watchdog"); err != nil {
		return false, err
	}
	if prev != nil && *prev != p.TechnicianID {
		if err := s.Env.TellTechnician(ctx, st, prev, *j, "cancellation", "Job re-assigned", fmt.Sprintf("%s went to a colleague to keep its SLA.", j.Reference())); err != nil {
			return false, err
		}
	}
	from := j.Status
	j.TechnicianID, j.PlannedStart, j.PlannedEnd = &p.TechnicianID, &p.Start, &p.End
	j.Status, j.OfferExpiresAt, j.AcceptedAt, j.UpdatedAt = dispatch.JobUnassigned, nil, nil, now
	if err := planning.WritePlaced(ctx, st, j, p, func() error {
		saved, err := st.UpdateJob(ctx, *j)
		j.Version = saved.Version
		return err
	}); err != nil {
		return false, err
	}
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
	if err := s.Env.TellMoved(ctx, st, b, before, *j); err != nil {
		return false, err
	}
	return true, st.SetBookingStatus(ctx, b.ID, dispatch.BookingScheduled, s.Now())
}

// tellDispatchers notifies every dispatcher with a registered device.
func (s *Service) tellDispatchers(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, title, body string) error {
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

// AtRiskJob is a first visit whose booking may miss its SLA.
type AtRiskJob struct {
	Job      dispatch.Job
	SLADueAt time.Time
	AtRisk   bool // the booking's flag before this run
}
