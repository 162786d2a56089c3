package services

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// technicianFor resolves the calling technician's record.
func (s *Service) technicianFor(ctx context.Context, st dispatch.Store, a dispatch.Actor) (dispatch.Technician, error) {
	if a.Role != dispatch.RoleTechnician {
		return dispatch.Technician{}, dispatch.Forbidden("only technicians have an agenda")
	}
	t, err := st.TechnicianBySubject(ctx, a.Subject)
	if errors.Is(err, dispatch.ErrNotFound) {
		return dispatch.Technician{}, dispatch.Forbidden("no technician is linked to subject %q; an admin creates technicians", a.Subject)
	}
	return t, err
}

// ---- the technician app ----

// AcceptJob accepts the caller's open offer for job id.
func (s *Service) AcceptJob(ctx context.Context, a dispatch.Actor, id int64) (dispatch.Job, error) {
	var out dispatch.Job
	err := s.Store.Tx(ctx, func(st dispatch.Store) error {
		t, err := s.technicianFor(ctx, st, a)
		if err != nil {
			return err
		}
		j, o, err := s.lockOffered(ctx, st, t, id)
		if err != nil {
			return err
		}
		now := s.now()
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
		if err := s.setBookingStatus(ctx, st, j.BookingID, dispatch.BookingScheduled); err != nil {
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
		return s.Env.TellCustomer(ctx, st, b, j, "confirmed", "Your visit is confirmed",
			fmt.Sprintf("%s will come for your %s on %s.", first, b.Appliance, arrivalWindow(*j.PlannedStart, s.Rules.Zone())),
			map[string]any{"technician_first_name": first, "window_start": j.PlannedStart.Format(time.RFC3339),
				"window_end": j.PlannedStart.Add(dispatch.ArrivalWindow).Format(time.RFC3339)})
	})
	if err == nil {
		s.metrics().Offer("accepted")
	}
	return out, err
}

// lockOffered locks job id and finds t's open offer for it; anything else is a clear refusal.
func (s *Service) lockOffered(ctx context.Context, st dispatch.Store, t dispatch.Technician, id int64) (dispatch.Job, dispatch.Offer, error) {
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
	err := s.planTx(ctx, func(st dispatch.Store) error {
		t, err := s.technicianFor(ctx, st, a)
		if err != nil {
			return err
		}
		j, o, err := s.lockOffered(ctx, st, t, id)
		if err != nil {
			return err
		}
		now := s.now()
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
		s.metrics().Offer("declined")
	}
	return out, err
}

func (s *Service) setBookingStatus(ctx context.Context, st dispatch.Store, id int64, status dispatch.BookingStatus) error {
	return st.SetBookingStatus(ctx, id, status, s.now())
}

// MaxPartsUsed bounds the parts a visit lists.
const MaxPartsUsed = 100

// Outcomes of an incomplete visit that plan a revisit.
var incompleteOutcomes = []string{"needs_parts", "customer_absent", "needs_second_technician", "no_access", "other"}

// UpdateJobStatus moves the caller's job along en_route → on_site → completed | incomplete.
func (s *Service) UpdateJobStatus(ctx context.Context, a dispatch.Actor, id int64, u dispatch.StatusUpdate) (dispatch.Job, error) {
	switch u.Status {
	case dispatch.JobEnRoute, dispatch.JobOnSite, dispatch.JobCompleted:
	case dispatch.JobIncomplete:
		if !slices.Contains(incompleteOutcomes, u.Outcome) {
			return dispatch.Job{}, dispatch.Invalid("outcome", "invalid_outcome", "an incomplete visit needs an outcome: one of %s", strings.Join(incompleteOutcomes, ", "))
		}
	default:
		return dispatch.Job{}, dispatch.Invalid("status", "invalid_status", "status must be en_route, on_site, completed or incomplete; got %q", u.Status)
	}
	if u.Location != nil {
		if err := dispatch.ValidateLocation("location", *u.Location); err != nil {
			return dispatch.Job{}, err
		}
	}
	if u.ProofOfPurchase != nil && u.Status == dispatch.JobEnRoute {
		return dispatch.Job{}, dispatch.Invalid("proof_of_purchase", "not_on_site", "proof of purchase is confirmed on site: with on_site, completed or incomplete")
	}
	if utf8.RuneCountInString(u.Notes) > 4000 || utf8.RuneCountInString(u.Outcome) > 200 {
		return dispatch.Job{}, dispatch.Invalid("notes", "too_long", "notes are limited to 4000 characters and outcome to 200")
	}
	if len(u.PartsUsed) > MaxPartsUsed {
		return dispatch.Job{}, dispatch.Invalid("parts_used", "too_many_parts", "a visit lists at most %d parts (one entry per sku, with its quantity)", MaxPartsUsed)
	}
	for i, p := range u.PartsUsed {
		if strings.TrimSpace(p.SKU) == "" || p.Quantity <= 0 || p.Quantity > 1000 || utf8.RuneCountInString(p.SKU) > 100 || utf8.RuneCountInString(p.Name) > 200 {
			return dispatch.Job{}, dispatch.Invalid("parts_used", "invalid_part", "parts_used[%d] needs a sku of at most 100 characters, a name of at most 200 and a quantity between 1 and 1000", i)
		}
	}
	var out dispatch.Job
	err := s.planTx(ctx, func(st dispatch.Store) error {
		t, err := s.technicianFor(ctx, st, a)
		if err != nil {
			return err
		}
		j, err := st.LockJob(ctx, id)
		if err != nil {
			return err
		}
		if j.TechnicianID == nil || *j.TechnicianID != t.ID {
			return dispatch.NotFound("job", id)
		}
		if !dispatch.CanMove(j.Status, u.Status) {
			return dispatch.InvalidMove(j, u.Status)
		}
		now := s.now()
		from := j.Status
		j.Status, j.UpdatedAt = u.Status, now
		data := map[string]any{"booking_id": j.BookingID}
		if u.Location != nil {
			data["lat"], data["lng"] = u.Location.Lat, u.Location.Lng
			if err := st.SetTechnicianPosition(ctx, t.ID, *u.Location, now); err != nil {
				return err
			}
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return err
		}
		if err := s.Intake.VisitReported(ctx, st, dispatch.VisitReport{Actor: a, Booking: &b, Job: j, Update: u, At: now}); err != nil {
			return err
		}
		bookingStatus := dispatch.BookingInProgress
		switch u.Status {
		case dispatch.JobEnRoute:
			j.EnRouteAt = &now
		case dispatch.JobOnSite:
			j.OnSiteAt = &now
			if j.Visit == 1 {
				data["sla_met"] = !now.After(b.SLADueAt)
			}
		case dispatch.JobCompleted, dispatch.JobIncomplete:
			j.FinishedAt, j.Outcome, j.Notes, j.PartsUsed = &now, u.Outcome, u.Notes, u.PartsUsed
			bookingStatus = dispatch.BookingCompleted
			if u.Status == dispatch.JobIncomplete {
				bookingStatus = dispatch.BookingOpen
			}
		}
		if out, err = st.UpdateJob(ctx, j); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: id,
			Action: string(u.Status), FromStatus: string(from), ToStatus: string(u.Status), Reason: u.Outcome, Data: data}); err != nil {
			return err
		}
		if err := s.setBookingStatus(ctx, st, b.ID, bookingStatus); err != nil {
			return err
		}
		if err := s.tellCustomerProgress(ctx, st, b, j, t); err != nil {
			return err
		}
		if u.Status == dispatch.JobIncomplete {
			// The revisit: a new visit on the same booking, planned like a new booking.
			next := dispatch.Job{BookingID: b.ID, Visit: j.Visit + 1, Status: dispatch.JobUnassigned, CreatedAt: now, UpdatedAt: now}
			if next, err = st.InsertJob(ctx, next); err != nil {
				return err
			}
			if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: next.ID,
				Action: "revisit_created", ToStatus: string(dispatch.JobUnassigned), Reason: u.Outcome, Data: map[string]any{"booking_id": b.ID, "previous_job_id": id}}); err != nil {
				return err
			}
			return s.Offers.Dispatch(ctx, st, a, b, &next, nil)
		}
		return nil
	})
	return out, err
}

