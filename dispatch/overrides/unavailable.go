package overrides

import (
	"context"
	"fmt"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// MarkUnavailable records time off from now (or from) until 'until' and re-dispatches the
// technician's jobs in that time that have not started.
func (s *Service) MarkUnavailable(ctx context.Context, a dispatch.Actor, techID int64, from, until *time.Time, reason string) (dispatch.TimeOff, []offers.Moved, error) {
	if err := staffOnly(a); err != nil {
		return dispatch.TimeOff{}, nil, err
	}
	now := s.Now()
	start := now
	if from != nil {
		start = *from
	}
	end := start.Add(24 * time.Hour)
	if until != nil {
		end = *until
	}
	if !end.After(start) || !end.After(now) {
		return dispatch.TimeOff{}, nil, dispatch.Invalid("until", "invalid_window", "the unavailability must end after it starts and in the future")
	}
	if end.Sub(start) > 366*24*time.Hour {
		return dispatch.TimeOff{}, nil, dispatch.Invalid("until", "window_too_long", "an unavailability is at most a year")
	}
	var (
		moved []offers.Moved
		off   dispatch.TimeOff
	)
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		moved = nil
		t, err := st.GetTechnician(ctx, techID)
		if err != nil {
			return err
		}
		if off, err = st.AddTimeOff(ctx, t.ID, start, end, reason); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "technician", EntityID: t.ID,
			Action: "unavailable", Reason: reason, Data: map[string]any{"from": start, "until": end, "time_off_id": off.ID}}); err != nil {
			return err
		}
		jobs, err := st.TechnicianJobs(ctx, t.ID, start.Add(-12*time.Hour), end)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.Started() || j.PlannedStart == nil || !j.PlannedEnd.After(start) || !j.PlannedStart.Before(end) {
				continue
			}
			j, err := st.LockJob(ctx, j.ID)
			if err != nil {
				return err
			}
			if j.Started() || !j.Live() || j.TechnicianID == nil || *j.TechnicianID != t.ID {
				continue // it moved since the list was read (the technician set off, a dispatcher moved it)
			}
			if err := s.Offers.Withdraw(ctx, st, j, "technician unavailable"); err != nil {
				return err
			}
			if err := s.Env.TellTechnician(ctx, st, j.TechnicianID, j, "cancellation", "Job re-assigned", fmt.Sprintf("%s went to a colleague while you are unavailable.", j.Reference())); err != nil {
				return err
			}
			if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: j.ID,
				Action: "redispatch", FromStatus: string(j.Status), ToStatus: string(dispatch.JobUnassigned), Reason: "technician unavailable",
				Data: map[string]any{"previous_technician_id": t.ID, "booking_id": j.BookingID, "time_off_id": off.ID}}); err != nil {
				return err
			}
			prev := j.TechnicianID
			nj, err := s.Offers.Redispatch(ctx, st, a, j)
			if err != nil {
				return err
			}
			moved = append(moved, offers.Moved{JobID: j.ID, BookingID: j.BookingID, FromTechnician: prev, ToTechnician: nj.TechnicianID,
				Status: string(nj.State()), PlannedStartNew: nj.PlannedStart})
			off.MovedJobs = append(off.MovedJobs, j.ID)
		}
		return st.SetTimeOffMoved(ctx, off.ID, off.MovedJobs)
	})
	if moved == nil {
		moved = []offers.Moved{}
	}
	return off, moved, err
}

// ListTimeOff is a technician's time off that has not ended yet, in start order.
func (s *Service) ListTimeOff(ctx context.Context, a dispatch.Actor, techID int64) ([]dispatch.TimeOff, error) {
	if err := staffOnly(a); err != nil {
		return nil, err
	}
	if _, err := s.Store.GetTechnician(ctx, techID); err != nil {
		return nil, err
	}
	return s.Store.ListTimeOff(ctx, techID, s.Now())
}

// WithdrawTimeOff deletes a technician's time off (the dispatcher marked it by mistake, or the
// technician is back early) and plans again the jobs it moved off them that can still move: not
// started, not accepted by a colleague, not pinned by a dispatcher. The planner may give them
// back to the technician, now free, or leave them where they are best.
func (s *Service) WithdrawTimeOff(ctx context.Context, a dispatch.Actor, techID, id int64) ([]offers.Moved, error) {
	if err := staffOnly(a); err != nil {
		return nil, err
	}
	var moved []offers.Moved
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		moved = nil
		off, err := st.DeleteTimeOff(ctx, techID, id)
		if err != nil {
			return err
		}
		now := s.Now()
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "technician", EntityID: techID,
			Action: "available", Reason: "time off withdrawn", Data: map[string]any{"time_off_id": off.ID, "from": off.Start, "until": off.End}}); err != nil {
			return err
		}
		for _, jobID := range off.MovedJobs {
			j, err := st.LockJob(ctx, jobID)
			if err != nil {
				return err
			}
			if !j.Live() || j.Started() || j.Pinned || j.Status == dispatch.JobAccepted || (j.TechnicianID != nil && *j.TechnicianID == techID) {
				continue
			}
			prev := j.TechnicianID
			if err := s.Offers.Withdraw(ctx, st, j, "time off withdrawn: planned again"); err != nil {
				return err
			}
			if prev != nil {
				if err := s.Env.TellTechnician(ctx, st, prev, j, "cancellation", "Job re-planned",
					fmt.Sprintf("Visit %s is planned again: the colleague it came from is available after all.", j.Reference())); err != nil {
					return err
				}
			}
			nj, err := s.Offers.Redispatch(ctx, st, a, j)
			if err != nil {
				return err
			}
			moved = append(moved, offers.Moved{JobID: j.ID, BookingID: j.BookingID, FromTechnician: prev, ToTechnician: nj.TechnicianID,
				Status: string(nj.State()), PlannedStartNew: nj.PlannedStart})
		}
		return nil
	})
	if moved == nil {
		moved = []offers.Moved{}
	}
	return moved, err
}
