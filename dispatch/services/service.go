// Package services holds FieldFix's use cases over the domain of package dispatch (being split
// into one package per use-case area).
package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/aftersales"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/overrides"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/watchdog"
	"github.com/fieldfix/fieldfix/geo"
)

// Service holds the use cases.
type Service struct {
	*dispatch.Env
	Store      dispatch.Store
	Planner    *planning.Planner
	Offers     *offers.Service
	Watchdog   *watchdog.Service
	Optimize   *optimize.Service
	Aftersales *aftersales.Service
	Board      *board.Service
	Roster     *roster.Service
	Overrides  *overrides.Service

	customers *customerIDs // ids of customers seen, by subject
}

// customerIDs remembers customers' ids by subject, so a returning customer's booking does not
// read the customer again: customer records are never deleted and their ids never change. It
// holds at most customerIDsMax subjects and starts over when full.
type customerIDs struct {
	mu sync.Mutex
	m  map[string]int64
}

const customerIDsMax = 100_000

func (c *customerIDs) get(subject string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.m[subject]
	return id, ok
}

func (c *customerIDs) put(subject string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= customerIDsMax {
		c.m = make(map[string]int64)
	}
	c.m[subject] = id
}

// Stores is a store adapter: the store of the use cases still here, and each area's own.
type Stores interface {
	dispatch.Store
	Offers() offers.Store
	Aftersales() aftersales.Store
	Board() board.Store
	Roster() roster.Store
	Overrides() overrides.Store
	Watchdog() watchdog.Store
	Optimize() optimize.Store
}

// NewService wires a service with the default lifecycle, planning and travel model, the wall
// clock and a silent log where none are given; callers adjust the exported fields after.
func NewService(store Stores, rules dispatch.Rules, clock dispatch.Clock, log *slog.Logger) *Service {
	env := dispatch.NewEnv(rules, clock, log)
	planner := planning.NewPlanner(store, env)
	offs := offers.New(store.Offers(), env, planner)
	return &Service{Env: env, Store: store, Planner: planner, Offers: offs,
		Watchdog: watchdog.New(store.Watchdog(), env, planner, offs), Optimize: optimize.New(store.Optimize(), env, planner, offs), Aftersales: aftersales.New(store.Aftersales(), env), Board: board.New(store.Board(), env, planner), Roster: roster.New(store.Roster(), env),
		Overrides: overrides.New(store.Overrides(), env, planner, offs), customers: &customerIDs{}}
}

func (s *Service) now() time.Time { return s.Env.Now() }

func (s *Service) metrics() dispatch.Metrics { return s.Env.Count() }

func (s *Service) planTx(ctx context.Context, fn func(st dispatch.Store) error) error {
	return planning.Retry(ctx, s.Store.Tx, fn)
}

