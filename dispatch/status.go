package dispatch

import (
	"slices"
	"time"
)

// transitions are the moves of SPEC §3 a technician or the system may make.
var transitions = map[JobStatus][]JobStatus{
	JobUnassigned: {JobOffered, JobCancelled},
	JobOffered:    {JobAccepted, JobUnassigned, JobCancelled},
	JobAccepted:   {JobEnRoute, JobUnassigned, JobCancelled},
	JobEnRoute:    {JobOnSite, JobCancelled},
	JobOnSite:     {JobCompleted, JobIncomplete},
}

// CanMove reports whether a job may go from one status to another.
func CanMove(from, to JobStatus) bool { return slices.Contains(transitions[from], to) }

// InvalidMove refuses moving job j to status to (see CanMove).
func InvalidMove(j Job, to JobStatus) error {
	return Conflict("invalid_transition", "job %d cannot go from %s to %s", j.ID, j.Status, to)
}

// StatusUpdate is a technician's report from the field.
type StatusUpdate struct {
	Status    JobStatus
	Outcome   string
	Notes     string
	PartsUsed []Part
	Location  *Location
	// ProofOfPurchase is the technician's word, on site, on the proof of purchase of a booking
	// whose warranty is not verified: shown (true) or not (false). Ignored on other bookings.
	ProofOfPurchase *bool
	// DeviceAt is when the technician's phone says the step happened (a report queued offline),
	// judged plausible by the caller; kept beside the server's time. Nil: now.
	DeviceAt *time.Time
	// NeededParts are the parts an incomplete visit (outcome needs_part) lacked: part requests
	// bring them, and the return visit waits for them.
	NeededParts []Part
}

// VisitReport is a technician's report on a visit as other areas hear of it (lifecycle's hooks):
// inside the report's transaction, once the job has its new status but before anything of the
// report is written. A hook may change Booking; the rest of the report sees the change.
type VisitReport struct {
	Actor   Actor
	Booking *Booking
	Job     Job
	Update  StatusUpdate
	At      time.Time
}

// Tx is an open transaction, as a store hands it to a hook of another area: that area's store
// joins it (its Join), so that the hook's writes commit or roll back with the change that called
// it.
type Tx interface {
	// AfterTx calls fn once the transaction has ended (committed or not).
	AfterTx(fn func(committed bool))
}
