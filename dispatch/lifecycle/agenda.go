package lifecycle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// AgendaItem is one visit on a technician's agenda.
type AgendaItem struct {
	Job     dispatch.Job
	Booking dispatch.Booking
	ETA     *time.Time
	Done    bool           // finished today (completed or incomplete), kept on the day's agenda
	Zone    *time.Location // the technician's time zone, for the times a person reads
	// Pickup is the warehouse to pass before the visit to collect its parts, and when (nil: none).
	Pickup *planning.Pickup
}

// Agenda lists the caller's day: the visits they finished today (in their time zone) first,
// marked done, then their live jobs in visit order, each with an ETA.
func (s *Service) Agenda(ctx context.Context, a dispatch.Actor) ([]AgendaItem, error) {
	t, err := s.technicianFor(ctx, s.Store, a)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	zone, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		zone = time.UTC
	}
	local := now.In(zone)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, zone)
	done, err := s.Store.TechnicianFinishedJobs(ctx, t.ID, today, now.Add(time.Minute))
	if err != nil {
		return nil, err
	}
	jobs, err := s.Store.TechnicianJobs(ctx, t.ID, now.Add(-24*time.Hour), now.Add(14*24*time.Hour))
	if err != nil {
		return nil, err
	}
	out := make([]AgendaItem, 0, len(done)+len(jobs))
	for _, j := range done {
		b, err := s.Store.GetBooking(ctx, j.BookingID)
		if err != nil {
			return nil, err
		}
		out = append(out, AgendaItem{Job: j, Booking: b, Done: true, Zone: zone})
	}
	pos, at := s.Planner.StartPosition(t, now), now
	for _, j := range jobs {
		b, err := s.Store.GetBooking(ctx, j.BookingID)
		if err != nil {
			return nil, err
		}
		item := AgendaItem{Job: j, Booking: b, Zone: zone}
		if item.Pickup, err = s.PickupStop(ctx, j, b); err != nil {
			return nil, err
		}
		if j.PlannedStart != nil && j.Status != dispatch.JobOnSite {
			var wh *planning.Warehouse
			if item.Pickup != nil {
				wh = &item.Pickup.Warehouse
			}
			eta := s.arrival(pos, at, b.Location, wh)
			if eta.Before(*j.PlannedStart) {
				eta = *j.PlannedStart
			}
			item.ETA = &eta
			at = eta.Add(b.Duration)
		} else if j.Status == dispatch.JobOnSite {
			at = now.Add(b.Duration)
			if j.OnSiteAt != nil {
				at = j.OnSiteAt.Add(b.Duration)
			}
		}
		pos = b.Location
		out = append(out, item)
	}
	return out, nil
}

// ETA is when the technician should arrive for the booking's current visit: the planned start
// until they set off; once en route, now plus the travel model's time from their latest position
// (ping), as the "on the way" push says, moving with each ping.
func (s *Service) ETA(ctx context.Context, b dispatch.Booking) *time.Time {
	j := b.CurrentJob()
	if j == nil || j.TechnicianID == nil || j.PlannedStart == nil {
		return nil
	}
	switch j.Status {
	case dispatch.JobOffered, dispatch.JobAccepted, dispatch.JobUnassigned:
		return j.PlannedStart
	case dispatch.JobEnRoute:
		t, err := s.Store.GetTechnician(ctx, *j.TechnicianID)
		if err != nil {
			return j.PlannedStart
		}
		eta := s.enRouteETA(ctx, s.Store, t, b, *j)
		return &eta
	}
	return nil
}

// PickupStop is the pick-up stop still to make before job j of booking b, and when (nil: none).
func (s *Service) PickupStop(ctx context.Context, j dispatch.Job, b dispatch.Booking) (*planning.Pickup, error) {
	wh, err := planning.PickupOf(ctx, s.Store, j)
	if err != nil || wh == nil || j.PlannedStart == nil {
		return nil, err
	}
	return s.Planner.PickupBefore(*wh, b.Location, *j.PlannedStart), nil
}

// arrival is when someone leaving pos at 'at' reaches loc: past the warehouse wh first, with the
// pick-up's time there, when there is one.
func (s *Service) arrival(pos dispatch.Location, at time.Time, loc dispatch.Location, wh *planning.Warehouse) time.Time {
	if wh != nil {
		at = at.Add(s.Planner.TravelTime(pos, wh.Location, at)).Add(dispatch.PickupDuration)
		pos = wh.Location
	}
	return at.Add(s.Planner.TravelTime(pos, loc, at))
}

// enRouteETA is the arrival of technician t, on the way to b's visit j: now plus the travel from
// their latest position (past the warehouse first while a pick-up is to make), to the minute.
// The push and every read of the ETA use it.
func (s *Service) enRouteETA(ctx context.Context, st planning.Store, t dispatch.Technician, b dispatch.Booking, j dispatch.Job) time.Time {
	now := s.Now()
	wh, err := planning.PickupOf(ctx, st, j)
	if err != nil {
		s.Log.Warn("ETA: the pick-up's warehouse cannot be read; timing the drive straight there", "job_id", j.ID, "err", err)
	}
	return s.arrival(s.Planner.StartPosition(t, now), now, b.Location, wh).Truncate(time.Minute)
}

// tellCustomerProgress tells the customer the technician is on the way (with ETA), has arrived,
// or has finished.
func (s *Service) tellCustomerProgress(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, t dispatch.Technician) error {
	first, _, _ := strings.Cut(t.Name, " ")
	switch j.Status {
	case dispatch.JobEnRoute:
		eta := s.enRouteETA(ctx, st, t, b, j)
		return s.Env.TellCustomer(ctx, st, b, j, "on_the_way", first+" is on the way",
			fmt.Sprintf("Expected at %s.", eta.In(s.Rules.Zone()).Format("15:04")), map[string]any{"eta": eta.Format(time.RFC3339), "technician_first_name": first})
	case dispatch.JobOnSite:
		return s.Env.TellCustomer(ctx, st, b, j, "arrived", first+" has arrived", "Your technician is at the door.", nil)
	case dispatch.JobCompleted:
		return s.Env.TellCustomer(ctx, st, b, j, "completed", "Visit completed", fmt.Sprintf("%s finished the %s %s.", first, b.Appliance, b.ServiceType), nil)
	case dispatch.JobIncomplete:
		return s.Env.TellCustomer(ctx, st, b, j, "change", "Another visit is needed", "We are planning a second visit: "+j.Outcome+".", nil)
	}
	return nil
}
