// Package dispatch is the domain of FieldFix: bookings, jobs, technicians, offers, the after-sales
// rules (SLA tiers, return windows, skills), errors with kinds and the clock. The use cases live
// in the packages under it; this one imports none of them, nor any adapter.
package dispatch

import (
	"slices"
	"strconv"
	"time"
)

// Role is what the caller's token says they are.
type Role string

const (
	RoleCustomer   Role = "customer"
	RoleTechnician Role = "technician"
	RoleDispatcher Role = "dispatcher"
	RoleAdmin      Role = "admin"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleCustomer, RoleTechnician, RoleDispatcher, RoleAdmin:
		return true
	}
	return false
}

// Actor is the authenticated caller.
type Actor struct {
	Subject string
	Role    Role
}

// RoleSystem is the role of FieldFix itself, for the changes it makes on its own.
const RoleSystem Role = "system"

// System is the actor of automatic changes in the audit trail.
func System() Actor { return Actor{Subject: "fieldfix", Role: RoleSystem} }

// Staff reports whether the actor works for the service (dispatcher or admin).
func (a Actor) Staff() bool { return a.Role == RoleDispatcher || a.Role == RoleAdmin }

// Tier is the SLA tier of a booking.
type Tier string

const (
	TierWarranty Tier = "warranty"
	TierPaid     Tier = "paid"
)

// ServiceType is what the customer asks for.
type ServiceType string

const (
	ServiceRepair       ServiceType = "repair"
	ServiceInstallation ServiceType = "installation"
	ServiceMaintenance  ServiceType = "maintenance"
	ServiceReturnPickup ServiceType = "return_pickup"
)

// Channel is how the booking reached us.
type Channel string

// ReturnKind tells a return pickup's legal basis: an unconditional return or a faulty-product exchange.
type ReturnKind string

const (
	ReturnUnconditional ReturnKind = "return"
	ReturnExchange      ReturnKind = "exchange"
)

// BookingStatus follows the booking's current job.
type BookingStatus string

const (
	BookingOpen       BookingStatus = "open"        // no technician yet
	BookingScheduled  BookingStatus = "scheduled"   // a job is planned with a technician
	BookingInProgress BookingStatus = "in_progress" // technician en route or on site
	BookingCompleted  BookingStatus = "completed"
	BookingCancelled  BookingStatus = "cancelled"
)

// JobStatus is one visit's state (SPEC §3).
type JobStatus string

const (
	JobUnassigned JobStatus = "unassigned"
	JobOffered    JobStatus = "offered"
	JobAccepted   JobStatus = "accepted"
	JobEnRoute    JobStatus = "en_route"
	JobOnSite     JobStatus = "on_site"
	JobCompleted  JobStatus = "completed"
	JobIncomplete JobStatus = "incomplete"
	JobCancelled  JobStatus = "cancelled"
	// JobPlanned is what people are shown for a job stored unassigned that has a technician and a
	// start: planned, not offered yet (beyond the offer horizon, or its offer withdrawn). It is
	// never stored: the transitions are unassigned's.
	JobPlanned JobStatus = "planned"
)

// State is the job's status as people read it: planned for an unassigned job that has a
// technician and a start, its status otherwise.
func (j Job) State() JobStatus {
	if j.Status == JobUnassigned && j.TechnicianID != nil && j.PlannedStart != nil {
		return JobPlanned
	}
	return j.Status
}

// Location is a point on Earth in degrees.
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Window is a half-open time interval [Start, End).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Customer is a person who books repairs; created on their first call.
type Customer struct {
	ID        int64
	Subject   string
	CreatedAt time.Time
}

// Purchase is a product a customer bought, with its warranty.
type Purchase struct {
	ID                    int64
	CustomerID            int64
	Category              string // the appliance
	Brand, Model, Serial  string
	PurchasedAt           Date
	DeliveredAt           *Date
	WarrantyMonths        int
	ExtendedWarrantyUntil *Date
	ExtendedWarrantyFrom  *Date
	// Verified: registered by the shop (staff, sales records) or its proof of purchase seen on
	// site; a purchase the customer registers is not, and its warranty is provisional.
	Verified  bool
	CreatedAt time.Time
}

// Booking is a customer's request for a visit (a work order).
type Booking struct {
	ID               int64
	CustomerID       int64
	CustomerSubject  string
	PurchaseID       *int64
	ServiceType      ServiceType
	Appliance        string
	Problem          string
	Address          string
	Location         Location
	Channel          Channel
	ReturnKind       ReturnKind
	Tier             Tier
	Status           BookingStatus
	SLADueAt         time.Time
	RequiredSkills   []string
	Duration         time.Duration
	PreferredWindows []Window
	CancelReason     string
	AtRisk           bool
	Region           string // H3 res-5 cell of the address, for reporting and the board
	// CustomerDeferred: the customer chose windows that all start after the due time.
	CustomerDeferred bool
	// ContactName and ContactPhone: who the technician meets at the door (optional).
	ContactName, ContactPhone string
	// WarrantyVerified says whether the warranty the tier stands on is verified: nil when none is
	// claimed (paid); false on a purchase the customer registered, until the technician confirms
	// the proof of purchase on site (true) or the visit ends without it (the booking is then paid).
	WarrantyVerified *bool
	Version          int
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Jobs             []Job // visits in order, newest last
}

