package lifecycle

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// PingLocation stores the calling technician's position (database and index).
func (s *Service) PingLocation(ctx context.Context, a dispatch.Actor, l dispatch.Location, at *time.Time) (dispatch.Technician, error) {
	if err := dispatch.ValidateLocation("location", l); err != nil {
		return dispatch.Technician{}, err
	}
	now := s.Now()
	when := now
	if at != nil {
		if at.After(now.Add(time.Minute)) || at.Before(now.Add(-24*time.Hour)) {
			return dispatch.Technician{}, dispatch.Invalid("recorded_at", "invalid_time", "recorded_at must be within the last 24 h and not in the future")
		}
		when = *at
	}
	var out dispatch.Technician
	err := s.Store.Tx(ctx, func(st Store) error {
		t, err := s.technicianFor(ctx, st, a)
		if err != nil {
			return err
		}
		if t.LastSeenAt != nil && t.LastSeenAt.After(when) {
			out = t // an older ping arriving late changes nothing
			return nil
		}
		if err := st.SetTechnicianPosition(ctx, t.ID, l, when); err != nil {
			return err
		}
		t.LastPosition, t.LastSeenAt = &l, &when
		out = t
		return nil
	})
	if err == nil {
		s.Planner.IndexTechnician(out, now)
	}
	return out, err
}