// ---- purchases ----

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
		return dispatch.Purchase{}, dispatch.Invalid("category", "unknown_appliance", "unknown category %q; one of: %s", r.Category, strings.Join(dispatch.Appliances(), ", "))
	}
	if r.PurchasedAt.IsZero() {
		return dispatch.Purchase{}, dispatch.Invalid("purchased_at", "missing_field", "purchased_at is required (YYYY-MM-DD)")
	}
	today := dispatch.DateOf(s.now().In(s.Rules.Zone()))
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
	err = s.Store.Tx(ctx, func(st dispatch.Store) error {
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
	return dispatch.InWarranty(p, dispatch.DateOf(s.now().In(s.Rules.Zone()))), dispatch.WarrantyEnd(p)
}

// customerSubjectFor resolves whose record a call acts on.
func (s *Service) customerSubjectFor(a dispatch.Actor, customerSub string) (string, error) {
	switch {
	case a.Role == dispatch.RoleCustomer:
		if customerSub != "" && customerSub != a.Subject {
			return "", dispatch.Forbidden("a customer acts only for themselves")
		}
		return a.Subject, nil
	case a.Staff():
		if strings.TrimSpace(customerSub) == "" {
			return "", dispatch.Invalid("customer_sub", "missing_field", "customer_sub is required when staff act for a customer")
		}
		if len(customerSub) > 200 {
			return "", dispatch.Invalid("customer_sub", "too_long", "customer_sub is longer than 200 characters")
		}
		return customerSub, nil
	default:
		return "", dispatch.Forbidden("a %s cannot act for a customer", a.Role)
	}
}

// ---- bookings ----

// BookingRequest is a new booking as the client sends it.
type BookingRequest struct {
	ServiceType      dispatch.ServiceType
	Appliance        string
	Problem          string
	Address          string
	Location         dispatch.Location
	PurchaseID       *int64
	PreferredWindows []dispatch.Window
	Channel          dispatch.Channel
	ReturnKind       dispatch.ReturnKind
	CustomerSub      string
}

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

// CreateBooking books a visit. With an idempotency key, a retry of the same request returns the
// booking the first call made (replay=true); the same key with another request is refused.
func (s *Service) CreateBooking(ctx context.Context, a dispatch.Actor, r BookingRequest, idemKey, requestHash string) (dispatch.Booking, bool, error) {
	defer s.Planner.Placing()()
	subject, err := s.customerSubjectFor(a, r.CustomerSub)
	if err != nil {
		if a.Role == dispatch.RoleTechnician {
			return dispatch.Booking{}, false, dispatch.Forbidden("technicians cannot create bookings")
		}
		return dispatch.Booking{}, false, err
	}
	now := s.now()
	if err := s.validate(&r, now); err != nil {
		return dispatch.Booking{}, false, err
	}
	if len(idemKey) > 200 {
		return dispatch.Booking{}, false, dispatch.Invalid("Idempotency-Key", "invalid_idempotency_key", "Idempotency-Key is longer than 200 characters")
	}
	var (
		out     dispatch.Booking
		replay  bool
		key     *dispatch.IdempotencyKey
		keyRead bool // the key was found taken and its booking read
	)
	if idemKey != "" {
		key = &dispatch.IdempotencyKey{Subject: subject, Key: idemKey, RequestHash: requestHash}
	}
	if served, err := s.Planner.Served(ctx, s.Store, r.Location); err != nil {
		return dispatch.Booking{}, false, err
	} else if !served {
		if key != nil { // a retry of a booking made while the address was served is that booking
			if prev, err := s.replay(ctx, s.Store, *key); err == nil {
				return prev, true, nil
			}
		}
		return dispatch.Booking{}, false, refuseUnserved(r.Location)
	}
	// No transaction: the reads (customer, purchase, plans) commit on their own, and everything
	// the booking writes is one statement (Store.WriteNewBooking), its own transaction.
	// Every attempt but the last plans on the plan cache with a guarded write; the last reads the
	// plans and writes unguarded, as a booking without the cache would.
	const maxAttempts = 4
	for attempt := 0; ; attempt++ {
		err = s.Store.Autocommit(ctx, func(st dispatch.Store) (bool, error) {
			draft, err := s.draftBooking(ctx, st, a, subject, r, now)
			if err != nil {
				return false, err
			}
			nb := dispatch.NewBooking{Booking: draft, Idempotency: key, Audit: []dispatch.AuditEvent{{
				At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "booking", Action: "created",
				ToStatus: string(dispatch.BookingOpen), Data: map[string]any{"tier": draft.Tier, "channel": r.Channel},
			}}}
			var written bool
			out, written, err = s.placeNewBooking(ctx, st, a, nb, attempt < maxAttempts-1)
			if err == nil && !written {
				keyRead = true
				out, err = s.replay(ctx, st, *key)
				replay = err == nil
			}
			return written, err
		})
		// Two bookings racing for the same gap (another replica, or a dispatcher's manual
		// assignment): PostgreSQL let one win. Plan the loser again. So too a booking whose
		// chosen technician's plan moved since it was cached (read again now).
		if attempt < maxAttempts-1 && (dispatch.HasCode(err, "plan_changed") || (dispatch.LostRace(err) && len(r.PreferredWindows) == 0)) {
			continue
		}
		break
	}
	if err != nil && key != nil && !keyRead {
		// A retry of a request that was written already (its answer lost) is planned again
		// before its key is seen; planning may fail now (its window is full, with itself): the
		// key answers.
		if prev, kerr := s.replay(ctx, s.Store, *key); kerr == nil {
			out, replay, err = prev, true, nil
		} else if dispatch.HasCode(kerr, "idempotency_key_reused") {
			err = kerr
		}
	}
	if errors.Is(err, errWindowTaken) || (dispatch.HasCode(err, "technician_double_booked") && len(r.PreferredWindows) > 0) {
		return dispatch.Booking{}, false, s.windowTaken(ctx, a, r)
	}
	if err != nil {
		return dispatch.Booking{}, false, err
	}
	if !replay {
		s.metrics().BookingCreated(out.Tier)
		s.Log.Info("booking created", "booking_id", out.ID, "tier", out.Tier, "sla_due_at", out.SLADueAt)
	}
	return out, replay, nil
}

// replay answers a request whose idempotency key was taken with the booking the key made, unless
// the key came with another request.
func (s *Service) replay(ctx context.Context, st dispatch.Store, k dispatch.IdempotencyKey) (dispatch.Booking, error) {
	prev, storedHash, err := st.IdempotentBooking(ctx, k)
	if err != nil {
		return dispatch.Booking{}, err
	}
	if storedHash != k.RequestHash {
		return dispatch.Booking{}, dispatch.Unprocessable("idempotency_key_reused", "Idempotency-Key %q was already used with a different request", k.Key)
	}
	return prev, nil
}

var errWindowTaken = errors.New("no room in the chosen windows")

// windowTaken refuses a booking whose chosen windows cannot be kept, with fresh alternatives.
func (s *Service) windowTaken(ctx context.Context, a dispatch.Actor, r BookingRequest) error {
	now := s.now()
	alts, _, err := s.Slots(ctx, a, SlotQuery{Location: r.Location, Appliance: r.Appliance, ServiceType: r.ServiceType,
		PurchaseID: r.PurchaseID, CustomerSub: r.CustomerSub, From: now, To: now.Add(72 * time.Hour)})
	if err != nil {
		return err
	}
	if len(alts) > 6 {
		alts = alts[:6]
	}
	e := dispatch.Conflict("window_unavailable", "no technician can come inside the chosen window any more; pick one of the alternatives")
	e.(*dispatch.Error).Extra = map[string]any{"alternatives": alts}
	return e
}

// draftBooking applies the after-sales rules to a request: the customer record, the purchase
// (ownership, appliance, return windows), the tier and its due time, skills and duration.
func (s *Service) draftBooking(ctx context.Context, st dispatch.Store, a dispatch.Actor, subject string, r BookingRequest, now time.Time) (dispatch.Booking, error) {
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
		Location: r.Location, Channel: r.Channel, ReturnKind: r.ReturnKind,
		Tier: tier, Status: dispatch.BookingOpen, SLADueAt: s.Rules.SLADueAt(tier, now),
		RequiredSkills: skills, Duration: dispatch.ExpectedDuration(r.Appliance, r.ServiceType),
		PreferredWindows: windows, Version: 1, CreatedAt: now, UpdatedAt: now, Region: region,
		CustomerDeferred: deferredByCustomer(windows, s.Rules.SLADueAt(tier, now)), WarrantyVerified: verified,
		Jobs: []dispatch.Job{{Visit: 1, Status: dispatch.JobUnassigned, Version: 1, CreatedAt: now, UpdatedAt: now}},
	}, nil
}

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
func (s *Service) ListBookings(ctx context.Context, a dispatch.Actor, f dispatch.BookingFilter) ([]dispatch.Booking, error) {
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
	f.Page = f.Page.Norm()
	return s.Store.ListBookings(ctx, f)
}

