package services

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// SubmitFeedback records the customer's rating, once, after the booking is completed.
func (s *Service) SubmitFeedback(ctx context.Context, a dispatch.Actor, bookingID int64, csat, nps int, comment string) (dispatch.Feedback, error) {
	if a.Role != dispatch.RoleCustomer {
		return dispatch.Feedback{}, dispatch.Forbidden("only the booking's customer gives feedback")
	}
	if csat < 1 || csat > 5 {
		return dispatch.Feedback{}, dispatch.Invalid("csat", "out_of_range", "csat must be between 1 and 5")
	}
	if nps < 0 || nps > 10 {
		return dispatch.Feedback{}, dispatch.Invalid("nps", "out_of_range", "nps must be between 0 and 10")
	}
	if utf8.RuneCountInString(comment) > 4000 {
		return dispatch.Feedback{}, dispatch.Invalid("comment", "too_long", "comment is longer than 4000 characters")
	}
	var out dispatch.Feedback
	err := s.Store.Tx(ctx, func(st dispatch.Store) error {
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
		f, inserted, err := st.AddFeedback(ctx, dispatch.Feedback{BookingID: b.ID, CustomerID: b.CustomerID, CSAT: csat, NPS: nps,
			Comment: strings.TrimSpace(comment), CreatedAt: s.now()})
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

// FileComplaint records a complaint against a booking (its customer, or staff on their behalf).
func (s *Service) FileComplaint(ctx context.Context, a dispatch.Actor, bookingID int64, category, description string) (dispatch.Complaint, error) {
	if a.Role != dispatch.RoleCustomer && !a.Staff() {
		return dispatch.Complaint{}, dispatch.Forbidden("a %s cannot file complaints", a.Role)
	}
	if !slices.Contains(dispatch.ComplaintCategories, category) {
		return dispatch.Complaint{}, dispatch.Invalid("category", "invalid_category", "category must be one of %s", strings.Join(dispatch.ComplaintCategories, ", "))
	}
	description = strings.TrimSpace(description)
	if description == "" || utf8.RuneCountInString(description) > 4000 {
		return dispatch.Complaint{}, dispatch.Invalid("description", "invalid_description", "description must say what went wrong (at most 4000 characters)")
	}
	var out dispatch.Complaint
	err := s.Store.Tx(ctx, func(st dispatch.Store) error {
		// Another customer's booking answers as a missing one does: which ids exist is not told.
		b, err := st.GetBooking(ctx, bookingID)
		if err != nil {
			return err
		}
		if a.Role == dispatch.RoleCustomer && b.CustomerSubject != a.Subject {
			return dispatch.NotFound("booking", bookingID)
		}
		// The technician who made the last visit that happened; none when nobody came (a
		// technician only planned is not answerable for it).
		var tech *int64
		for _, j := range b.Jobs {
			if j.OnSiteAt != nil && j.TechnicianID != nil {
				tech = j.TechnicianID
			}
		}
		out, err = st.CreateComplaint(ctx, dispatch.Complaint{BookingID: b.ID, CustomerID: b.CustomerID, TechnicianID: tech, Category: category,
			Description: description, Status: "open", CreatedAt: s.now()})
		if err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: out.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "complaint", EntityID: out.ID,
			Action: "filed", ToStatus: "open", Data: map[string]any{"booking_id": b.ID, "category": category}})
	})
	return out, err
}

// ListComplaints lists the caller's complaints (customer) or all (staff).
func (s *Service) ListComplaints(ctx context.Context, a dispatch.Actor, status string, page dispatch.Page) ([]dispatch.Complaint, error) {
	var cid *int64
	switch {
	case a.Role == dispatch.RoleCustomer:
		c, err := s.Store.EnsureCustomer(ctx, a.Subject)
		if err != nil {
			return nil, err
		}
		cid = &c.ID
	case a.Staff():
	default:
		return nil, dispatch.Forbidden("a %s cannot list complaints", a.Role)
	}
	if status != "" && !slices.Contains([]string{"open", "acknowledged", "resolved"}, status) {
		return nil, dispatch.Invalid("status", "invalid_status", "status must be open, acknowledged or resolved")
	}
	return s.Store.ListComplaints(ctx, cid, status, normPage(page))
}

// UpdateComplaint moves a complaint open → acknowledged → resolved (staff); resolving needs a note.
func (s *Service) UpdateComplaint(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, status, resolution string) (dispatch.Complaint, error) {
	if !a.Staff() {
		return dispatch.Complaint{}, dispatch.Forbidden("only staff handle complaints")
	}
	resolution = strings.TrimSpace(resolution)
	if utf8.RuneCountInString(resolution) > 4000 {
		return dispatch.Complaint{}, dispatch.Invalid("resolution", "too_long", "resolution is longer than 4000 characters")
	}
	var out dispatch.Complaint
	err := s.Store.Tx(ctx, func(st dispatch.Store) error {
		c, err := st.LockComplaint(ctx, id)
		if err != nil {
			return err
		}
		if err := checkVersion("complaint", id, c.Version, ifVersion); err != nil {
			return err
		}
		now, from := s.now(), c.Status
		switch {
		case c.Status == "open" && status == "acknowledged":
			c.AcknowledgedAt = &now
		case c.Status == "acknowledged" && status == "resolved":
			if resolution == "" {
				return dispatch.Invalid("resolution", "missing_field", "resolving a complaint needs a resolution note")
			}
			c.ResolvedAt, c.Resolution = &now, resolution
		default:
			return dispatch.Conflict("invalid_transition", "complaint %d cannot go from %s to %q (open → acknowledged → resolved)", id, c.Status, status)
		}
		c.Status = status
		if out, err = st.SaveComplaint(ctx, c); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "complaint", EntityID: id,
			Action: status, FromStatus: from, ToStatus: status, Reason: resolution})
	})
	return out, err
}

