package dispatch

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Feedback is a customer's rating of a completed booking.
type Feedback struct {
	BookingID  int64
	CustomerID int64
	CSAT       int // 1–5
	NPS        int // 0–10
	Comment    string
	CreatedAt  time.Time
}

// Complaint is recorded against a booking and tracked to resolution.
type Complaint struct {
	ID             int64
	BookingID      int64
	CustomerID     int64
	TechnicianID   *int64
	Category       string
	Description    string
	Status         string // open, acknowledged, resolved
	Resolution     string
	CreatedAt      time.Time
	AcknowledgedAt *time.Time
	ResolvedAt     *time.Time
	Version        int
}

// ComplaintCategories are what a complaint can be about.
var ComplaintCategories = []string{"technician_behaviour", "quality", "lateness", "no_show", "damage", "billing", "other"}

// ComplaintAckWithin is how soon a complaint must be acknowledged before it shows on the board.
const ComplaintAckWithin = 24 * time.Hour

// KPIRow holds the after-sales figures for one group. A nil figure had nothing to measure.
type KPIRow struct {
	Group                                                                                string
	Bookings, Cancelled, SLAMet, SLAMissed, SLADeferred, Completed, Feedback, Complaints int64
	SLACompliance, FirstTimeFixRate, CSATAvg, NPS, ComplaintRate, Utilisation            *float64
	ResponseP50, ResponseP90, ResolutionAvg, HandlingAvg                                 *float64 // seconds
}

// Nullable turns the store's NaN ("nothing to measure") into nil.
func Nullable(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// SubmitFeedback records the customer's rating, once, after the booking is completed.
func (s *Service) SubmitFeedback(ctx context.Context, a Actor, bookingID int64, csat, nps int, comment string) (Feedback, error) {
	if a.Role != RoleCustomer {
		return Feedback{}, Forbidden("only the booking's customer gives feedback")
	}
	if csat < 1 || csat > 5 {
		return Feedback{}, Invalid("csat", "out_of_range", "csat must be between 1 and 5")
	}
	if nps < 0 || nps > 10 {
		return Feedback{}, Invalid("nps", "out_of_range", "nps must be between 0 and 10")
	}
	if utf8.RuneCountInString(comment) > 4000 {
		return Feedback{}, Invalid("comment", "too_long", "comment is longer than 4000 characters")
	}
	var out Feedback
	err := s.Store.Tx(ctx, func(st Store) error {
		b, err := st.GetBooking(ctx, bookingID)
		if err != nil {
			return err
		}
		if b.CustomerSubject != a.Subject {
			return NotFound("booking", bookingID)
		}
		if b.Status != BookingCompleted {
			return Conflict("not_completed", "feedback opens when the visit is completed; booking %d is %s", bookingID, b.Status)
		}
		f, inserted, err := st.AddFeedback(ctx, Feedback{BookingID: b.ID, CustomerID: b.CustomerID, CSAT: csat, NPS: nps,
			Comment: strings.TrimSpace(comment), CreatedAt: s.now()})
		if err != nil {
			return err
		}
		if !inserted {
			return Conflict("feedback_exists", "booking %d already has feedback", bookingID)
		}
		out = f
		return st.AddAudit(ctx, AuditEvent{At: f.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "booking", EntityID: b.ID,
			Action: "feedback", Data: map[string]any{"csat": csat, "nps": nps}})
	})
	return out, err
}

// FileComplaint records a complaint against a booking (its customer, or staff on their behalf).
func (s *Service) FileComplaint(ctx context.Context, a Actor, bookingID int64, category, description string) (Complaint, error) {
	if a.Role != RoleCustomer && !a.Staff() {
		return Complaint{}, Forbidden("a %s cannot file complaints", a.Role)
	}
	if !slices.Contains(ComplaintCategories, category) {
		return Complaint{}, Invalid("category", "invalid_category", "category must be one of %s", strings.Join(ComplaintCategories, ", "))
	}
	description = strings.TrimSpace(description)
	if description == "" || utf8.RuneCountInString(description) > 4000 {
		return Complaint{}, Invalid("description", "invalid_description", "description must say what went wrong (at most 4000 characters)")
	}
	var out Complaint
	err := s.Store.Tx(ctx, func(st Store) error {
		// Another customer's booking answers as a missing one does: which ids exist is not told.
		b, err := st.GetBooking(ctx, bookingID)
		if err != nil {
			return err
		}
		if a.Role == RoleCustomer && b.CustomerSubject != a.Subject {
			return NotFound("booking", bookingID)
		}
		// The technician who made the last visit that happened; none when nobody came (a
		// technician only planned is not answerable for it).
		var tech *int64
		for _, j := range b.Jobs {
			if j.OnSiteAt != nil && j.TechnicianID != nil {
				tech = j.TechnicianID
			}
		}
		out, err = st.CreateComplaint(ctx, Complaint{BookingID: b.ID, CustomerID: b.CustomerID, TechnicianID: tech, Category: category,
			Description: description, Status: "open", CreatedAt: s.now()})
		if err != nil {
			return err
		}
		return st.AddAudit(ctx, AuditEvent{At: out.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "complaint", EntityID: out.ID,
			Action: "filed", ToStatus: "open", Data: map[string]any{"booking_id": b.ID, "category": category}})
	})
	return out, err
}

// ListComplaints lists the caller's complaints (customer) or all (staff).
func (s *Service) ListComplaints(ctx context.Context, a Actor, status string, page Page) ([]Complaint, error) {
	var cid *int64
	switch {
	case a.Role == RoleCustomer:
		c, err := s.Store.EnsureCustomer(ctx, a.Subject)
		if err != nil {
			return nil, err
		}
		cid = &c.ID
	case a.Staff():
	default:
		return nil, Forbidden("a %s cannot list complaints", a.Role)
	}
	if status != "" && !slices.Contains([]string{"open", "acknowledged", "resolved"}, status) {
		return nil, Invalid("status", "invalid_status", "status must be open, acknowledged or resolved")
	}
	return s.Store.ListComplaints(ctx, cid, status, normPage(page))
}

// UpdateComplaint moves a complaint open → acknowledged → resolved (staff); resolving needs a note.
func (s *Service) UpdateComplaint(ctx context.Context, a Actor, id int64, ifVersion int, status, resolution string) (Complaint, error) {
	if !a.Staff() {
		return Complaint{}, Forbidden("only staff handle complaints")
	}
	resolution = strings.TrimSpace(resolution)
	if utf8.RuneCountInString(resolution) > 4000 {
		return Complaint{}, Invalid("resolution", "too_long", "resolution is longer than 4000 characters")
	}
	var out Complaint
	err := s.Store.Tx(ctx, func(st Store) error {
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
				return Invalid("resolution", "missing_field", "resolving a complaint needs a resolution note")
			}
			c.ResolvedAt, c.Resolution = &now, resolution
		default:
			return Conflict("invalid_transition", "complaint %d cannot go from %s to %q (open → acknowledged → resolved)", id, c.Status, status)
		}
		c.Status = status
		if out, err = st.SaveComplaint(ctx, c); err != nil {
			return err
		}
		return st.AddAudit(ctx, AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "complaint", EntityID: id,
			Action: status, FromStatus: from, ToStatus: status, Reason: resolution})
	})
	return out, err
}

