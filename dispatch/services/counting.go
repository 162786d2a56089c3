package services

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch"
)

// AtRiskCount is the number of bookings at risk now (for the gauge).
func (s *Service) AtRiskCount(ctx context.Context) (int, error) {
	b, err := s.Board(ctx, dispatch.Actor{Subject: "metrics", Role: dispatch.RoleDispatcher}, dispatch.Date{}, "")
	if err != nil {
		return 0, err
	}
	return len(b.AtRisk), nil
}
