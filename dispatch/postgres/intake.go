package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

func (s intakeStore) CustomerBySubject(ctx context.Context, subject string) (dispatch.Customer, error) {
	c, err := s.q.CustomerBySubject(ctx, subject)
	if err != nil {
		return dispatch.Customer{}, notFound(err, "customer", subject)
	}
	return dispatch.Customer{ID: c.ID, Subject: c.Subject, CreatedAt: c.CreatedAt}, nil
}

func (s intakeStore) CreatePurchase(ctx context.Context, p dispatch.Purchase) (dispatch.Purchase, error) {
	r, err := s.q.PurchaseInsert(ctx, db.PurchaseInsertParams{
		CustomerID: p.CustomerID, Category: p.Category, Brand: p.Brand, Model: p.Model, Serial: p.Serial,
		PurchasedAt: p.PurchasedAt.Time(), DeliveredAt: dateTime(p.DeliveredAt), WarrantyMonths: int32(p.WarrantyMonths),
		ExtendedWarrantyUntil: dateTime(p.ExtendedWarrantyUntil), Verified: p.Verified,
	})
	if err != nil {
		return dispatch.Purchase{}, mapErr(err)
	}
	return purchaseFrom(r), nil
}

func (s intakeStore) GetPurchase(ctx context.Context, id int64) (dispatch.Purchase, error) {
	r, err := s.q.PurchaseGet(ctx, id)
	if err != nil {
		return dispatch.Purchase{}, notFound(err, "purchase", id)
	}
	return purchaseFrom(r), nil
}

func (s intakeStore) VerifyPurchase(ctx context.Context, id int64) error {
	return mapErr(s.q.PurchaseVerify(ctx, id))
}

func (s intakeStore) ListPurchases(ctx context.Context, customerID *int64, page dispatch.Page) ([]dispatch.Purchase, error) {
	rows, err := s.q.PurchaseList(ctx, customerID, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, purchaseFrom), nil
}

func purchaseFrom(r db.Purchase) dispatch.Purchase {
	return dispatch.Purchase{
		ID: r.ID, CustomerID: r.CustomerID, Category: r.Category, Brand: r.Brand, Model: r.Model, Serial: r.Serial,
		PurchasedAt: dispatch.DateOf(r.PurchasedAt), DeliveredAt: datePtr(r.DeliveredAt), WarrantyMonths: int(r.WarrantyMonths),
		ExtendedWarrantyUntil: datePtr(r.ExtendedWarrantyUntil), ExtendedWarrantyFrom: datePtr(r.ExtendedWarrantyFrom), Verified: r.Verified,
		CreatedAt: r.CreatedAt,
	}
}

// WriteNewBooking writes a new booking whole in one statement (BookingPlace).
func (s intakeStore) WriteNewBooking(ctx context.Context, nb intake.NewBooking) (dispatch.Booking, []dispatch.Notification, bool, error) {
	b := nb.Booking
	if len(b.Jobs) != 1 {
		return dispatch.Booking{}, nil, false, fmt.Errorf("write booking: a new booking has one job, not %d", len(b.Jobs))
	}
	j := b.Jobs[0]
	windows, _ := json.Marshal(b.PreferredWindows)
	events, err := auditPayload(nb.Audit)
	if err != nil {
		return dispatch.Booking{}, nil, false, err
	}
	p := db.BookingPlaceParams{
		CustomerID: b.CustomerID, PurchaseID: b.PurchaseID, ServiceType: string(b.ServiceType), Appliance: b.Appliance,
		Problem: b.Problem, Address: b.Address, Lat: b.Location.Lat, Lng: b.Location.Lng, Channel: string(b.Channel),
		ReturnKind: string(b.ReturnKind), Tier: string(b.Tier), Status: string(b.Status), SlaDueAt: b.SLADueAt,
		RequiredSkills: b.RequiredSkills, DurationMinutes: int32(b.Duration / time.Minute), PreferredWindows: windows,
		CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, Region: b.Region, CustomerDeferred: b.CustomerDeferred,
		JobStatus: string(j.Status), TechnicianID: j.TechnicianID, PlannedStart: j.PlannedStart, PlannedEnd: j.PlannedEnd,
		OfferExpiresAt: j.OfferExpiresAt, Offered: nb.Offered, Push: nb.Push, Events: events, NotifyData: []byte("{}"),
		JobLinkPrefix: dispatch.JobLinkPrefix, PlanVersion: nb.PlanVersion, WarrantyVerified: b.WarrantyVerified,
		TrackingToken: nb.TrackingToken, TrackingExpiresAt: nb.TrackingExpires, ReceivedData: []byte("{}"),
		ContactName: b.ContactName, ContactPhone: b.ContactPhone,
	}
	rc := nb.Received
	if rc.RecipientSubject != "" {
		p.ReceivedSubject, p.ReceivedTitle, p.ReceivedBody = &rc.RecipientSubject, rc.Title, rc.Body
		if rc.Data != nil {
			if p.ReceivedData, err = json.Marshal(rc.Data); err != nil {
				return dispatch.Booking{}, nil, false, err
			}
		}
	}
	if k := nb.Idempotency; k != nil {
		p.IdempotencySubject, p.IdempotencyKey, p.RequestHash = &k.Subject, &k.Key, k.RequestHash
	}
	n := nb.Notification
	if n != nil {
		if n.RecipientKind != "technician" || n.Kind != "offer" {
			return dispatch.Booking{}, nil, false, fmt.Errorf("write booking: only the technician's offer is written with a booking, not a %s %s", n.RecipientKind, n.Kind)
		}
		if p.NotifyData, err = json.Marshal(n.Data); err != nil || n.Data == nil {
			p.NotifyData = []byte("{}")
		}
		p.NotifySubject, p.NotifyTitle, p.NotifyBody = &n.RecipientSubject, n.Title, n.Body
	}
	r, err := s.q.BookingPlace(ctx, p)
	switch {
	case err != nil:
		return dispatch.Booking{}, nil, false, mapErr(err)
	case !r.PlanFresh:
		return dispatch.Booking{}, nil, false, dispatch.Conflict("plan_changed", "technician %d's plan changed while the booking was planned", *j.TechnicianID)
	case r.BookingID == 0:
		return dispatch.Booking{}, nil, false, nil // the key is taken
	}
	b.ID, j.ID, j.BookingID, j.Version = r.BookingID, r.JobID, r.BookingID, 1
	b.Jobs = []dispatch.Job{j}
	var ns []dispatch.Notification
	written := func(n dispatch.Notification, id int64, link string) {
		n.ID, n.JobID, n.BookingID, n.CreatedAt = id, &j.ID, &b.ID, b.CreatedAt
		n.Data = maps.Clone(n.Data)
		if n.Data == nil {
			n.Data = map[string]any{}
		}
		n.Data["deep_link"] = link
		ns = append(ns, n)
	}
	if n != nil {
		written(*n, r.NotificationID, dispatch.JobLink(j.ID))
	}
	if r.ReceivedID != 0 {
		written(rc, r.ReceivedID, fmt.Sprintf("fieldfix://bookings/%d", b.ID))
	}
	return b, ns, true, nil // as written: no need to read it back
}

