package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/overrides"
)

type deviceRequest struct {
	Token      string `json:"token"`
	Platform   string `json:"platform"`
	AppVersion string `json:"app_version"`
}

type deviceDTO struct {
	Token      string    `json:"token"`
	Platform   string    `json:"platform"`
	AppVersion string    `json:"app_version"`
	Active     bool      `json:"active"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func (h lifecycleHandlers) putDevice(c echo.Context) error {
	var req deviceRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := h.Services.Lifecycle.RegisterDevice(c.Request().Context(), actor(c), req.Token, req.Platform, req.AppVersion)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deviceDTO{Token: d.Token, Platform: d.Platform, AppVersion: d.AppVersion, Active: d.Active, LastSeenAt: d.LastSeenAt})
}

func (h lifecycleHandlers) deleteDevice(c echo.Context) error {
	if err := h.Services.Lifecycle.RemoveDevice(c.Request().Context(), actor(c), c.Param("token")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type notificationDTO struct {
	ID        int64          `json:"id"`
	Kind      string         `json:"kind"`
	JobID     *int64         `json:"job_id,omitempty"`
	BookingID *int64         `json:"booking_id,omitempty"`
	Title     string         `json:"title"`
	Body      string         `json:"body"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"created_at"`
}

func notificationOut(n dispatch.Notification) notificationDTO {
	return notificationDTO{ID: n.ID, Kind: n.Kind, JobID: n.JobID, BookingID: n.BookingID, Title: n.Title, Body: n.Body, Data: n.Data, CreatedAt: n.CreatedAt}
}

func (h lifecycleHandlers) inbox(c echo.Context) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	ns, err := h.Services.Lifecycle.Inbox(c.Request().Context(), actor(c), page)
	if err != nil {
		return err
	}
	out := listDTO[notificationDTO]{Items: make([]notificationDTO, 0, len(ns))}
	for _, n := range ns {
		out.Items = append(out.Items, notificationOut(n))
	}
	if n := len(ns); n > 0 {
		out.NextBefore = nextBefore(page, n, ns[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

type agendaItemDTO struct {
	Job             jobDTO            `json:"job"`
	BookingID       int64             `json:"booking_id"`
	Appliance       string            `json:"appliance"`
	ServiceType     string            `json:"service_type"`
	Problem         string            `json:"problem"`
	Address         string            `json:"address"`
	Location        dispatch.Location `json:"location"`
	DurationMinutes int               `json:"duration_minutes"`
	SLADueAt        time.Time         `json:"sla_due_at"`
	Tier            string            `json:"tier"`
	// WarrantyVerified false: ask for the proof of purchase on site (proof_of_purchase).
	WarrantyVerified *bool      `json:"warranty_verified"`
	ETA              *time.Time `json:"eta"`
	// Done: finished today (completed or incomplete), kept on the day's agenda.
	Done bool `json:"done"`
	// The times a technician reads, in their own time zone.
	TimeZone          string  `json:"time_zone"`
	SLADueLocal       string  `json:"sla_due_local"`
	PlannedStartLocal *string `json:"planned_start_local"`
	// Who to ask for at the door, as the booking gives them (empty when not given).
	CustomerName  string `json:"customer_name"`
	CustomerPhone string `json:"customer_phone"`
	// Pickup is the warehouse to pass first, to collect the visit's parts (absent: none).
	Pickup *pickupStopDTO `json:"pickup,omitempty"`
}

func (h lifecycleHandlers) agenda(c echo.Context) error {
	a := actor(c)
	items, err := h.Services.Lifecycle.Agenda(c.Request().Context(), a)
	if err != nil {
		return err
	}
	out := listDTO[agendaItemDTO]{Items: make([]agendaItemDTO, 0, len(items))}
	for _, it := range items {
		b := it.Booking
		item := agendaItemDTO{Job: jobOut(it.Job, a), BookingID: b.ID, Appliance: b.Appliance, ServiceType: string(b.ServiceType),
			Problem: b.Problem, Address: b.Address, Location: b.Location, DurationMinutes: int(b.Duration / time.Minute),
			SLADueAt: b.SLADueAt, Tier: string(b.Tier), WarrantyVerified: b.WarrantyVerified, ETA: it.ETA, Done: it.Done,
			TimeZone: it.Zone.String(), SLADueLocal: b.SLADueAt.In(it.Zone).Format(time.RFC3339),
			CustomerName: b.ContactName, CustomerPhone: b.ContactPhone}
		if it.Job.PlannedStart != nil {
			v := it.Job.PlannedStart.In(it.Zone).Format(time.RFC3339)
			item.PlannedStartLocal = &v
		}
		item.Pickup = pickupOut(it.Pickup)
		out.Items = append(out.Items, item)
	}
	return c.JSON(http.StatusOK, out)
}

// named fills in the technician's name of a job a transition answered without it (the technician
// reads their own job's answers as everyone else reads jobs).
func (h lifecycleHandlers) named(c echo.Context, j dispatch.Job) dispatch.Job {
	if j.TechnicianName != "" || j.TechnicianID == nil {
		return j
	}
	if t, err := h.Services.Roster.Store.GetTechnician(c.Request().Context(), *j.TechnicianID); err == nil {
		j.TechnicianName = t.Name
	}
	return j
}

func jobAnswer(c echo.Context, j dispatch.Job, warnings []overrides.Warning) error {
	setETag(c, j.Version)
	out := map[string]any{"job": jobOut(j, actor(c))}
	if warnings != nil {
		out["warnings"] = warnings
	}
	return c.JSON(http.StatusOK, out)
}

func (h lifecycleHandlers) acceptJob(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	j, err := h.Services.Lifecycle.AcceptJob(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return jobAnswer(c, h.named(c, j), nil)
}

type declineRequest struct {
	Reason string `json:"reason"`
}

func (h lifecycleHandlers) declineJob(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req declineRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	j, err := h.Services.Lifecycle.DeclineJob(c.Request().Context(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return jobAnswer(c, j, nil)
}

type statusRequest struct {
	Status          string          `json:"status"`
	Outcome         string          `json:"outcome,omitempty"`
	Notes           string          `json:"notes,omitempty"`
	PartsUsed       []dispatch.Part `json:"parts_used,omitempty"`
	NeededParts     []dispatch.Part `json:"needed_parts,omitempty"`
	Location        *locationDTO    `json:"location,omitempty"`
	ProofOfPurchase *bool           `json:"proof_of_purchase,omitempty"`
}

func (h lifecycleHandlers) jobStatus(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req statusRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	u := dispatch.StatusUpdate{Status: dispatch.JobStatus(req.Status), Outcome: req.Outcome, Notes: req.Notes, PartsUsed: req.PartsUsed,
		NeededParts: req.NeededParts, ProofOfPurchase: req.ProofOfPurchase}
	if req.Location != nil {
		l, err := req.Location.toLocation("location")
		if err != nil {
			return err
		}
		u.Location = &l
	}
	j, err := h.Services.Lifecycle.UpdateJobStatus(c.Request().Context(), actor(c), id, u)
	if err != nil {
		return err
	}
	return jobAnswer(c, h.named(c, j), nil)
}

func (h lifecycleHandlers) getJob(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a := actor(c)
	j, b, err := h.Services.Intake.GetVisit(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	setETag(c, j.Version)
	return c.JSON(http.StatusOK, jobDetailOut(j, b, a))
}
