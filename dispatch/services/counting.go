package services

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) BookingCreated(dispatch.Tier)             {}
func (noMetrics) Offer(string)                             {}
func (noMetrics) Push(string)                              {}
func (noMetrics) SolverRun(string, time.Duration, float64) {}
func (noMetrics) PlanCache(string)                         {}

func (s *Service) metrics() dispatch.Metrics {
	if s.Metrics == nil {
		return noMetrics{}
	}
	return s.Metrics
}

// AtRiskCount is the number of bookings at risk now (for the gauge).
func (s *Service) AtRiskCount(ctx context.Context) (int, error) {
	b, err := s.Board(ctx, dispatch.Actor{Subject: "metrics", Role: dispatch.RoleDispatcher}, dispatch.Date{}, "")
	if err != nil {
		return 0, err
	}
	return len(b.AtRisk), nil
}
