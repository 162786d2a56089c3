package lifecycle

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// MaxPartsUsed bounds the parts a visit lists.
const MaxPartsUsed = 100

// Outcomes of an incomplete visit that plan a revisit.
var incompleteOutcomes = []string{"needs_parts", "needs_part", "customer_absent", "needs_second_technician", "no_access", "other"}

// NeedsPart is the outcome of a visit that lacked a part it names (needed_parts): the return
// visit waits for the part requests it opens.
const NeedsPart = "needs_part"

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
	if (u.Outcome == NeedsPart) != (len(u.NeededParts) > 0) || (len(u.NeededParts) > 0 && u.Status != dispatch.JobIncomplete) {
		return dispatch.Job{}, dispatch.Invalid("needed_parts", "invalid_needed_parts", "an incomplete visit with outcome needs_part names the parts it lacked (needed_parts: sku, quantity), and only it does")
	}
	if len(u.NeededParts) > MaxPartsUsed {
		return dispatch.Job{}, dispatch.Invalid("needed_parts", "too_many_parts", "a visit lacks at most %d parts", MaxPartsUsed)
	}
	for i, p := range u.NeededParts {
		if strings.TrimSpace(p.SKU) == "" || p.Quantity <= 0 || p.Quantity > 1000 || utf8.RuneCountInString(p.SKU) > 100 {
			return dispatch.Job{}, dispatch.Invalid("needed_parts", "invalid_part", "needed_parts[%d] needs a sku of at most 100 characters and a quantity between 1 and 1000", i)
		}
	}
	if len(u.PartsUsed) > MaxPartsUsed {
		return dispatch.Job{}, dispatch.Invalid("parts_used", "too_many_parts", "a visit lists at most %d parts (one entry per sku, with its quantity)", MaxPartsUsed)
	}
	for i, p := range u.PartsUsed {
		if strings.TrimSpace(p.SKU) == "" || p.Quantity <= 0 || p.Quantity > 1000 || utf8.RuneCountInString(p.SKU) > 100 || utf8.RuneCountInString(p.Name) > 200 ||
			utf8.RuneCountInString(p.Serial) > 100 {
			return dispatch.Job{}, dispatch.Invalid("parts_used", "invalid_part", "parts_used[%d] needs a sku of at most 100 characters, a name of at most 200, a quantity between 1 and 1000 and a serial of at most 100", i)
		}
	}
	var out dispatch.Job
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
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
		now := s.Now()
		from := j.Status
		j.Status, j.UpdatedAt = u.Status, now
		data := map[string]any{"booking_id": j.BookingID}
		if u.Location != nil {
			data["lat"], data["lng"] = u.Location.Lat, u.Location.Lng
			if err := st.SetTechnicianPosition(ctx, t.ID, *u.Location, now); err != nil {
				return err
			}
			t.LastPosition, t.LastSeenAt = u.Location, &now // the push's ETA starts from here too
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return err
		}
		for _, h := range s.Hooks {
			if err := h.VisitReported(ctx, st, dispatch.VisitReport{Actor: a, Booking: &b, Job: j, Update: u, At: now}); err != nil {
				return err
			}
		}
		bookingStatus := dispatch.BookingInProgress
		happened := now // when the step happened: the phone's time of a report made offline
		if u.DeviceAt != nil {
			happened = *u.DeviceAt
			data["device_at"] = happened
		}
		switch u.Status {
		case dispatch.JobEnRoute:
			j.EnRouteAt, j.EnRouteDeviceAt = &now, u.DeviceAt
		case dispatch.JobOnSite:
			j.OnSiteAt, j.OnSiteDeviceAt = &now, u.DeviceAt
			if j.Visit == 1 {
				data["sla_met"] = !happened.After(b.SLADueAt)
			}
		case dispatch.JobCompleted, dispatch.JobIncomplete:
			j.FinishedAt, j.FinishedDeviceAt, j.Outcome, j.Notes, j.PartsUsed = &now, u.DeviceAt, u.Outcome, u.Notes, u.PartsUsed
			data["outcome"], data["notes"], data["parts_used"] = u.Outcome, u.Notes, u.PartsUsed // the trail keeps what was reported
			if u.PartsUsed == nil {
				data["parts_used"] = []dispatch.Part{}
			}
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
		if err := st.SetBookingStatus(ctx, b.ID, bookingStatus, s.Now()); err != nil {
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
			report := dispatch.VisitReport{Actor: a, Booking: &b, Job: j, Update: u, At: now}
			for _, h := range s.Hooks {
				if rh, ok := h.(RevisitHook); ok {
					if err := rh.RevisitCreated(ctx, st, report, &next); err != nil {
						return err
					}
				}
			}
			if err := s.Offers.Dispatch(ctx, st, a, b, &next, nil); err != nil {
				return err
			}
			for _, h := range s.Hooks {
				if rh, ok := h.(RevisitHook); ok {
					if err := rh.RevisitPlanned(ctx, st, report, next); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	return out, err
}
