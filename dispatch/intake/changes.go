package intake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/geo"
)

// GetBooking returns a booking its customer, its technician or staff may see. Others get
// not-found, so a booking's existence does not leak.
func (s *Service) GetBooking(ctx context.Context, a dispatch.Actor, id int64) (dispatch.Booking, error) {
	b, err := s.Store.GetBooking(ctx, id)
	if err != nil {
		return dispatch.Booking{}, err
	}
	if err := s.canSee(ctx, a, b); err != nil {
		return dispatch.Booking{}, err
	}
	return b, nil
}

// GetVisit returns one visit (job) with its booking: to staff, to the visit's technician, and to
// the booking's customer (the API shows them a customer-safe subset). Others get not-found.
func (s *Service) GetVisit(ctx context.Context, a dispatch.Actor, jobID int64) (dispatch.Job, dispatch.Booking, error) {
	j, err := s.Store.GetJob(ctx, jobID)
	if err != nil {
		return dispatch.Job{}, dispatch.Booking{}, err
	}
	b, err := s.Store.GetBooking(ctx, j.BookingID)
	if err != nil {
		return dispatch.Job{}, dispatch.Booking{}, err
	}
	switch a.Role {
	case dispatch.RoleDispatcher, dispatch.RoleAdmin:
		return j, b, nil
	case dispatch.RoleCustomer:
		if b.CustomerSubject == a.Subject {
			return j, b, nil
		}
	case dispatch.RoleTechnician:
		if j.TechnicianID != nil {
			t, err := s.Store.GetTechnician(ctx, *j.TechnicianID)
			if err == nil && t.Subject != nil && *t.Subject == a.Subject {
				return j, b, nil
			}
		}
	}
	return dispatch.Job{}, dispatch.Booking{}, dispatch.NotFound("job", jobID)
}

func (s *Service) canSee(ctx context.Context, a dispatch.Actor, b dispatch.Booking) error {
	switch a.Role {
	case dispatch.RoleDispatcher, dispatch.RoleAdmin:
		return nil
	case dispatch.RoleCustomer:
		if b.CustomerSubject == a.Subject {
			return nil
		}
	case dispatch.RoleTechnician:
		for _, j := range b.Jobs {
			if j.TechnicianID == nil {
				continue
			}
			t, err := s.Store.GetTechnician(ctx, *j.TechnicianID)
			if err == nil && t.Subject != nil && *t.Subject == a.Subject {
				return nil
			}
		}
	}
	return dispatch.NotFound("booking", b.ID)
}

// ListBookings lists the caller's bookings (customer) or any (staff).
func (s *Service) ListBookings(ctx context.Context, a dispatch.Actor, f BookingFilter) ([]dispatch.Booking, error) {
	switch {
	case a.Role == dispatch.RoleCustomer:
		c, err := s.Store.EnsureCustomer(ctx, a.Subject)
		if err != nil {
			return nil, err
		}
		f.CustomerID = &c.ID
	case a.Staff():
	default:
		return nil, dispatch.Forbidden("a %s cannot list bookings; technicians read their agenda", a.Role)
	}
	if f.Status != "" && !slices.Contains([]dispatch.BookingStatus{dispatch.BookingOpen, dispatch.BookingScheduled, dispatch.BookingInProgress, dispatch.BookingCompleted, dispatch.BookingCancelled}, f.Status) {
		return nil, dispatch.Invalid("status", "invalid_status", "unknown booking status %q", f.Status)
	}
	if f.Tier != "" && f.Tier != dispatch.TierWarranty && f.Tier != dispatch.TierPaid {
		return nil, dispatch.Invalid("tier", "invalid_tier", "tier must be warranty or paid")
	}
	if f.Region != "" {
		if _, err := geo.ParseCellAt(f.Region, geo.ResRegion); err != nil {
			return nil, dispatch.Invalid("region", "invalid_region", "region must be an H3 cell at resolution %d: %v", geo.ResRegion, err)
		}
	}
	f.Page = f.Page.Norm()
	if s.Reads != nil {
		return s.Reads.ListBookings(ctx, f)
	}
	return s.Store.ListBookings(ctx, f)
}