// IdempotentBooking reads the booking a taken key points at.
func (s intakeStore) IdempotentBooking(ctx context.Context, k intake.IdempotencyKey) (dispatch.Booking, string, error) {
	prev, err := s.q.IdempotencyGet(ctx, k.Subject, k.Key)
	if err != nil {
		return dispatch.Booking{}, "", notFound(err, "idempotency key", k.Key)
	}
	if prev.BookingID == nil { // the column allows it, though no write leaves a key without its booking
		return dispatch.Booking{}, "", dispatch.Conflict("idempotency_in_progress", "a request with this Idempotency-Key is still in progress")
	}
	b, err := s.GetBooking(ctx, *prev.BookingID)
	return b, prev.RequestHash, err
}

func (s intakeStore) LockBooking(ctx context.Context, id int64) (dispatch.Booking, error) {
	r, err := s.q.BookingGetForUpdate(ctx, id)
	if err != nil {
		return dispatch.Booking{}, notFound(err, "booking", id)
	}
	bs, err := s.withJobs(ctx, []dispatch.Booking{bookingFrom(r.Booking, r.CustomerSubject)})
	if err != nil {
		return dispatch.Booking{}, err
	}
	return bs[0], nil
}

func (s intakeStore) ListBookings(ctx context.Context, f intake.BookingFilter) ([]dispatch.Booking, error) {
	rows, err := s.q.BookingList(ctx, db.BookingListParams{
		CustomerID: f.CustomerID, Status: string(f.Status), Tier: string(f.Tier), AtRisk: f.AtRisk, Region: f.Region, Before: f.Before, MaxRows: int32(f.Limit),
	})
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.Booking, len(rows))
	for i, r := range rows {
		out[i] = bookingFrom(r.Booking, r.CustomerSubject)
	}
	return s.withJobs(ctx, out)
}

func (s intakeStore) UpdateBooking(ctx context.Context, b dispatch.Booking) (dispatch.Booking, error) {
	windows, _ := json.Marshal(b.PreferredWindows)
	v, err := s.q.BookingUpdate(ctx, db.BookingUpdateParams{ID: b.ID, Status: string(b.Status), PreferredWindows: windows,
		CancelReason: b.CancelReason, UpdatedAt: b.UpdatedAt, AtRisk: b.AtRisk, CustomerDeferred: b.CustomerDeferred})
	if err != nil {
		return dispatch.Booking{}, notFound(err, "booking", b.ID)
	}
	b.Version = int(v)
	return b, nil
}

func (s intakeStore) SetBookingTier(ctx context.Context, b dispatch.Booking, at time.Time) error {
	return mapErr(s.q.BookingSetTier(ctx, db.BookingSetTierParams{ID: b.ID, Tier: string(b.Tier), SlaDueAt: b.SLADueAt,
		CustomerDeferred: b.CustomerDeferred, WarrantyVerified: b.WarrantyVerified, UpdatedAt: at}))
}

func (s intakeStore) SetExtendedWarranty(ctx context.Context, purchaseID int64, from, until dispatch.Date) (dispatch.Purchase, error) {
	r, err := s.q.PurchaseSetExtendedWarranty(ctx, purchaseID, dateTime(&from), dateTime(&until))
	if err != nil {
		return dispatch.Purchase{}, notFound(err, "purchase", purchaseID)
	}
	return purchaseFrom(r), nil
}

// TrackedBooking is the booking a tracking token opens.
func (s intakeStore) TrackedBooking(ctx context.Context, token string) (int64, time.Time, error) {
	r, err := s.q.TrackingLinkGet(ctx, token)
	return r.BookingID, r.ExpiresAt, mapErr(err)
}