// SetExtendedWarranty records an extended warranty bought for a product, from the shop's records:
// staff only. A customer's word alone does not decide a tier.
func (s *Service) SetExtendedWarranty(ctx context.Context, a dispatch.Actor, purchaseID int64, from, until dispatch.Date) (dispatch.Purchase, error) {
	if !a.Staff() {
		return dispatch.Purchase{}, dispatch.Forbidden("an extended warranty is registered by the shop (a dispatcher or an admin), not by a %s", a.Role)
	}
	if until.IsZero() || until.Before(from) {
		return dispatch.Purchase{}, dispatch.Invalid("until", "invalid_window", "until must be on or after from")
	}
	var out dispatch.Purchase
	err := s.Store.Tx(ctx, func(st dispatch.Store) error {
		p, err := st.GetPurchase(ctx, purchaseID)
		if err != nil {
			return err
		}
		if err := checkExtendedUntil("until", p.PurchasedAt, until); err != nil {
			return err
		}
		if from.IsZero() {
			from = dispatch.WarrantyEnd(p).AddDays(1)
		}
		if from.Before(p.PurchasedAt) {
			return dispatch.Invalid("from", "invalid_date", "an extended warranty cannot start before the purchase (%s)", p.PurchasedAt)
		}
		if out, err = st.SetExtendedWarranty(ctx, p.ID, from, until); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: s.now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "purchase", EntityID: p.ID,
			Action: "extended_warranty", Data: map[string]any{"from": from.String(), "until": until.String()}})
	})
	return out, err
}

// maxWarrantyMonths bounds a warranty, extended or not, from the purchase date (20 years).
const maxWarrantyMonths = 240

// checkExtendedUntil refuses an extended warranty that ends before the purchase or more than 20
// years after it.
func checkExtendedUntil(field string, purchased, until dispatch.Date) error {
	if until.Before(purchased) {
		return dispatch.Invalid(field, "invalid_date", "an extended warranty cannot end before the purchase (%s)", purchased)
	}
	if purchased.AddMonths(maxWarrantyMonths).Before(until) {
		return dispatch.Invalid(field, "out_of_range", "an extended warranty ends at most %d years after the purchase (%s)", maxWarrantyMonths/12, purchased)
	}
	return nil
}

// KPIs computes the §2 figures for bookings created in [from, to), grouped by tier, region or
// technician (the one who made the last visit), or for everything ("").
func (s *Service) KPIs(ctx context.Context, a dispatch.Actor, from, to time.Time, groupBy string) ([]dispatch.KPIRow, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only staff read KPIs")
	}
	if !slices.Contains([]string{"", "tier", "region", "technician"}, groupBy) {
		return nil, dispatch.Invalid("group_by", "invalid_group_by", "group_by must be tier, region or technician")
	}
	if !to.After(from) {
		return nil, dispatch.Invalid("to", "invalid_window", "to must be after from")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return nil, dispatch.Invalid("to", "window_too_long", "a KPI period is at most 366 days")
	}
	rows, err := s.Store.KPIs(ctx, from, to, groupBy, s.now())
	if err != nil {
		return nil, err
	}
	util, err := s.Store.Utilisation(ctx, from, to)
	if err != nil {
		return nil, err
	}
	ratio := func(onsite, shift float64) *float64 {
		if shift <= 0 {
			return nil
		}
		v := onsite / shift
		return &v
	}
	var onsite, shift float64
	for _, u := range util {
		onsite += u[0]
		shift += u[1]
	}
	for i := range rows {
		if groupBy == "technician" {
			id, err := strconv.ParseInt(rows[i].Group, 10, 64)
			if u, ok := util[id]; err == nil && ok {
				rows[i].Utilisation = ratio(u[0], u[1])
			}
			continue
		}
		rows[i].Utilisation = ratio(onsite, shift) // a fleet figure: time on site is not split by tier or region
	}
	return rows, nil
}

// OverdueComplaints are complaints still open past the acknowledgement time.
func (s *Service) OverdueComplaints(ctx context.Context) ([]dispatch.Complaint, error) {
	return s.Store.UnacknowledgedComplaints(ctx, s.now().Add(-dispatch.ComplaintAckWithin))
}
