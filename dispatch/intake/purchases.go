package intake

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// PurchaseRequest registers a product.
type PurchaseRequest struct {
	CustomerSub           string // a dispatcher registering for a customer
	Category              string
	Brand, Model, Serial  string
	PurchasedAt           dispatch.Date
	DeliveredAt           *dispatch.Date
	WarrantyMonths        int
	ExtendedWarrantyUntil *dispatch.Date
}

// RegisterPurchase records a product for the caller (a customer) or for CustomerSub (staff). What
// a customer registers is their word: unverified, and without an extended warranty, which only
// the shop's records (staff) can give. Dates that have not happened yet are refused.
func (s *Service) RegisterPurchase(ctx context.Context, a dispatch.Actor, r PurchaseRequest) (dispatch.Purchase, error) {
	subject, err := s.customerSubjectFor(a, r.CustomerSub)
	if err != nil {
		return dispatch.Purchase{}, err
	}
	if r.ExtendedWarrantyUntil != nil && !a.Staff() {
		return dispatch.Purchase{}, &dispatch.Error{Kind: dispatch.KindForbidden, Code: "forbidden", Field: "extended_warranty_until",
			Message: "an extended warranty is registered by the shop (a dispatcher or an admin), not by the customer"}
	}
	if !dispatch.ValidAppliance(r.Category) {
		return dispatch.Purchase{}, dispatch.Invalid("category", "invalid_category", "unknown category %q; one of: %s", r.Category, strings.Join(dispatch.Appliances(), ", "))
	}
	if r.PurchasedAt.IsZero() {
		return dispatch.Purchase{}, dispatch.Invalid("purchased_at", "missing_field", "purchased_at is required (YYYY-MM-DD)")
	}
	today := dispatch.DateOf(s.Now().In(s.Rules.Zone()))
	if today.Before(r.PurchasedAt) {
		return dispatch.Purchase{}, dispatch.Invalid("purchased_at", "date_in_future", "purchased_at %s is in the future", r.PurchasedAt)
	}
	if r.DeliveredAt != nil && today.Before(*r.DeliveredAt) {
		return dispatch.Purchase{}, dispatch.Invalid("delivered_at", "date_in_future", "delivered_at %s is in the future", r.DeliveredAt)
	}
	if r.DeliveredAt != nil && r.DeliveredAt.Before(r.PurchasedAt) {
		return dispatch.Purchase{}, dispatch.Invalid("delivered_at", "invalid_date", "delivered_at %s is before purchased_at %s", r.DeliveredAt, r.PurchasedAt)
	}
	if u := r.ExtendedWarrantyUntil; u != nil {
		if err := checkExtendedUntil("extended_warranty_until", r.PurchasedAt, *u); err != nil {
			return dispatch.Purchase{}, err
		}
	}
	if r.WarrantyMonths < 0 || r.WarrantyMonths > maxWarrantyMonths {
		return dispatch.Purchase{}, dispatch.Invalid("warranty_months", "out_of_range", "warranty_months must be between 0 and 240")
	}
	for _, f := range []struct{ name, v string }{{"brand", r.Brand}, {"model", r.Model}, {"serial", r.Serial}} {
		if utf8.RuneCountInString(f.v) > 200 {
			return dispatch.Purchase{}, dispatch.Invalid(f.name, "too_long", "%s is longer than 200 characters", f.name)
		}
	}
	var out dispatch.Purchase
	err = s.Store.Tx(ctx, func(st Store) error {
		c, err := st.EnsureCustomer(ctx, subject)
		if err != nil {
			return err
		}
		out, err = st.CreatePurchase(ctx, dispatch.Purchase{
			CustomerID: c.ID, Category: r.Category, Brand: r.Brand, Model: r.Model, Serial: r.Serial,
			PurchasedAt: r.PurchasedAt, DeliveredAt: r.DeliveredAt, WarrantyMonths: r.WarrantyMonths,
			ExtendedWarrantyUntil: r.ExtendedWarrantyUntil, Verified: a.Staff(),
		})
		return err
	})
	return out, err
}

// ListPurchases lists the caller's products (customer) or everyone's / one customer's (staff).
func (s *Service) ListPurchases(ctx context.Context, a dispatch.Actor, customerSub string, page dispatch.Page) ([]dispatch.Purchase, error) {
	var cid *int64
	switch {
	case a.Role == dispatch.RoleCustomer:
		c, err := s.Store.EnsureCustomer(ctx, a.Subject)
		if err != nil {
			return nil, err
		}
		cid = &c.ID
	case a.Staff():
		if customerSub != "" {
			c, err := s.Store.CustomerBySubject(ctx, customerSub)
			if errors.Is(err, dispatch.ErrNotFound) {
				return []dispatch.Purchase{}, nil
			} else if err != nil {
				return nil, err
			}
			cid = &c.ID
		}
	default:
		return nil, dispatch.Forbidden("a %s cannot list purchases", a.Role)
	}
	return s.Store.ListPurchases(ctx, cid, page.Norm())
}

// WarrantyStatus tells a customer whether a product is covered today.
func (s *Service) WarrantyStatus(p dispatch.Purchase) (inWarranty bool, until dispatch.Date) {
	return dispatch.InWarranty(p, dispatch.DateOf(s.Now().In(s.Rules.Zone()))), dispatch.WarrantyEnd(p)
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
	err := s.Store.Tx(ctx, func(st Store) error {
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
		return st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "purchase", EntityID: p.ID,
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