// CurrentJob is the latest visit of the booking, or nil.
func (b *Booking) CurrentJob() *Job {
	if len(b.Jobs) == 0 {
		return nil
	}
	return &b.Jobs[len(b.Jobs)-1]
}

// Job is one technician visit for a booking.
type Job struct {
	ID             int64
	BookingID      int64
	Visit          int
	Status         JobStatus
	TechnicianID   *int64
	TechnicianName string
	PlannedStart   *time.Time
	PlannedEnd     *time.Time
	Pinned         bool
	PinnedStart    bool // the dispatcher fixed the time too, not only the technician
	OfferExpiresAt *time.Time
	AcceptedAt     *time.Time
	EnRouteAt      *time.Time
	OnSiteAt       *time.Time
	FinishedAt     *time.Time
	// EnRouteDeviceAt, OnSiteDeviceAt and FinishedDeviceAt are when the technician's phone says
	// the step happened, kept when plausible (a report made offline reaches the server later,
	// at the times above); the SLA and the KPIs read them first.
	EnRouteDeviceAt  *time.Time
	OnSiteDeviceAt   *time.Time
	FinishedDeviceAt *time.Time
	Outcome          string
	Notes            string
	PartsUsed        []Part
	// NotBefore holds a return visit back until its part arrives: it is planned no earlier.
	NotBefore *time.Time
	// PickupLocationID is the warehouse the technician passes before the visit to collect its
	// parts (no van held them), PickedUpAt when they did; the parts are reserved at the
	// warehouse until then (see docs/parts.md).
	PickupLocationID *int64
	PickedUpAt       *time.Time
	// SignOffMethod and SignedOffAt are the customer's sign-off of the visit: signature, code or
	// refused, and when (proof of work records them); empty before it.
	SignOffMethod string
	SignedOffAt   *time.Time
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Reference is how people name a visit: its booking and the visit's number, B-25/2 for booking
// 25's second visit (job ids and booking ids drift apart after a revisit).
func (j Job) Reference() string {
	return "B-" + strconv.FormatInt(j.BookingID, 10) + "/" + strconv.Itoa(j.Visit)
}

// PickupDuration is the time a pick-up stop at a warehouse takes (parking, the counter, loading).
const PickupDuration = 10 * time.Minute

// PickupPending reports whether the visit's technician still has its parts to collect at a warehouse.
func (j Job) PickupPending() bool { return j.PickupLocationID != nil && j.PickedUpAt == nil }

// Part is a spare part used on a visit.
type Part struct {
	SKU      string `json:"sku"`
	Name     string `json:"name,omitempty"`
	Quantity int    `json:"quantity"`
	// Serial is the unit's serial number, for a part the catalogue tracks by serial (one per line).
	Serial string `json:"serial,omitempty"`
}

// Live reports whether the job still holds the technician's time.
func (j Job) Live() bool {
	switch j.Status {
	case JobUnassigned, JobOffered, JobAccepted, JobEnRoute, JobOnSite:
		return true
	}
	return false
}

// Started reports whether the technician is on the way or there: the solver must not move it.
func (j Job) Started() bool { return j.Status == JobEnRoute || j.Status == JobOnSite }

// Shift is a weekly working period in the technician's time zone.
type Shift struct {
	Day   string `json:"day"`   // mon..sun
	Start string `json:"start"` // HH:MM
	End   string `json:"end"`   // HH:MM, after Start
}

// Technician is a field worker.
type Technician struct {
	ID           int64
	Subject      *string
	Name         string
	Skills       []string
	Home         Location
	TimeZone     string
	WeeklyShifts []Shift
	ServiceArea  []string // H3 cells
	Active       bool
	LastPosition *Location
	LastSeenAt   *time.Time
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TimeOff is a period a technician is unavailable (a dispatcher marked it); MovedJobs are the
// jobs it took off them, which withdrawing it plans again.
type TimeOff struct {
	ID           int64
	TechnicianID int64
	Start, End   time.Time
	Reason       string
	MovedJobs    []int64
	CreatedAt    time.Time
}

// HasSkills reports whether t has every skill in need.
func (t Technician) HasSkills(need []string) bool {
	for _, n := range need {
		if !slices.Contains(t.Skills, n) {
			return false
		}
	}
	return true
}

// AuditEvent records a change: who, when, from, to, why.
type AuditEvent struct {
	ID         int64
	At         time.Time
	ActorSub   string
	ActorRole  Role
	Entity     string
	EntityID   int64
	Action     string
	FromStatus string
	ToStatus   string
	Reason     string
	Data       map[string]any
}

// Clock tells the time; tests inject a fixed one.
type Clock interface{ Now() time.Time }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock.
var SystemClock Clock = ClockFunc(time.Now)

// Page asks for a slice of a list: items with id below Before (0: from the newest), at most Limit.
type Page struct {
	Limit  int
	Before int64
}

// Norm is the page a list serves: 50 items unless Limit asks for 1 to 200, from the newest unless
// Before names an id.
func (p Page) Norm() Page {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	if p.Before < 0 {
		p.Before = 0
	}
	return p
}

// Offer is a job proposed to a technician.
type Offer struct {
	ID           int64
	JobID        int64
	TechnicianID int64
	Status       string // open, accepted, declined, expired, withdrawn
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RespondedAt  *time.Time
	Reason       string
}
