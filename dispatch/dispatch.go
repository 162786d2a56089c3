// Package dispatch is the core of FieldFix: bookings, jobs, technicians, the after-sales rules
// (SLA tiers, return windows, skills) and the use cases over small interfaces (Store, Clock).
// It never imports an adapter (HTTP, PostgreSQL, Firebase).
package dispatch

import (
	"context"
	"slices"
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
)

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
	Outcome        string
	Notes          string
	PartsUsed      []Part
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Part is a spare part used on a visit.
type Part struct {
	SKU      string `json:"sku"`
	Name     string `json:"name,omitempty"`
	Quantity int    `json:"quantity"`
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

// BookingFilter narrows a booking list.
type BookingFilter struct {
	CustomerID *int64
	Status     BookingStatus
	Tier       Tier
	Page
}

// NewBooking is everything a new booking writes, planned before anything is written, for
// Store.WriteNewBooking to write at once. The ids the rows share are drawn by the write.
type NewBooking struct {
	Booking     Booking // with its one job, in its final state
	Idempotency *IdempotencyKey
	// Audit are the booking's events (entity "booking") and its job's (any other entity): the
	// write sets their entity ids, and the booking id in the job's events' data.
	Audit []AuditEvent
	// Offered: the job is offered to its technician now (an open offer until its OfferExpiresAt).
	Offered bool
	// Notification tells the technician of the offer (nil: none); the write sets its job and
	// booking ids and adds the deep link to the job to its data.
	Notification *Notification
	// Push enqueues the notification's pushes to the technician's devices (the outbox).
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

// TechnicianPatch is a partial update; nil fields stay as they are.
type TechnicianPatch struct {
	Name         *string
	Skills       *[]string
	Home         *Location
	TimeZone     *string
	WeeklyShifts *[]Shift
	ServiceArea  *[]string
	Active       *bool
}

// Store keeps FieldFix's state. Implementations turn their own failures into *Error kinds where
// the caller can act (not found, conflict) and wrap the rest.
type Store interface {
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// AfterTx calls fn once the transaction this store is bound to has ended (committed or not);
	// outside a transaction, at once with true.
	AfterTx(fn func(committed bool))

	EnsureCustomer(ctx context.Context, subject string) (Customer, error)
	CustomerBySubject(ctx context.Context, subject string) (Customer, error)

	CreatePurchase(ctx context.Context, p Purchase) (Purchase, error)
	GetPurchase(ctx context.Context, id int64) (Purchase, error)
	// VerifyPurchase marks a purchase verified (its proof was seen).
	VerifyPurchase(ctx context.Context, id int64) error
	ListPurchases(ctx context.Context, customerID *int64, page Page) ([]Purchase, error)

	// Autocommit runs fn with a store outside any transaction: each statement commits on its own.
	// Hooks given to its AfterTx run when fn returns, told committed when fn reports that it wrote
	// its change and returned no error. Inside a transaction, fn joins it.
	Autocommit(ctx context.Context, fn func(Store) (wrote bool, err error)) error
	// WriteNewBooking writes nb whole and atomically: the idempotency key (if any), the booking
	// and its job, the offer, the notification and its pushes, the audit events. It returns the
	// booking and the notification with their ids. written is false, and nothing is written, when
	// the key was taken already (a concurrent request with the key waits for the first to end).
	WriteNewBooking(ctx context.Context, nb NewBooking) (b Booking, n *Notification, written bool, err error)
	// IdempotentBooking is the booking a taken key made and the hash of the request that made it.
	IdempotentBooking(ctx context.Context, k IdempotencyKey) (b Booking, storedHash string, err error)
	GetBooking(ctx context.Context, id int64) (Booking, error)
	ListBookings(ctx context.Context, f BookingFilter) ([]Booking, error)
	// SetBookingStatus changes the status (and version) unless it is already that.
	SetBookingStatus(ctx context.Context, id int64, status BookingStatus, at time.Time) error
	// LockBooking reads the booking with its row locked until the transaction ends.
	LockBooking(ctx context.Context, id int64) (Booking, error)
	UpdateBooking(ctx context.Context, b Booking) (Booking, error)
	// SetBookingTier records the technician's word on an unverified warranty: the booking's
	// tier, due time, customer-deferred flag and warranty_verified.
	SetBookingTier(ctx context.Context, b Booking, at time.Time) error
	// UpdateJob writes j if the job is still at j.Version (else a conflict with code
	// concurrent_update, and nothing written) and returns it with its new version.
	UpdateJob(ctx context.Context, j Job) (Job, error)

	CreateTechnician(ctx context.Context, t Technician) (Technician, error)
	GetTechnician(ctx context.Context, id int64) (Technician, error)
	ListTechnicians(ctx context.Context, page Page) ([]Technician, error)
	UpdateTechnician(ctx context.Context, t Technician) (Technician, error)

	AddAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	GetJob(ctx context.Context, id int64) (Job, error)
	// LockJob reads the job with its row locked until the transaction ends.
	LockJob(ctx context.Context, id int64) (Job, error)
	// PlanVersions are the technicians' plan_version, by id; lock holds their rows (in id
	// order) until the transaction ends, so that their plans cannot move meanwhile.
	PlanVersions(ctx context.Context, ids []int64, lock bool) (map[int64]int64, error)
	InsertJob(ctx context.Context, j Job) (Job, error)
	// TechnicianJobs are a technician's live jobs overlapping [from, to), in start order.
	TechnicianJobs(ctx context.Context, techID int64, from, to time.Time) ([]Job, error)
	// RouteStops are the live jobs of several technicians overlapping [from, to), by technician and start.
	RouteStops(ctx context.Context, techIDs []int64, from, to time.Time) ([]Stop, error)
	TechnicianBySubject(ctx context.Context, subject string) (Technician, error)
	// MovableJobs are jobs the optimiser may move (not pinned, accepted or started; starting after
	// frozenUntil, or unassigned), most urgent first; region "" means all.
	MovableJobs(ctx context.Context, frozenUntil time.Time, region string) ([]int64, error)
	SetTechnicianPosition(ctx context.Context, id int64, l Location, at time.Time) error
	// CandidateTechnicians are the active technicians with every skill.
	CandidateTechnicians(ctx context.Context, skills []string) ([]Technician, error)
	TechniciansByIDs(ctx context.Context, ids []int64) ([]Technician, error)
	// ChangedPlans reads, in one round trip, the plans of those technicians among ids whose plan
	// version differs from known (same order; -1: none held): each with its live jobs ending after
	// stopsFrom and its time off ending after offFrom.
	ChangedPlans(ctx context.Context, ids, known []int64, stopsFrom, offFrom time.Time) ([]PlanRead, error)
	// OpenBookingPoints are the locations of bookings not yet completed or cancelled.
	OpenBookingPoints(ctx context.Context) ([]Location, error)

	CreateOffer(ctx context.Context, o Offer) (Offer, error)
	OpenOffer(ctx context.Context, jobID int64) (Offer, error)
	UpdateOffer(ctx context.Context, o Offer) error
	// ExpiredOffers locks (skipping rows others hold) open offers whose time is up.
	ExpiredOffers(ctx context.Context, now time.Time, limit int) ([]Offer, error)
	// NextOfferExpiry is when the earliest open offer lapses (far future when none is open).
	NextOfferExpiry(ctx context.Context) (time.Time, error)
	// RefusedTechnicians declined the job or let its offer expire.
	RefusedTechnicians(ctx context.Context, jobID int64) ([]int64, error)
	// JobsToOffer are planned, not yet offered jobs starting before horizon.
	JobsToOffer(ctx context.Context, horizon time.Time, limit int) ([]int64, error)

	// UpsertDevice registers d's token for d's owner, or refreshes it; a token active for another
	// owner is a conflict with code device_token_taken, and nothing is written.
	UpsertDevice(ctx context.Context, d Device) (Device, error)
	DeleteDevice(ctx context.Context, kind, subject, token string) error
	ActiveDevices(ctx context.Context, kind, subject string) ([]Device, error)
	AddNotification(ctx context.Context, n Notification) (Notification, error)
	// EnqueuePush writes the outbox rows that push notification id to its recipient's active devices.
	EnqueuePush(ctx context.Context, notificationID int64, now time.Time) (int64, error)
	ListNotifications(ctx context.Context, kind, subject string, page Page) ([]Notification, error)

	AddTimeOff(ctx context.Context, techID int64, from, to time.Time, reason string) error
	TimeOff(ctx context.Context, techID int64, from, to time.Time) ([]Window, error)
	TimeOffOf(ctx context.Context, techIDs []int64, from, to time.Time) (map[int64][]Window, error)
	AddFeedback(ctx context.Context, f Feedback) (Feedback, bool, error)
	// CreateComplaint files c; when the booking has an open (or acknowledged) complaint of the
	// category already, it is a conflict with code complaint_exists and nothing is written.
	CreateComplaint(ctx context.Context, c Complaint) (Complaint, error)
	LockComplaint(ctx context.Context, id int64) (Complaint, error)
	SaveComplaint(ctx context.Context, c Complaint) (Complaint, error)
	ListComplaints(ctx context.Context, customerID *int64, status string, page Page) ([]Complaint, error)
	UnacknowledgedComplaints(ctx context.Context, olderThan time.Time) ([]Complaint, error)
	SetExtendedWarranty(ctx context.Context, purchaseID int64, from, until Date) (Purchase, error)
	KPIs(ctx context.Context, from, to time.Time, groupBy string, now time.Time) ([]KPIRow, error)
	// Utilisation maps technician id to [seconds on site, seconds of shift] in [from, to).
	Utilisation(ctx context.Context, from, to time.Time) (map[int64][2]float64, error)

	// AtRiskJobs are first visits not yet started whose booking is at risk: no technician and due
	// before riskBefore, planned after the due time, or planned to start before lateBefore.
	AtRiskJobs(ctx context.Context, riskBefore, lateBefore time.Time) ([]AtRiskJob, error)
	// SetAtRisk flags or clears a booking; it reports whether the flag changed.
	SetAtRisk(ctx context.Context, bookingID int64, atRisk bool) (bool, error)
	// ClearAtRisk clears every flag but those of still; it returns the cleared bookings.
	ClearAtRisk(ctx context.Context, still []int64) ([]int64, error)
	// RecordBreaches marks, once, the bookings whose due time passed without an arrival.
	RecordBreaches(ctx context.Context, now time.Time) ([]Booking, error)
	FollowUpsDue(ctx context.Context, doneBefore time.Time) ([]int64, error)
	// ClaimFollowUp sets the booking's follow-up time unless already set.
	ClaimFollowUp(ctx context.Context, bookingID int64, at time.Time) (bool, error)
	DisableStaleDevices(ctx context.Context, lastSeenBefore time.Time) (int64, error)
	DispatcherSubjects(ctx context.Context) ([]string, error)
	// OpenRegions are the regions with bookings still to serve.
	OpenRegions(ctx context.Context) ([]string, error)
	SaveDailyKPIs(ctx context.Context, day Date, groupBy string, rows []KPIRow, at time.Time) error
	DailyKPIs(ctx context.Context, groupBy string, from, to Date) ([]DailyKPI, error)

	// OpenJobs are live jobs without a technician, or due before riskBefore, or planned after their due time.
	OpenJobs(ctx context.Context, riskBefore time.Time) ([]BoardJob, error)
}

// Stop is a job on a technician's route, as the planner needs it.
type Stop struct {
	JobID, BookingID, TechnicianID int64
	Status                         JobStatus
	Start, End                     time.Time
	Pinned, PinnedStart            bool
	Location                       Location
	Duration                       time.Duration
}

// BoardJob is a job as the board lists it.
type BoardJob struct {
	Job       Job
	SLADueAt  time.Time
	Tier      Tier
	Location  Location
	Appliance string
	Address   string
	Region    string
}