// ---- devices and inbox ----

// RegisterDevice records the caller's FCM token. A token registered before is refreshed for its
// owner; a token active for another person is refused (conflict device_token_taken), since an FCM
// token is one app install: pushes for its owner must not silently go to someone else (nor
// theirs stop). It moves only once its owner removed it or FCM disabled it.
func (s *Service) RegisterDevice(ctx context.Context, a dispatch.Actor, token, platform, appVersion string) (dispatch.Device, error) {
	kind := string(a.Role)
	if a.Role != dispatch.RoleTechnician && a.Role != dispatch.RoleCustomer && a.Role != dispatch.RoleDispatcher {
		return dispatch.Device{}, dispatch.Forbidden("a %s has no devices", a.Role)
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > 4096 {
		return dispatch.Device{}, dispatch.Invalid("token", "invalid_token", "token must be the FCM registration token (1 to 4096 characters)")
	}
	if !slices.Contains([]string{"android", "ios", "web"}, platform) {
		return dispatch.Device{}, dispatch.Invalid("platform", "invalid_platform", "platform must be android, ios or web; got %q", platform)
	}
	if len(appVersion) > 100 {
		return dispatch.Device{}, dispatch.Invalid("app_version", "too_long", "app_version is longer than 100 characters")
	}
	if a.Role == dispatch.RoleTechnician {
		if _, err := s.technicianFor(ctx, s.Store, a); err != nil {
			return dispatch.Device{}, err
		}
	}
	now := s.now()
	return s.Store.UpsertDevice(ctx, dispatch.Device{OwnerKind: kind, OwnerSubject: a.Subject, Token: token, Platform: platform,
		AppVersion: appVersion, Active: true, CreatedAt: now, LastSeenAt: now})
}

// RemoveDevice forgets one of the caller's tokens.
func (s *Service) RemoveDevice(ctx context.Context, a dispatch.Actor, token string) error {
	return s.Store.DeleteDevice(ctx, string(a.Role), a.Subject, token)
}

// Inbox lists the caller's notifications, newest first.
func (s *Service) Inbox(ctx context.Context, a dispatch.Actor, page dispatch.Page) ([]dispatch.Notification, error) {
	if a.Role == dispatch.RoleTechnician {
		if _, err := s.technicianFor(ctx, s.Store, a); err != nil {
			return nil, err
		}
	}
	return s.Store.ListNotifications(ctx, string(a.Role), a.Subject, page.Norm())
}

// AgendaItem is one visit on a technician's agenda.
type AgendaItem struct {
	Job     dispatch.Job
	Booking dispatch.Booking
	ETA     *time.Time
}

// Agenda lists the caller's live jobs in visit order, each with an ETA.
func (s *Service) Agenda(ctx context.Context, a dispatch.Actor) ([]AgendaItem, error) {
	t, err := s.technicianFor(ctx, s.Store, a)
	if err != nil {
		return nil, err
	}
	now := s.now()
	jobs, err := s.Store.TechnicianJobs(ctx, t.ID, now.Add(-24*time.Hour), now.Add(14*24*time.Hour))
	if err != nil {
		return nil, err
	}
	out := make([]AgendaItem, 0, len(jobs))
	pos, at := s.Planner.StartPosition(t, now), now
	for _, j := range jobs {
		b, err := s.Store.GetBooking(ctx, j.BookingID)
		if err != nil {
			return nil, err
		}
		item := AgendaItem{Job: j, Booking: b}
		if j.PlannedStart != nil && j.Status != dispatch.JobOnSite {
			eta := at.Add(s.Planner.TravelTime(pos, b.Location, at))
			if eta.Before(*j.PlannedStart) {
				eta = *j.PlannedStart
			}
			item.ETA = &eta
			at = eta.Add(b.Duration)
		} else if j.Status == dispatch.JobOnSite {
			at = now.Add(b.Duration)
			if j.OnSiteAt != nil {
				at = j.OnSiteAt.Add(b.Duration)
			}
		}
		pos = b.Location
		out = append(out, item)
	}
	return out, nil
}

// ETA is when the technician should arrive for the booking's current visit: the planned start,
// or later when the technician is on the way and the travel from their position says so.
func (s *Service) ETA(ctx context.Context, b dispatch.Booking) *time.Time {
	j := b.CurrentJob()
	if j == nil || j.TechnicianID == nil || j.PlannedStart == nil {
		return nil
	}
	switch j.Status {
	case dispatch.JobOffered, dispatch.JobAccepted, dispatch.JobUnassigned:
		return j.PlannedStart
	case dispatch.JobEnRoute:
		t, err := s.Store.GetTechnician(ctx, *j.TechnicianID)
		if err != nil {
			return j.PlannedStart
		}
		now := s.now()
		eta := now.Add(s.Planner.TravelTime(s.Planner.StartPosition(t, now), b.Location, now)).Truncate(time.Minute)
		if j.PlannedStart.After(eta) {
			eta = *j.PlannedStart
		}
		return &eta
	}
	return nil
}

// arrivalWindow describes the two hours from start in the customer's business time zone.
func arrivalWindow(start time.Time, loc *time.Location) string {
	st := start.In(loc)
	return fmt.Sprintf("%s between %s and %s", st.Format("Mon 2 Jan"), st.Format("15:04"), st.Add(dispatch.ArrivalWindow).Format("15:04"))
}

// tellCustomerProgress tells the customer the technician is on the way (with ETA), has arrived,
// or has finished.
func (s *Service) tellCustomerProgress(ctx context.Context, st dispatch.Store, b dispatch.Booking, j dispatch.Job, t dispatch.Technician) error {
	first, _, _ := strings.Cut(t.Name, " ")
	switch j.Status {
	case dispatch.JobEnRoute:
		now := s.now()
		eta := now.Add(s.Planner.TravelTime(s.Planner.StartPosition(t, now), b.Location, now)).Truncate(time.Minute)
		return s.Env.TellCustomer(ctx, st, b, j, "on_the_way", first+" is on the way",
			fmt.Sprintf("Expected at %s.", eta.In(s.Rules.Zone()).Format("15:04")), map[string]any{"eta": eta.Format(time.RFC3339), "technician_first_name": first})
	case dispatch.JobOnSite:
		return s.Env.TellCustomer(ctx, st, b, j, "arrived", first+" has arrived", "Your technician is at the door.", nil)
	case dispatch.JobCompleted:
		return s.Env.TellCustomer(ctx, st, b, j, "completed", "Visit completed", fmt.Sprintf("%s finished the %s %s.", first, b.Appliance, b.ServiceType), nil)
	case dispatch.JobIncomplete:
		return s.Env.TellCustomer(ctx, st, b, j, "change", "Another visit is needed", "We are planning a second visit: "+j.Outcome+".", nil)
	}
	return nil
}

// DisableStaleDevices turns off tokens not seen for maxAge (FCM drops them after ~270 days; 30 is ours).
func (s *Service) DisableStaleDevices(ctx context.Context, maxAge time.Duration) (int64, error) {
	return s.Store.DisableStaleDevices(ctx, s.now().Add(-maxAge))
}
