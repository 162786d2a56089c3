package dispatch

import (
	"context"
	"math"
	"time"
)

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

// AtRiskJob is a first visit whose booking may miss its SLA.
type AtRiskJob struct {
	Job      Job
	SLADueAt time.Time
	AtRisk   bool // the booking's flag before this run
}

// DailyKPI is one rolled-up day of one group.
type DailyKPI struct {
	Day     Date
	GroupBy string
	Row     KPIRow
}

// AuditFilter narrows the audit list.
type AuditFilter struct {
	Entity   string
	EntityID int64
	Actor    string
	From, To *time.Time
	Page
}

// PlanRead is what planning needs of one technician, as read at one plan version: the
// technician, their live jobs (in start order) and their time off.
type PlanRead struct {
	Technician Technician
	Version    int64
	Stops      []Stop
	TimeOff    []Window
}