// changeBooking runs fn on the locked booking after the ownership, version and state checks
// every customer-facing change shares, then writes booking, job and audit event.
func (s *Service) changeBooking(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, action string, fn func(st dispatch.Store, b *dispatch.Booking, j *dispatch.Job, now time.Time) (reason string, err error), after func(st dispatch.Store, b dispatch.Booking, j *dispatch.Job) error) (dispatch.Booking, error) {
	if a.Role != dispatch.RoleCustomer && !a.Staff() {
		return dispatch.Booking{}, dispatch.Forbidden("a %s cannot %s bookings", a.Role, action)
	}
	var out dispatch.Booking
	err := s.planTx(ctx, func(st dispatch.Store) error {
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
		now := s.now()
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

// lockBookingAndVisit reads booking id with its row and its current visit's row locked, in the
// order every job transition takes them (the job's row, then its booking's through the status it
// sets), so that a customer's change and the technician's report wait for each other instead of
// one writing over the other from a copy read before the other committed. A visit added meanwhile
// (an incomplete visit's revisit) is a lost race: the transaction runs again.
func (s *Service) lockBookingAndVisit(ctx context.Context, st dispatch.Store, id int64) (dispatch.Booking, error) {
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
	return s.changeBooking(ctx, a, id, ifVersion, "cancelled", func(st dispatch.Store, b *dispatch.Booking, j *dispatch.Job, now time.Time) (string, error) {
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
			j.Status = dispatch.JobCancelled
		}
		return reason, nil
	}, nil)
}

// RescheduleBooking replaces the preferred windows; the visit is planned anew to fit them.
func (s *Service) RescheduleBooking(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, windows []dispatch.Window, reason string) (dispatch.Booking, error) {
	now := s.now()
	if len(windows) == 0 {
		return dispatch.Booking{}, dispatch.Invalid("preferred_windows", "missing_field", "preferred_windows must name at least one window")
	}
	if err := s.validateWindows(windows, now); err != nil {
		return dispatch.Booking{}, err
	}
	return s.changeBooking(ctx, a, id, ifVersion, "rescheduled", func(st dispatch.Store, b *dispatch.Booking, j *dispatch.Job, now time.Time) (string, error) {
		if j != nil && (j.Status == dispatch.JobEnRoute || j.Status == dispatch.JobOnSite) {
			return "", dispatch.Conflict("technician_on_the_way", "booking %d cannot be rescheduled: the technician is %s", b.ID, j.Status)
		}
		b.PreferredWindows = windows
		b.Status = dispatch.BookingOpen
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
	}, func(st dispatch.Store, b dispatch.Booking, j *dispatch.Job) error {
		if j == nil {
			return nil
		}
		if err := s.Offers.Dispatch(ctx, st, a, b, j, nil); err != nil {
			return err
		}
		if j.TechnicianID != nil {
			return s.setBookingStatus(ctx, st, b.ID, dispatch.BookingScheduled)
		}
		return nil
	})
}

// ---- technicians ----

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

// placeNewBooking plans the booking's first visit before anything is written, then writes the
// booking and its job once, in their final state (planned, offered when inside the horizon),
// with the audit trail, the offer and the technician's notification, in one statement.
// written is false when the booking's idempotency key was taken already: nothing was written.
// onCache: planned on the plan cache, the write guarded by the chosen plan's version; when that
// moved, the error has code plan_changed, nothing is written and the plan is dropped from the
// cache, for the next attempt to read.
func (s *Service) placeNewBooking(ctx context.Context, st dispatch.Store, a dispatch.Actor, nb dispatch.NewBooking, onCache bool) (dispatch.Booking, bool, error) {
	now := s.now()
	b := nb.Booking
	j := b.Jobs[0]
	j.ID = s.Planner.NewJobID() // the plan's reservation needs an id before the job has one
	p, reason, err := s.Planner.Plan(ctx, st, b, j, nil, onCache)
	if err != nil {
		return dispatch.Booking{}, false, err
	}
	if p == nil && len(b.PreferredWindows) > 0 {
		return dispatch.Booking{}, false, errWindowTaken // a chosen window is held or the booking is refused
	}
	j.ID = 0
	nb.Audit = append(nb.Audit, offers.PlanAudit(a, now, 0, 0, dispatch.JobUnassigned, p, reason))
	if p != nil {
		j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.TechnicianName = &p.TechnicianID, &p.Start, &p.End, p.Technician.Name
		b.Status = dispatch.BookingScheduled
		if nb.Offered = s.Offers.InHorizon(p.Start, now); nb.Offered {
			var offered dispatch.AuditEvent
			offered, nb.Notification = s.Offers.Draft(a, now, b, &j, p.Technician)
			nb.Audit = append(nb.Audit, offered)
			_, nb.Push = s.Notifier.(dispatch.Outbox)
		}
	}
	b.Jobs = []dispatch.Job{j}
	nb.Booking = b
	nb.PlanVersion = s.Planner.ExpectedVersion(ctx, p)
	got, n, written, err := st.WriteNewBooking(ctx, nb)
	if dispatch.HasCode(err, "plan_changed") {
		s.Planner.PlanChanged(p)
	}
	if err != nil || !written {
		return dispatch.Booking{}, written, err
	}
	if p != nil {
		wj := got.Jobs[0]
		s.Planner.Written(st, p, nb.PlanVersion, dispatch.Stop{JobID: wj.ID, BookingID: got.ID, TechnicianID: p.TechnicianID,
			Status: wj.Status, Start: p.Start, End: p.End, Location: got.Location, Duration: got.Duration})
	}
	if nb.Offered {
		s.Offers.Sent(*j.OfferExpiresAt)
		if n != nil && s.Notifier != nil && !nb.Push {
			// A notifier that is not the outbox acts after the write (the outbox's rows were in it).
			if err := s.Notifier.Notify(ctx, st, *n); err != nil {
				s.Log.Warn("notifier failed after a booking was written", "booking_id", got.ID, "err", err)
			}
		}
	}
	return got, true, nil
}

func describeWindow(w dispatch.Window) string {
	return fmt.Sprintf("%s–%s", w.Start.Format(time.RFC3339Nano), w.End.Format(time.RFC3339Nano))
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
