package board

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/geo"
)

// Item is a job waiting for attention, with its SLA countdown.
type Item struct {
	BoardJob
	DueIn   time.Duration
	Reasons []string // why it is at risk
}

// Route is one technician's day.
type Route struct {
	Technician dispatch.Technician
	Jobs       []RouteJob         // live and finished visits overlapping the day, in start order
	TimeOff    []dispatch.TimeOff // overlapping the day
	Shifts     []dispatch.Window  // the technician's shifts overlapping the day
}

// Board is the dispatcher's view of a day.
type Board struct {
	Day        dispatch.Date
	Zone       *time.Location // the dispatchers' (FIELDFIX_TIME_ZONE): the day is a day there
	Now        time.Time
	Region     string
	Unassigned []Item
	AtRisk     []Item
	Routes     []Route
	// OverdueComplaints were not acknowledged within ComplaintAckWithin.
	OverdueComplaints []dispatch.Complaint
	// ReadFrom is "primary" or "replica" (FIELDFIX_READ_DATABASE_URL); Stale is how far behind
	// the primary the replica was when read (0 on the primary).
	ReadFrom string
	Stale    time.Duration
}

// AtRiskWithin flags bookings whose SLA falls due this soon without a visit under way.
const AtRiskWithin = 6 * time.Hour

// Board lists unassigned and at-risk jobs and each technician's route for a day, optionally in
// some regions (H3 res-5 cells, separated by commas).
func (s *Service) Board(ctx context.Context, a dispatch.Actor, day dispatch.Date, region string) (Board, error) {
	if !a.Staff() {
		return Board{}, dispatch.Forbidden("only dispatchers read the board")
	}
	inRegion, err := regionFilter(region)
	if err != nil {
		return Board{}, err
	}
	now := s.Now()
	if day.IsZero() {
		day = dispatch.DateOf(now.In(s.Rules.Zone()))
	}
	out := Board{Day: day, Zone: s.Rules.Zone(), Now: now, Region: region, Unassigned: []Item{}, AtRisk: []Item{}, Routes: []Route{}, ReadFrom: "primary"}
	if s.Fresh != nil {
		out.ReadFrom, out.Stale = s.Fresh(ctx)
	}
	open, err := s.Store.OpenJobs(ctx, now.Add(AtRiskWithin))
	if err != nil {
		return Board{}, err
	}
	for _, bj := range open {
		if !inRegion(bj.Location) {
			continue
		}
		item := Item{BoardJob: bj, DueIn: bj.SLADueAt.Sub(now)}
		if bj.Job.TechnicianID == nil {
			out.Unassigned = append(out.Unassigned, item)
		}
		if bj.Job.Visit == 1 && bj.Job.Status != dispatch.JobOnSite {
			// A customer who chose windows after the due time is not a risk the service runs (the
			// watchdog's rule too): only a late technician is.
			if bj.Job.TechnicianID == nil && item.DueIn < AtRiskWithin && !bj.CustomerDeferred {
				item.Reasons = append(item.Reasons, "no technician and less than 6 h to the SLA due time")
			}
			if bj.Job.PlannedStart != nil && bj.Job.PlannedStart.After(bj.SLADueAt) && !bj.CustomerDeferred {
				item.Reasons = append(item.Reasons, "planned arrival after the SLA due time")
			}
			if bj.Job.TechnicianID != nil && item.DueIn < AtRiskWithin && bj.Job.Status != dispatch.JobEnRoute && bj.Job.PlannedStart != nil && bj.Job.PlannedStart.Add(30*time.Minute).Before(now) {
				item.Reasons = append(item.Reasons, "technician more than 30 min late for the planned start")
			}
			if len(item.Reasons) > 0 {
				out.AtRisk = append(out.AtRisk, item)
			}
		}
	}
	if out.OverdueComplaints, err = s.OverdueComplaints(ctx); err != nil {
		return Board{}, err
	}
	from := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, s.Rules.Zone())
	techs, err := s.Store.ListTechnicians(ctx, dispatch.Page{Limit: 10000})
	if err != nil {
		return Board{}, err
	}
	slices.SortFunc(techs, func(x, y dispatch.Technician) int { return int(x.ID - y.ID) })
	to := from.AddDate(0, 0, 1)
	for _, t := range techs {
		if !t.Active || !inRegion(t.Home) {
			continue
		}
		out.Routes = append(out.Routes, Route{Technician: t, Jobs: []RouteJob{}, TimeOff: []dispatch.TimeOff{},
			Shifts: planning.ShiftWindows(t, from, to, nil)})
	}
	if err := s.fillRoutes(ctx, out.Routes, from, to); err != nil {
		return Board{}, err
	}
	ids := make([]int64, len(out.Routes))
	for i, r := range out.Routes {
		ids[i] = r.Technician.ID
	}
	offs, err := s.Store.TimeOffBetween(ctx, ids, from, to)
	if err != nil {
		return Board{}, err
	}
	for _, o := range offs {
		i := slices.IndexFunc(out.Routes, func(r Route) bool { return r.Technician.ID == o.TechnicianID })
		out.Routes[i].TimeOff = append(out.Routes[i].TimeOff, o)
	}
	return out, nil
}

// MaxRegions is how many regions one view may combine.
const MaxRegions = 20

// regionFilter says whether a place is in region: an H3 res-5 cell, or several separated by
// commas (a dispatcher's regions); empty: every place.
func regionFilter(region string) (func(dispatch.Location) bool, error) {
	if region == "" {
		return func(dispatch.Location) bool { return true }, nil
	}
	ids := strings.Split(region, ",")
	if len(ids) > MaxRegions {
		return nil, dispatch.Invalid("region", "invalid_region", "at most %d regions", MaxRegions)
	}
	regs := make(map[geo.Cell]bool, len(ids))
	for _, id := range ids {
		reg, err := geo.ParseCellAt(id, geo.ResRegion)
		if err != nil {
			return nil, dispatch.Invalid("region", "invalid_region", "region must be H3 cells at resolution %d, separated by commas: %v", geo.ResRegion, err)
		}
		regs[reg] = true
	}
	return func(l dispatch.Location) bool {
		c, err := geo.RegionOf(planning.Point(l))
		return err == nil && regs[c]
	}, nil
}

// OverdueComplaints are complaints still open past the acknowledgement time.
func (s *Service) OverdueComplaints(ctx context.Context) ([]dispatch.Complaint, error) {
	return s.Store.UnacknowledgedComplaints(ctx, s.Now().Add(-dispatch.ComplaintAckWithin))
}

// AtRiskCount is the number of bookings at risk now (for the gauge).
func (s *Service) AtRiskCount(ctx context.Context) (int, error) {
	b, err := s.Board(ctx, dispatch.Actor{Subject: "metrics", Role: dispatch.RoleDispatcher}, dispatch.Date{}, "")
	if err != nil {
		return 0, err
	}
	return len(b.AtRisk), nil
}

// BoardJob is a job as the board lists it.
type BoardJob struct {
	Job       dispatch.Job
	SLADueAt  time.Time
	Tier      dispatch.Tier
	Location  dispatch.Location
	Appliance string
	Address   string
	Region    string
	// CustomerDeferred: the customer chose windows after the due time.
	CustomerDeferred bool
	CustomerName     string   // who to ask for at the door (the booking's contact)
	RequiredSkills   []string // the trade(s) the visit needs
	// UnassignedCode and UnassignedReason say why a job without a technician has none: the
	// planner's reason (no_skill, outside_areas, no_room, no_room_in_windows, all_refused),
	// unassigned_by_dispatcher, planning_failed, or not_planned.
	UnassignedCode, UnassignedReason string
}
