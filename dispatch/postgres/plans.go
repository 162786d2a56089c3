package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// ChangedPlans reads, of the technicians ids, those whose plan_version differs from known (same
// order; -1 for none held): their rows and versions, their live jobs ending after stopsFrom and
// their time off ending after offFrom, in one statement.
func (s planRows) ChangedPlans(ctx context.Context, ids, known []int64, stopsFrom, offFrom time.Time) ([]planning.PlanRead, error) {
	rows, err := s.q.ChangedPlans(ctx, stopsFrom, offFrom, ids, known)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]planning.PlanRead, len(rows))
	for i, r := range rows {
		n := len(r.JobIds)
		if len(r.BookingIds) != n || len(r.Statuses) != n || len(r.Starts) != n || len(r.Ends) != n || len(r.Pinned) != n ||
			len(r.PinnedStart) != n || len(r.Lats) != n || len(r.Lngs) != n || len(r.Minutes) != n || len(r.ViaLats) != n ||
			len(r.ViaLngs) != n || len(r.OffStarts) != len(r.OffEnds) {
			return nil, fmt.Errorf("changed plans: technician %d: arrays of different lengths", r.Technician.ID)
		}
		p := planning.PlanRead{Technician: technicianFrom(r.Technician), Version: r.Technician.PlanVersion, Stops: make([]planning.Stop, n)}
		for k := range n {
			p.Stops[k] = planning.Stop{JobID: r.JobIds[k], BookingID: r.BookingIds[k], TechnicianID: r.Technician.ID,
				Status: dispatch.JobStatus(r.Statuses[k]), Start: r.Starts[k].UTC(), End: r.Ends[k].UTC(), Pinned: r.Pinned[k],
				PinnedStart: r.PinnedStart[k], Location: dispatch.Location{Lat: r.Lats[k], Lng: r.Lngs[k]},
				Duration: time.Duration(r.Minutes[k]) * time.Minute, Via: via(r.ViaLats[k], r.ViaLngs[k])}
		}
		for k := range r.OffStarts {
			p.TimeOff = append(p.TimeOff, dispatch.Window{Start: r.OffStarts[k].UTC(), End: r.OffEnds[k].UTC()})
		}
		out[i] = p
	}
	return out, nil
}

// shiftPatterns caches decoded weekly shifts by their JSON: planning once read some 30
// technicians per booking (and a candidate scan still reads every skilled one), decoding their
// shifts was a tenth of the server's CPU under load, and technicians share a handful of patterns.
var (
	shiftPatterns     sync.Map // string(JSON) → []dispatch.Shift, never handed out itself
	shiftPatternCount atomic.Int64
)

const maxShiftPatterns = 4096

func (s planRows) GetTechnician(ctx context.Context, id int64) (dispatch.Technician, error) {
	r, err := s.q.TechnicianGet(ctx, id)
	if err != nil {
		return dispatch.Technician{}, notFound(err, "technician", id)
	}
	return technicianFrom(r), nil
}

func (s planRows) ListTechnicians(ctx context.Context, page dispatch.Page) ([]dispatch.Technician, error) {
	rows, err := s.q.TechnicianList(ctx, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, technicianFrom), nil
}

func technicianFrom(r db.Technician) dispatch.Technician {
	shifts := weeklyShifts(r.WeeklyShifts)
	area := r.ServiceArea
	if area == nil {
		area = []string{}
	}
	return dispatch.Technician{
		ID: r.ID, Subject: r.Subject, Name: r.Name, Skills: r.Skills, Home: dispatch.Location{Lat: r.HomeLat, Lng: r.HomeLng},
		TimeZone: r.TimeZone, WeeklyShifts: shifts, ServiceArea: area, Active: r.Active, Version: int(r.Version),
		LastPosition: position(r.LastLat, r.LastLng), LastSeenAt: utcPtr(r.LastSeenAt),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// weeklyShifts decodes a technician's weekly_shifts (unreadable: none); the caller owns the slice.
func weeklyShifts(raw []byte) []dispatch.Shift {
	if v, ok := shiftPatterns.Load(string(raw)); ok {
		return slices.Clone(v.([]dispatch.Shift))
	}
	var shifts []dispatch.Shift
	_ = json.Unmarshal(raw, &shifts)
	if shifts == nil {
		shifts = []dispatch.Shift{}
	}
	if shiftPatternCount.Load() < maxShiftPatterns {
		if _, loaded := shiftPatterns.LoadOrStore(string(raw), slices.Clone(shifts)); !loaded {
			shiftPatternCount.Add(1)
		}
	}
	return shifts
}

func (s planRows) RouteStops(ctx context.Context, techIDs []int64, from, to time.Time) ([]planning.Stop, error) {
	rows, err := s.q.LiveJobsOf(ctx, techIDs, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, stopFrom), nil
}

func stopFrom(r db.LiveJobsOfRow) planning.Stop {
	return planning.Stop{JobID: r.ID, BookingID: r.BookingID, TechnicianID: *r.TechnicianID, Status: dispatch.JobStatus(r.Status),
		Start: r.PlannedStart.UTC(), End: r.PlannedEnd.UTC(), Pinned: r.Pinned, PinnedStart: r.PinnedStart,
		Location: dispatch.Location{Lat: r.Lat, Lng: r.Lng}, Duration: time.Duration(r.DurationMinutes) * time.Minute,
		Via: via(r.ViaLat, r.ViaLng)}
}

// via is the warehouse a stop's technician passes first, read as NaN when there is none.
func via(lat, lng float64) *dispatch.Location {
	if math.IsNaN(lat) || math.IsNaN(lng) {
		return nil
	}
	return &dispatch.Location{Lat: lat, Lng: lng}
}

func (s planRows) CandidateTechnicians(ctx context.Context, skills []string) ([]dispatch.Technician, error) {
	if skills == nil {
		skills = []string{}
	}
	rows, err := s.q.TechniciansWithSkills(ctx, skills)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, technicianFrom), nil
}

func (s planRows) TechniciansByIDs(ctx context.Context, ids []int64) ([]dispatch.Technician, error) {
	rows, err := s.q.TechniciansByIDs(ctx, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, technicianFrom), nil
}

func (s planRows) TimeOffOf(ctx context.Context, techIDs []int64, from, to time.Time) (map[int64][]dispatch.Window, error) {
	rows, err := s.q.TimeOffBetween(ctx, techIDs, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	return timeOffByTechnician(rows), nil
}

func timeOffByTechnician(rows []db.TechnicianTimeOff) map[int64][]dispatch.Window {
	out := map[int64][]dispatch.Window{}
	for _, r := range rows {
		out[r.TechnicianID] = append(out[r.TechnicianID], dispatch.Window{Start: r.StartsAt.UTC(), End: r.EndsAt.UTC()})
	}
	return out
}
