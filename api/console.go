package api

import (
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/overrides"
)

type assignRequest struct {
	TechnicianID *int64     `json:"technician_id"`
	PlannedStart *time.Time `json:"planned_start,omitempty"`
	Pin          *bool      `json:"pin,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	Force        bool       `json:"force,omitempty"`
	DryRun       bool       `json:"dry_run,omitempty"`
}

func (h consoleHandlers) assignJob(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req assignRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.TechnicianID == nil || *req.TechnicianID <= 0 {
		return dispatch.Invalid("technician_id", "missing_field", "technician_id is required")
	}
	j, ws, err := h.Services.Overrides.AssignJob(c.Request().Context(), actor(c), id, v, overrides.AssignRequest{
		TechnicianID: *req.TechnicianID, PlannedStart: req.PlannedStart, Pin: req.Pin, Reason: req.Reason, Force: req.Force, DryRun: req.DryRun})
	if err != nil {
		return err
	}
	return jobAnswer(c, j, ws)
}

type reasonRequest struct {
	Reason string `json:"reason,omitempty"`
}

// optionalBody decodes a body when one was sent.
func optionalBody(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	_, err := decodeJSON(c, v)
	return err
}

func (h consoleHandlers) unassignJob(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := optionalBody(c, &req); err != nil {
		return err
	}
	j, err := h.Services.Overrides.UnassignJob(c.Request().Context(), actor(c), id, v, req.Reason)
	if err != nil {
		return err
	}
	return jobAnswer(c, j, nil)
}

func (h consoleHandlers) pinJob(pinned bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		v, err := ifMatch(c)
		if err != nil {
			return err
		}
		j, err := h.Services.Overrides.SetPinned(c.Request().Context(), actor(c), id, v, pinned)
		if err != nil {
			return err
		}
		return jobAnswer(c, j, nil)
	}
}

type unavailableRequest struct {
	From   *time.Time `json:"from,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

func (h consoleHandlers) technicianUnavailable(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req unavailableRequest
	if err := optionalBody(c, &req); err != nil {
		return err
	}
	off, moved, err := h.Services.Overrides.MarkUnavailable(c.Request().Context(), actor(c), id, req.From, req.Until, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"time_off": timeOffOut(off), "redispatched": moved})
}

type timeOffDTO struct {
	ID           int64     `json:"id"`
	TechnicianID int64     `json:"technician_id"`
	From         time.Time `json:"from"`
	Until        time.Time `json:"until"`
	Reason       string    `json:"reason"`
	MovedJobIDs  []int64   `json:"moved_job_ids"`
	CreatedAt    time.Time `json:"created_at"`
}

func timeOffOut(o dispatch.TimeOff) timeOffDTO {
	out := timeOffDTO{ID: o.ID, TechnicianID: o.TechnicianID, From: o.Start, Until: o.End, Reason: o.Reason, MovedJobIDs: o.MovedJobs, CreatedAt: o.CreatedAt}
	if out.MovedJobIDs == nil {
		out.MovedJobIDs = []int64{}
	}
	return out
}

func (h consoleHandlers) listTimeOff(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	offs, err := h.Services.Overrides.ListTimeOff(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	out := listDTO[timeOffDTO]{Items: make([]timeOffDTO, 0, len(offs))}
	for _, o := range offs {
		out.Items = append(out.Items, timeOffOut(o))
	}
	return c.JSON(http.StatusOK, out)
}

func (h consoleHandlers) withdrawTimeOff(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	offID, err := pathID(c, "time_off_id")
	if err != nil {
		return err
	}
	moved, err := h.Services.Overrides.WithdrawTimeOff(c.Request().Context(), actor(c), id, offID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"replanned": moved})
}

type boardItemDTO struct {
	JobID        int64             `json:"job_id"`
	BookingID    int64             `json:"booking_id"`
	Reference    string            `json:"reference"` // B-<booking>/<visit>, as people name it
	Status       string            `json:"status"`
	TechnicianID *int64            `json:"technician_id"`
	PlannedStart *time.Time        `json:"planned_start"`
	Tier         string            `json:"tier"`
	SLADueAt     time.Time         `json:"sla_due_at"`
	DueInMinutes int               `json:"due_in_minutes"`
	Appliance    string            `json:"appliance"`
	Address      string            `json:"address"`
	Location     dispatch.Location `json:"location"`
	Region       string            `json:"region"`
	Reasons      []string          `json:"reasons,omitempty"`
	// ReasonCode and ReasonMessage: why a job without a technician has none.
	ReasonCode     string   `json:"reason_code,omitempty"`
	ReasonMessage  string   `json:"reason_message,omitempty"`
	Version        int      `json:"version"`
	CustomerName   string   `json:"customer_name"`
	RequiredSkills []string `json:"required_skills"`
	SlackMinutes   int      `json:"slack_minutes"`
}

type routeDTO struct {
	Technician technicianDTO `json:"technician"`
	Jobs       []routeJobDTO `json:"jobs"`
	TimeOff    []timeOffDTO  `json:"time_off"`
	Shifts     []windowDTO   `json:"shifts"`
}

