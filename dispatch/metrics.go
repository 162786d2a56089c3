package dispatch

import (
	"context"
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

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) BookingCreated(Tier)                      {}
func (noMetrics) Offer(string)                             {}
func (noMetrics) Push(string)                              {}
func (noMetrics) SolverRun(string, time.Duration, float64) {}
func (noMetrics) PlanCache(string)                         {}

func (s *Service) metrics() Metrics {
	if s.Metrics == nil {
		return noMetrics{}
	}
	return s.Metrics
}

// AtRiskCount is the number of bookings at risk now (for the gauge).
func (s *Service) AtRiskCount(ctx context.Context) (int, error) {
	b, err := s.Board(ctx, Actor{Subject: "metrics", Role: RoleDispatcher}, Date{}, "")
	if err != nil {
		return 0, err
	}
	return len(b.AtRisk), nil
}