// SetExtendedWarranty records an extended warranty bought for a product, from the shop's records:
// staff only. A customer's word alone does not decide a tier.
func (s *Service) SetExtendedWarranty(ctx context.Context, a Actor, purchaseID int64, from, until Date) (Purchase, error) {
	if !a.Staff() {
		return Purchase{}, Forbidden("an extended warranty is registered by the shop (a dispatcher or an admin), not by a %s", a.Role)
	}
	if until.IsZero() || until.Before(from) {
		return Purchase{}, Invalid("until", "invalid_window", "until must be on or after from")
	}
	var out Purchase
	err := s.Store.Tx(ctx, func(st Store) error {
		p, err := st.GetPurchase(ctx, purchaseID)
		if err != nil {
			return err
		}
		if err := checkExtendedUntil("until", p.PurchasedAt, until); err != nil {
			return err
		}
		if from.IsZero() {
			from = WarrantyEnd(p).AddDays(1)
		}
		if from.Before(p.PurchasedAt) {
			return Invalid("from", "invalid_date", "an extended warranty cannot start before the purchase (%s)", p.PurchasedAt)
		}
		if out, err = st.SetExtendedWarranty(ctx, p.ID, from, until); err != nil {
			return err
		}
		return st.AddAudit(ctx, AuditEvent{At: s.now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "purchase", EntityID: p.ID,
			Action: "extended_warranty", Data: map[string]any{"from": from.String(), "until": until.String()}})
	})
	return out, err
}

// maxWarrantyMonths bounds a warranty, extended or not, from the purchase date (20 years).
const maxWarrantyMonths = 240

// checkExtendedUntil refuses an extended warranty that ends before the purchase or more than 20
// years after it.
func checkExtendedUntil(field string, purchased, until Date) error {
	if until.Before(purchased) {
		return Invalid(field, "invalid_date", "an extended warranty cannot end before the purchase (%s)", purchased)
	}
	if purchased.AddMonths(maxWarrantyMonths).Before(until) {
		return Invalid(field, "out_of_range", "an extended warranty ends at most %d years after the purchase (%s)", maxWarrantyMonths/12, purchased)
	}
	return nil
}

// KPIs computes the §2 figures for bookings created in [from, to), grouped by tier, region or
// technician (the one who made the last visit), or for everything ("").
func (s *Service) KPIs(ctx context.Context, a Actor, from, to time.Time, groupBy string) ([]KPIRow, error) {
	if !a.Staff() {
		return nil, Forbidden("only staff read KPIs")
	}
	if !slices.Contains([]string{"", "tier", "region", "technician"}, groupBy) {
		return nil, Invalid("group_by", "invalid_group_by", "group_by must be tier, region or technician")
	}
	if !to.After(from) {
		return nil, Invalid("to", "invalid_window", "to must be after from")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return nil, Invalid("to", "window_too_long", "a KPI period is at most 366 days")
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
func (s *Service) OverdueComplaints(ctx context.Context) ([]Complaint, error) {
	return s.Store.UnacknowledgedComplaints(ctx, s.now().Add(-ComplaintAckWithin))
}
