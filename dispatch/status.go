package dispatch

import "slices"

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
