package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/geo"
)

// validate checks fields that need no database.
func (s *Service) validate(r *BookingRequest, now time.Time) error {
	if r.ServiceType == "" {
		r.ServiceType = dispatch.ServiceRepair
	}
	if !dispatch.ValidServiceType(r.ServiceType) {
		return dispatch.Invalid("service_type", "invalid_service_type", "service_type must be one of repair, installation, maintenance, return_pickup; got %q", r.ServiceType)
	}
	if _, err := dispatch.RequiredSkills(r.Appliance, r.ServiceType); err != nil {
		return err
	}
	r.Problem = strings.TrimSpace(r.Problem)
	if r.Problem == "" {
		return dispatch.Invalid("problem", "empty_problem", "problem must describe what is wrong")
	}
	if utf8.RuneCountInString(r.Problem) > s.Rules.MaxProblemLength {
		return dispatch.Invalid("problem", "too_long", "problem is longer than %d characters", s.Rules.MaxProblemLength)
	}
	r.ContactName, r.ContactPhone = strings.TrimSpace(r.ContactName), strings.TrimSpace(r.ContactPhone)
	if utf8.RuneCountInString(r.ContactName) > 200 {
		return dispatch.Invalid("contact_name", "too_long", "contact_name is longer than 200 characters")
	}
	if !validPhone(r.ContactPhone) {
		return dispatch.Invalid("contact_phone", "invalid_phone", "contact_phone must be a phone number: digits, spaces, + . - ( ), 6 to 20 digits")
	}
	if strings.TrimSpace(r.Address) == "" {
		return dispatch.Invalid("address", "missing_field", "address is required")
	}
	if utf8.RuneCountInString(r.Address) > 500 {
		return dispatch.Invalid("address", "too_long", "address is longer than 500 characters")
	}
	if err := dispatch.ValidateLocation("location", r.Location); err != nil {
		return err
	}
	if r.Channel == "" {
		r.Channel = "app"
	}
	if !dispatch.ValidChannel(r.Channel) {
		return dispatch.Invalid("channel", "invalid_channel", "channel must be one of app, web, phone, chat, social; got %q", r.Channel)
	}
	switch {
	case r.ServiceType != dispatch.ServiceReturnPickup && r.ReturnKind != "":
		return dispatch.Invalid("return_kind", "invalid_return_kind", "return_kind applies only to return_pickup")
	case r.ServiceType == dispatch.ServiceReturnPickup && r.ReturnKind == "":
		r.ReturnKind = dispatch.ReturnUnconditional
	case r.ServiceType == dispatch.ServiceReturnPickup && r.ReturnKind != dispatch.ReturnUnconditional && r.ReturnKind != dispatch.ReturnExchange:
		return dispatch.Invalid("return_kind", "invalid_return_kind", "return_kind must be return or exchange; got %q", r.ReturnKind)
	}
	return s.validateWindows(r.PreferredWindows, now)
}

func (s *Service) validateWindows(ws []dispatch.Window, now time.Time) error {
	if len(ws) > 20 {
		return dispatch.Invalid("preferred_windows", "too_many_windows", "at most 20 preferred windows")
	}
	for i, w := range ws {
		switch {
		case w.Start.IsZero() || w.End.IsZero():
			return dispatch.Invalid("preferred_windows", "invalid_window", "preferred_windows[%d] needs start and end", i)
		case !w.End.After(w.Start):
			return dispatch.Invalid("preferred_windows", "invalid_window", "preferred_windows[%d] ends before it starts (%s)", i, describeWindow(w))
		case !w.Start.Equal(w.Start.Truncate(time.Second)) || !w.End.Equal(w.End.Truncate(time.Second)):
			return dispatch.Invalid("preferred_windows", "window_not_whole_seconds", "preferred_windows[%d] must start and end on whole seconds (%s)", i, describeWindow(w))
		case w.End.Sub(w.Start) < s.Rules.MinWindowLength:
			return dispatch.Invalid("preferred_windows", "window_too_short", "preferred_windows[%d] is shorter than %d minutes (%s)", i, int(s.Rules.MinWindowLength.Minutes()), describeWindow(w))
		case !w.End.After(now):
			return dispatch.Invalid("preferred_windows", "window_in_past", "preferred_windows[%d] lies in the past (%s)", i, describeWindow(w))
		case w.Start.After(now.Add(s.Rules.MaxWindowsAhead)):
			return dispatch.Invalid("preferred_windows", "window_too_far", "preferred_windows[%d] starts more than %d days ahead", i, int(s.Rules.MaxWindowsAhead.Hours()/24))
		}
	}
	return nil
}