// changeBooking runs fn on the locked booking after the ownership, version and state checks
// every customer-facing change shares, then writes booking, job and audit event.
func (s *Service) changeBooking(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, action string, fn func(st Store, b *dispatch.Booking, j *dispatch.Job, now time.Time) (reason string, err error), after func(st Store, b dispatch.Booking, j *dispatch.Job) error) (dispatch.Booking, error) {
	if a.Role != dispatch.RoleCustomer && !a.Staff() {
		return dispatch.Booking{}, dispatch.Forbidden("a %s cannot %s bookings", a.Role, action)
	}
	var out dispatch.Booking
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		b, err := s.lockBookingAndVisit(ctx, st, id)
		if err != nil {
			return err
		}
		if a.Role == dispatch.RoleCustomer && b.CustomerSubject != a.Subject {
			return dispatch.NotFound("booking", id)
		}
		if ifVersion != 0 && ifVersion != b.Version {
			return dispatch.Conflict("version_mismatch", "booking %d is at version %d, not %d: reload and retry", id, b.Version, ifVersion)
		}
		from := b.Status
		j := b.CurrentJob()
		switch b.Status {
		case dispatch.BookingCancelled:
			return dispatch.Conflict("booking_cancelled", "booking %d is already cancelled", id)
		case dispatch.BookingCompleted:
			return dispatch.Conflict("booking_completed", "booking %d is completed", id)
		case dispatch.BookingInProgress:
			if j != nil && (j.Status == dispatch.JobOnSite) {
				return dispatch.Conflict("technician_on_site", "booking %d cannot be changed: the technician is on site", id)
			}
		}
		now := s.Now()
		if err := s.beforeCutoff(a, j, now, action); err != nil {
			return err
		}
		reason, err := fn(st, &b, j, now)
		if err != nil {
			return err
		}
		b.UpdatedAt = now
		if out, err = st.UpdateBooking(ctx, b); err != nil {
			return err
		}
		if j != nil {
			j.UpdatedAt = now
			saved, err := st.UpdateJob(ctx, *j)
			if err != nil {
				return err
			}
			j.Version = saved.Version
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "booking",
			EntityID: id, Action: action, FromStatus: string(from), ToStatus: string(b.Status), Reason: reason}); err != nil {
			return err
		}
		if after != nil {
			if err := after(st, b, j); err != nil {
				return err
			}
		}
		out, err = st.GetBooking(ctx, id)
		return err
	})
	return out, err
}

// beforeCutoff refuses a customer's change once the cut-off before the visit's window has
// passed (Rules.ChangeCutoff, FIELDFIX_CHANGE_CUTOFF): the technician's day is set by then, and
// staff, who can rearrange it, may still change it. A cut-off of 0 is none.
func (s *Service) beforeCutoff(a dispatch.Actor, j *dispatch.Job, now time.Time, action string) error {
	if a.Role != dispatch.RoleCustomer || j == nil || j.PlannedStart == nil || j.TechnicianID == nil || s.Rules.ChangeCutoff <= 0 {
		return nil
	}
	loc := s.Rules.Zone()
	w := dispatch.PromisedWindow(*j.PlannedStart, loc)
	closes := w.Start.Add(-s.Rules.ChangeCutoff)
	if now.Before(closes) {
		return nil
	}
	e := dispatch.Conflict("change_cutoff_passed", "the visit on %s can no longer be %s online: changes close %s before the window, at %s; please call us",
		dispatch.TellWindow(w, loc), action, strings.TrimSuffix(strings.TrimSuffix(s.Rules.ChangeCutoff.String(), "0s"), "0m"), closes.In(loc).Format("Mon 2 Jan 15:04"))
	e.(*dispatch.Error).Extra = map[string]any{"change_cutoff": closes}
	return e
}

// lockBookingAndVisit reads booking id with its row and its current visit's row locked, in the
// order every job transition takes them (the job's row, then its booking's through the status it
// sets), so that a customer's change and the technician's report wait for each other instead of
// one writing over the other from a copy read before the other committed. A visit added meanwhile
// (an incomplete visit's revisit) is a lost race: the transaction runs again.
func (s *Service) lockBookingAndVisit(ctx context.Context, st Store, id int64) (dispatch.Booking, error) {
	peek, err := st.GetBooking(ctx, id)
	if err != nil {
		return dispatch.Booking{}, err
	}
	var visit int64
	if j := peek.CurrentJob(); j != nil {
		if _, err := st.LockJob(ctx, j.ID); err != nil {
			return dispatch.Booking{}, err
		}
		visit = j.ID
	}
	b, err := st.LockBooking(ctx, id)
	if err != nil {
		return dispatch.Booking{}, err
	}
	if j := b.CurrentJob(); j != nil && j.ID != visit {
		return dispatch.Booking{}, dispatch.Conflict("concurrent_update", "booking %d got another visit meanwhile; retry", id)
	}
	return b, nil
}