func boardItems(items []board.Item, now time.Time) []boardItemDTO {
	out := make([]boardItemDTO, 0, len(items))
	for _, it := range items {
		out = append(out, boardItemDTO{JobID: it.Job.ID, BookingID: it.Job.BookingID, Reference: it.Job.Reference(), Status: string(it.Job.State()), TechnicianID: it.Job.TechnicianID,
			PlannedStart: it.Job.PlannedStart, Tier: string(it.Tier), SLADueAt: it.SLADueAt, DueInMinutes: int(it.DueIn / time.Minute),
			Appliance: it.Appliance, Address: it.Address, Location: it.Location, Region: it.Region, Reasons: it.Reasons, ReasonCode: it.UnassignedCode, ReasonMessage: it.UnassignedReason, Version: it.Job.Version,
			CustomerName: it.CustomerName, RequiredSkills: nonNil(it.RequiredSkills), SlackMinutes: int(it.Slack(now).Truncate(time.Minute) / time.Minute)})
	}
	return out
}

func (h consoleHandlers) board(c echo.Context) error {
	var day dispatch.Date
	if d := c.QueryParam("day"); d != "" {
		v, err := dispatch.ParseDate(d)
		if err != nil {
			return dispatch.Invalid("day", "invalid_date", "day must be YYYY-MM-DD")
		}
		day = v
	}
	a := actor(c)
	b, err := h.Services.Board.Board(c.Request().Context(), a, day, c.QueryParam("region"))
	if err != nil {
		return err
	}
	routes := make([]routeDTO, 0, len(b.Routes))
	for _, r := range b.Routes {
		jobs := make([]routeJobDTO, 0, len(r.Jobs))
		for _, j := range r.Jobs {
			jobs = append(jobs, routeJobOut(j, a))
		}
		offs := make([]timeOffDTO, 0, len(r.TimeOff))
		for _, o := range r.TimeOff {
			offs = append(offs, timeOffOut(o))
		}
		shifts := make([]windowDTO, 0, len(r.Shifts))
		for _, w := range r.Shifts {
			shifts = append(shifts, windowDTO(w))
		}
		routes = append(routes, routeDTO{Technician: technicianOut(r.Technician), Jobs: jobs, TimeOff: offs, Shifts: shifts})
	}
	overdue := make([]complaintDTO, 0, len(b.OverdueComplaints))
	for _, x := range b.OverdueComplaints {
		overdue = append(overdue, complaintOut(x))
	}
	return c.JSON(http.StatusOK, map[string]any{"day": b.Day, "time_zone": b.Zone.String(), "now": b.Now, "region": b.Region,
		"unassigned": boardItems(b.Unassigned, b.Now), "at_risk": boardItems(b.AtRisk, b.Now), "routes": routes, "overdue_complaints": overdue,
		"read_from": b.ReadFrom, "stale_seconds": math.Round(b.Stale.Seconds()*10) / 10})
}

type auditDTO struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	ActorRole  string         `json:"actor_role"`
	Entity     string         `json:"entity"`
	EntityID   int64          `json:"entity_id"`
	Action     string         `json:"action"`
	FromStatus string         `json:"from_status,omitempty"`
	ToStatus   string         `json:"to_status,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
}

func queryTime(c echo.Context, name string) (*time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, dispatch.Invalid(name, "invalid_time", "%s must be an RFC 3339 time", name)
	}
	return &t, nil
}

func (h consoleHandlers) audit(c echo.Context) error {
	if err := onlyQuery(c, "entity", "entity_id", "actor", "from", "to"); err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	entityID, err := queryInt(c, "entity_id")
	if err != nil {
		return err
	}
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	evs, err := h.Services.Board.ListAudit(c.Request().Context(), actor(c), board.AuditFilter{Entity: c.QueryParam("entity"), EntityID: entityID,
		Actor: c.QueryParam("actor"), From: from, To: to, Page: page})
	if err != nil {
		return err
	}
	out := listDTO[auditDTO]{Items: make([]auditDTO, 0, len(evs))}
	for _, e := range evs {
		out.Items = append(out.Items, auditDTO{ID: e.ID, At: e.At, Actor: e.ActorSub, ActorRole: string(e.ActorRole), Entity: e.Entity,
			EntityID: e.EntityID, Action: e.Action, FromStatus: e.FromStatus, ToStatus: e.ToStatus, Reason: e.Reason, Data: e.Data})
	}
	if n := len(evs); n > 0 {
		out.NextBefore = nextBefore(page, n, evs[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

type optimizeRequest struct {
	Region   string `json:"region,omitempty"`
	BudgetMS int    `json:"budget_ms,omitempty"`
	DryRun   bool   `json:"dry_run,omitempty"`
	// FreezeMinutes, when given, replaces the freeze horizon (0: every visit not accepted may move).
	FreezeMinutes *int `json:"freeze_minutes,omitempty"`
}

func (h consoleHandlers) optimize(c echo.Context) error {
	var req optimizeRequest
	if err := optionalBody(c, &req); err != nil {
		return err
	}
	if req.BudgetMS < 0 || req.BudgetMS > 120000 {
		return dispatch.Invalid("budget_ms", "out_of_range", "budget_ms must be between 1 and 120000")
	}
	run := optimize.Request{Region: req.Region, Budget: time.Duration(req.BudgetMS) * time.Millisecond, DryRun: req.DryRun}
	if req.FreezeMinutes != nil {
		if *req.FreezeMinutes < 0 || *req.FreezeMinutes > 7*24*60 {
			return dispatch.Invalid("freeze_minutes", "out_of_range", "freeze_minutes must be between 0 and 10080")
		}
		f := time.Duration(*req.FreezeMinutes) * time.Minute
		run.Freeze = &f
	}
	res, err := h.Services.Optimize.Run(c.Request().Context(), actor(c), run)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
