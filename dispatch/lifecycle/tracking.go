package lifecycle

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch"
)

// EnRoutePosition is where the technician of b's current visit is while on the way: their latest
// ping, when fresh (FIELDFIX_POSITION_MAX_AGE); nil otherwise, since a guess would mislead.
func (s *Service) EnRoutePosition(ctx context.Context, b dispatch.Booking) *dispatch.Location {
	j := b.CurrentJob()
	if j == nil || j.Status != dispatch.JobEnRoute || j.TechnicianID == nil {
		return nil
	}
	t, err := s.Store.GetTechnician(ctx, *j.TechnicianID)
	if err != nil || t.LastPosition == nil || t.LastSeenAt == nil || s.Now().Sub(*t.LastSeenAt) > s.Planner.Config.PositionMaxAge {
		return nil
	}
	return t.LastPosition
}
