package dispatch

import (
	"time"
)

// Metrics receives the business events worth counting; the metrics adapter implements it.
type Metrics interface {
	BookingCreated(t Tier)
	Offer(outcome string) // sent, accepted, declined, expired, withdrawn
	Push(outcome string)  // delivered, retryable, token_invalid, failed
	SolverRun(kind string, d time.Duration, objective float64)
	// PlanCache counts how a new booking got its candidates' plans: hit (from memory, no read),
	// read (the changed ones read), changed (the guarded write found the chosen plan had moved).
	PlanCache(outcome string)
}