// CancelBooking cancels a booking before the technician is on site.
func (s *Service) CancelBooking(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, reason string) (dispatch.Booking, error) {
	if utf8.RuneCountInString(reason) > 1000 {
		return dispatch.Booking{}, dispatch.Invalid("reason", "too_long", "reason is longer than 1000 characters")
	}
	return s.changeBooking(ctx, a, id, ifVersion, "cancelled", func(st Store, b *dispatch.Booking, j *dispatch.Job, now time.Time) (string, error) {
		b.Status = dispatch.BookingCancelled
		b.CancelReason = reason
		if j != nil {
			if err := s.Offers.Withdraw(ctx, st, *j, "booking cancelled"); err != nil {
				return "", err
			}
			if err := s.Env.TellTechnician(ctx, st, j.TechnicianID, *j, "cancellation", "Job cancelled",
				fmt.Sprintf("The customer cancelled job %d (%s).", j.ID, b.Address)); err != nil {
				return "", err
			}
			if err := s.Env.TellCustomer(ctx, st, *b, *j, "cancellation", "Booking cancelled",
				fmt.Sprintf("Your %s %s visit is cancelled.", b.Appliance, strings.ReplaceAll(string(b.ServiceType), "_", " ")), nil); err != nil {
				return "", err
			}
			j.Status = dispatch.JobCancelled
		}
		return reason, nil
	}, nil)
}

// RescheduleBooking replaces the preferred windows; the visit is planned anew to fit them.
func (s *Service) RescheduleBooking(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, windows []dispatch.Window, reason string) (dispatch.Booking, error) {
	now := s.Now()
	if len(windows) == 0 {
		return dispatch.Booking{}, dispatch.Invalid("preferred_windows", "missing_field", "preferred_windows must name at least one window")
	}
	if err := s.validateWindows(windows, now); err != nil {
		return dispatch.Booking{}, err
	}
	var before dispatch.Job
	return s.changeBooking(ctx, a, id, ifVersion, "rescheduled", func(st Store, b *dispatch.Booking, j *dispatch.Job, now time.Time) (string, error) {
		if j != nil {
			before = *j
		}
		if j != nil && (j.Status == dispatch.JobEnRoute || j.Status == dispatch.JobOnSite) {
			return "", dispatch.Conflict("technician_on_the_way", "booking %d cannot be rescheduled: the technician is %s", b.ID, j.Status)
		}
		b.PreferredWindows = windows
		b.Status = dispatch.BookingOpen
		b.CustomerDeferred = deferredByCustomer(windows, b.SLADueAt) // the rule a new booking's windows follow
		if j != nil {
			if err := s.Offers.Withdraw(ctx, st, *j, "booking rescheduled"); err != nil {
				return "", err
			}
			if err := s.Env.TellTechnician(ctx, st, j.TechnicianID, *j, "change", "Job rescheduled",
				fmt.Sprintf("The customer moved job %d; it is being planned anew.", j.ID)); err != nil {
				return "", err
			}
			// The old plan no longer fits the customer's new windows: the job is planned anew.
			j.Status, j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.OfferExpiresAt, j.Pinned, j.PinnedStart, j.AcceptedAt =
				dispatch.JobUnassigned, nil, nil, nil, nil, false, false, nil
		}
		return fmt.Sprintf("%s; new windows: %d", reason, len(windows)), nil
	}, func(st Store, b dispatch.Booking, j *dispatch.Job) error {
		if j == nil {
			return nil
		}
		if err := s.Offers.Dispatch(ctx, st, a, b, j, nil); err != nil {
			return err
		}
		if err := s.Env.TellMoved(ctx, st, b, before, *j); err != nil {
			return err
		}
		if j.TechnicianID != nil {
			return st.SetBookingStatus(ctx, b.ID, dispatch.BookingScheduled, s.Now())
		}
		return nil
	})
}