func describeWindow(w dispatch.Window) string {
	return fmt.Sprintf("%s–%s", w.Start.Format(time.RFC3339Nano), w.End.Format(time.RFC3339Nano))
}

// draftBooking applies the after-sales rules to a request: the customer record, the purchase
// (ownership, appliance, return windows), the tier and its due time, skills and duration.
func (s *Service) draftBooking(ctx context.Context, st Store, a dispatch.Actor, subject string, r BookingRequest, now time.Time) (dispatch.Booking, error) {
	customerID, known := s.customers.get(subject)
	if !known {
		c, err := st.EnsureCustomer(ctx, subject)
		if err != nil {
			return dispatch.Booking{}, err
		}
		customerID = c.ID
		s.customers.put(subject, customerID)
	}
	var purchase *dispatch.Purchase
	if r.PurchaseID != nil {
		p, err := st.GetPurchase(ctx, *r.PurchaseID)
		if errors.Is(err, dispatch.ErrNotFound) || (err == nil && p.CustomerID != customerID) {
			return dispatch.Booking{}, dispatch.Unprocessable("unknown_purchase", "purchase %d is not one of this customer's products", *r.PurchaseID)
		} else if err != nil {
			return dispatch.Booking{}, err
		}
		if p.Category != r.Appliance {
			return dispatch.Booking{}, dispatch.Unprocessable("purchase_mismatch", "purchase %d is a %s, not a %s", p.ID, p.Category, r.Appliance)
		}
		purchase = &p
	}
	if r.ServiceType == dispatch.ServiceReturnPickup {
		if err := s.Rules.CheckReturn(purchase, r.ReturnKind, now); err != nil {
			return dispatch.Booking{}, err
		}
	}
	skills, _ := dispatch.RequiredSkills(r.Appliance, r.ServiceType)
	tier := s.Rules.TierFor(purchase, now)
	if r.ServiceType == dispatch.ServiceReturnPickup {
		tier = dispatch.TierWarranty // an accepted return is the seller's obligation: free, warranty clock
	}
	var verified *bool // no warranty claimed
	if tier == dispatch.TierWarranty && purchase != nil {
		verified = new(purchase.Verified) // the customer's own record: provisional until the proof is seen
	}
	region := ""
	if cell, err := geo.RegionOf(planning.Point(r.Location)); err == nil {
		region = cell.String()
	}
	windows := r.PreferredWindows
	if windows == nil {
		windows = []dispatch.Window{}
	}
	return dispatch.Booking{
		CustomerID: customerID, CustomerSubject: subject, PurchaseID: r.PurchaseID,
		ServiceType: r.ServiceType, Appliance: r.Appliance, Problem: r.Problem, Address: r.Address,
		ContactName: r.ContactName, ContactPhone: r.ContactPhone,
		Location: r.Location, Channel: r.Channel, ReturnKind: r.ReturnKind,
		Tier: tier, Status: dispatch.BookingOpen, SLADueAt: s.Rules.SLADueAt(tier, now),
		RequiredSkills: skills, Duration: dispatch.ExpectedDuration(r.Appliance, r.ServiceType),
		PreferredWindows: windows, Version: 1, CreatedAt: now, UpdatedAt: now, Region: region,
		CustomerDeferred: deferredByCustomer(windows, s.Rules.SLADueAt(tier, now)), WarrantyVerified: verified,
		Jobs: []dispatch.Job{{Visit: 1, Status: dispatch.JobUnassigned, Version: 1, CreatedAt: now, UpdatedAt: now}},
	}, nil
}

// deferredByCustomer: every chosen window starts after the due time, so the visit will be late
// by the customer's choice, not ours.
func deferredByCustomer(ws []dispatch.Window, due time.Time) bool {
	if len(ws) == 0 {
		return false
	}
	for _, w := range ws {
		if !w.Start.After(due) {
			return false
		}
	}
	return true
}

// validPhone: empty (not given), or 6 to 20 digits with the separators people write (+ . - ( ) and spaces).
func validPhone(p string) bool {
	if p == "" {
		return true
	}
	digits := 0
	for i, c := range p {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0, c == ' ', c == '.', c == '-', c == '(', c == ')':
		default:
			return false
		}
	}
	return digits >= 6 && digits <= 20
}
