// Package intake owns what customers ask for: products registered (and their warranties), bookings
// made, changed and cancelled, the slots offered, and the tier a booking stands on.
package intake

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Store is intake's store.
type Store interface {
	offers.Writer
	Purchases
	Bookings
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// Autocommit runs fn with a store outside any transaction: each statement commits on its own.
	// Hooks given to its AfterTx run when fn returns, told committed when fn reports that it wrote
	// its change and returned no error. Inside a transaction, fn joins it.
	Autocommit(ctx context.Context, fn func(Store) (wrote bool, err error)) error
	// Join is the store bound to tx, another area's open transaction (for a hook).
	Join(tx dispatch.Tx) Store
	EnsureCustomer(ctx context.Context, subject string) (dispatch.Customer, error)
	CustomerBySubject(ctx context.Context, subject string) (dispatch.Customer, error)
}

// Purchases keeps the products customers bought, with their warranties.
type Purchases interface {
	CreatePurchase(ctx context.Context, p dispatch.Purchase) (dispatch.Purchase, error)
	GetPurchase(ctx context.Context, id int64) (dispatch.Purchase, error)
	// VerifyPurchase marks a purchase verified (its proof was seen).
	VerifyPurchase(ctx context.Context, id int64) error
	ListPurchases(ctx context.Context, customerID *int64, page dispatch.Page) ([]dispatch.Purchase, error)
	SetExtendedWarranty(ctx context.Context, purchaseID int64, from, until dispatch.Date) (dispatch.Purchase, error)
}

// Bookings keeps the bookings and their visits.
type Bookings interface {
	// WriteNewBooking writes nb whole and atomically: the idempotency key (if any), the booking
	// and its job, the offer, the notifications and their pushes, the tracking link, the audit
	// events. It returns the booking and the notifications written, with their ids. written is
	// false, and nothing is written, when the key was taken already (a concurrent request with
	// the key waits for the first to end).
	WriteNewBooking(ctx context.Context, nb NewBooking) (b dispatch.Booking, ns []dispatch.Notification, written bool, err error)
	// IdempotentBooking is the booking a taken key made and the hash of the request that made it.
	IdempotentBooking(ctx context.Context, k IdempotencyKey) (b dispatch.Booking, storedHash string, err error)
	ListBookings(ctx context.Context, f BookingFilter) ([]dispatch.Booking, error)
	// LockBooking reads the booking with its row locked until the transaction ends.
	LockBooking(ctx context.Context, id int64) (dispatch.Booking, error)
	// TrackedBooking is the booking a tracking token opens and when the token lapses.
	TrackedBooking(ctx context.Context, token string) (bookingID int64, expires time.Time, err error)
	// LockJob reads the job with its row locked until the transaction ends.
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	UpdateBooking(ctx context.Context, b dispatch.Booking) (dispatch.Booking, error)
	// SetBookingTier records the technician's word on an unverified warranty: the booking's
	// tier, due time, customer-deferred flag and warranty_verified.
	SetBookingTier(ctx context.Context, b dispatch.Booking, at time.Time) error
}

// Service takes customers' requests in: products registered, bookings made, changed and
// cancelled, the slots offered, and the warranty a booking stands on.
type Service struct {
	*dispatch.Env
	Store   Store
	Planner *planning.Planner
	Offers  *offers.Service
	// Reads, when set, serves booking lists from a read replica.
	Reads Bookings

	customers *customerIDs // ids of customers seen, by subject
}

// New is intake over store, planning and offering through planner and offers.
func New(store Store, env *dispatch.Env, planner *planning.Planner, offers *offers.Service) *Service {
	return &Service{Env: env, Store: store, Planner: planner, Offers: offers, customers: &customerIDs{}}
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

// NewBooking is everything a new booking writes, planned before anything is written, for
// Store.WriteNewBooking to write at once. The ids the rows share are drawn by the write.
type NewBooking struct {
	Booking     dispatch.Booking // with its one job, in its final state
	Idempotency *IdempotencyKey
	// Audit are the booking's events (entity "booking") and its job's (any other entity): the
	// write sets their entity ids, and the booking id in the job's events' data.
	Audit []dispatch.AuditEvent
	// Offered: the job is offered to its technician now (an open offer until its OfferExpiresAt).
	Offered bool
	// Notification tells the technician of the offer (nil: none); the write sets its job and
	// booking ids and adds the deep link to the job to its data.
	Notification *dispatch.Notification
	// Received tells the customer the booking is received (its window, once planned, and the
	// tracking link); the write sets its ids and the deep link to the booking.
	Received dispatch.Notification
	// Tracking is the booking's tracking link: its token and when it lapses.
	TrackingToken   string
	TrackingExpires time.Time
	// Push enqueues the notifications' pushes to their recipients' devices (the outbox).
	Push bool
	// PlanVersion, when set, is the plan_version of the job's technician that the job was placed
	// on: if it moved, nothing is written and the error has code plan_changed.
	PlanVersion *int64
}

// IdempotencyKey binds a client's key to the request it came with.
type IdempotencyKey struct {
	Subject     string
	Key         string
	RequestHash string
}

// BookingFilter narrows a booking list.
type BookingFilter struct {
	CustomerID *int64
	Status     dispatch.BookingStatus
	Tier       dispatch.Tier
	AtRisk     *bool  // the SLA watchdog's flag (as the board's at-risk list)
	Region     string // H3 res-5 cell of the address
	dispatch.Page
}
