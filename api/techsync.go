package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/techsync"
)

// techSyncHandlers are the technician app's sync: pull what changed, push what was done offline.
type techSyncHandlers struct{ Deps }

type syncOfferDTO struct {
	ID        int64     `json:"id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

type syncBookingDTO struct {
	ID               int64             `json:"id"`
	ServiceType      string            `json:"service_type"`
	Appliance        string            `json:"appliance"`
	Problem          string            `json:"problem"`
	Address          string            `json:"address"`
	Location         dispatch.Location `json:"location"`
	Tier             string            `json:"tier"`
	SLADueAt         time.Time         `json:"sla_due_at"`
	SLADueLocal      string            `json:"sla_due_local"`
	DurationMinutes  int               `json:"duration_minutes"`
	WarrantyVerified *bool             `json:"warranty_verified"`
}

type syncCustomerDTO struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// syncJobDTO is a job as the technician's app keeps it.
type syncJobDTO struct {
	jobDTO
	AcceptedAt        *time.Time               `json:"accepted_at,omitempty"`
	Notes             string                   `json:"notes"`
	PartsUsed         []dispatch.Part          `json:"parts_used"`
	PlannedStartLocal *string                  `json:"planned_start_local"`
	Offer             *syncOfferDTO            `json:"offer"`
	Booking           syncBookingDTO           `json:"booking"`
	Customer          syncCustomerDTO          `json:"customer"`
	Navigation        string                   `json:"navigation"` // a geo: URI for the phone's maps app
	Checklist         json.RawMessage          `json:"checklist"`
	Attachments       []techsync.AttachmentRef `json:"attachments"`
	// Pickup is the warehouse to pass before the visit to collect its parts (absent: none).
	Pickup *pickupStopDTO `json:"pickup,omitempty"`
}

func syncJobOut(v techsync.Visit, zone *time.Location, a dispatch.Actor) syncJobDTO {
	j, b := v.Job, v.Booking
	out := syncJobDTO{jobDTO: jobOut(j, a), AcceptedAt: j.AcceptedAt, Notes: j.Notes, PartsUsed: j.PartsUsed,
		Booking: syncBookingDTO{ID: b.ID, ServiceType: string(b.ServiceType), Appliance: b.Appliance, Problem: b.Problem, Address: b.Address,
			Location: b.Location, Tier: string(b.Tier), SLADueAt: b.SLADueAt, SLADueLocal: b.SLADueAt.In(zone).Format(time.RFC3339),
			DurationMinutes: int(b.Duration / time.Minute), WarrantyVerified: b.WarrantyVerified},
		Customer: syncCustomerDTO{Name: b.ContactName, Phone: b.ContactPhone},
		Navigation: fmt.Sprintf("geo:%.6f,%.6f?q=%s", b.Location.Lat, b.Location.Lng,
			url.QueryEscape(fmt.Sprintf("%.6f,%.6f(%s)", b.Location.Lat, b.Location.Lng, b.Address))),
		Checklist: v.Checklist, Attachments: v.Attachments}
	if out.PartsUsed == nil {
		out.PartsUsed = []dispatch.Part{}
	}
	if out.Attachments == nil {
		out.Attachments = []techsync.AttachmentRef{}
	}
	if out.Checklist == nil {
		out.Checklist = json.RawMessage("null")
	}
	if j.PlannedStart != nil {
		s := j.PlannedStart.In(zone).Format(time.RFC3339)
		out.PlannedStartLocal = &s
	}
	if p := v.Pickup; p != nil {
		out.Pickup = &pickupStopDTO{LocationID: p.LocationID, Name: p.Name, Location: p.Location, Start: p.Start, End: p.End}
	}
	if o := v.Offer; o != nil {
		out.Offer = &syncOfferDTO{ID: o.ID, Status: o.Status, CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt}
	}
	return out
}

type syncRemovalDTO struct {
	Entity string `json:"entity"`
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
}

type syncUpsertsDTO struct {
	Jobs          []syncJobDTO      `json:"jobs"`
	Notifications []notificationDTO `json:"notifications"`
	TimeOff       []timeOffDTO      `json:"time_off"`
}

func (h techSyncHandlers) pull(c echo.Context) error {
	if err := onlyQuery(c, "cursor"); err != nil {
		return err
	}
	a := actor(c)
	w, err := h.Services.TechSync.Pull(c.Request().Context(), a, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	up := syncUpsertsDTO{Jobs: make([]syncJobDTO, 0, len(w.Visits)), Notifications: make([]notificationDTO, 0, len(w.Notifications)),
		TimeOff: make([]timeOffDTO, 0, len(w.TimeOff))}
	for _, v := range w.Visits {
		up.Jobs = append(up.Jobs, syncJobOut(v, w.Zone, a))
	}
	for _, n := range w.Notifications {
		up.Notifications = append(up.Notifications, notificationOut(n))
	}
	for _, o := range w.TimeOff {
		up.TimeOff = append(up.TimeOff, timeOffOut(o))
	}
	rm := make([]syncRemovalDTO, 0, len(w.Removals))
	for _, r := range w.Removals {
		rm = append(rm, syncRemovalDTO(r))
	}
	t := w.Technician
	return c.JSON(http.StatusOK, map[string]any{"cursor": w.Cursor, "full": w.Full, "more": w.More, "server_time": h.Now().UTC(),
		"technician": map[string]any{"id": t.ID, "name": t.Name, "time_zone": w.Zone.String()},
		"upserts":    up, "removals": rm})
}

type syncPushRequest struct {
	// DeviceTime is the phone's clock as it sends (a browser may not set the Date header).
	DeviceTime *time.Time     `json:"device_time,omitempty"`
	Actions    []techsync.Act `json:"actions"`
}

type syncResultDTO struct {
	Key        string               `json:"key"`
	Outcome    string               `json:"outcome"`
	Code       string               `json:"code,omitempty"`
	Message    string               `json:"message,omitempty"`
	Field      string               `json:"field,omitempty"`
	DeviceTime *techsync.DeviceTime `json:"device_time,omitempty"`
	Job        *syncJobDTO          `json:"job,omitempty"`
}

func (h techSyncHandlers) push(c echo.Context) error {
	var req syncPushRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	b := techsync.Batch{Acts: req.Actions, DeviceNow: req.DeviceTime}
	if b.DeviceNow == nil {
		if d, err := http.ParseTime(c.Request().Header.Get("Date")); err == nil {
			b.DeviceNow = &d
		}
	}
	a := actor(c)
	res, err := h.Services.TechSync.Push(c.Request().Context(), a, b)
	if err != nil {
		return err
	}
	zone := res.Zone
	out := make([]syncResultDTO, 0, len(res.Answers))
	for _, ans := range res.Answers {
		r := syncResultDTO{Key: ans.Key, Outcome: ans.Outcome, Code: ans.Code, Message: ans.Message, Field: ans.Field, DeviceTime: ans.DeviceTime}
		if ans.Visit != nil {
			j := syncJobOut(*ans.Visit, zone, a)
			r.Job = &j
		}
		out = append(out, r)
	}
	return c.JSON(http.StatusOK, map[string]any{"skew_seconds": math.Round(res.Skew.Seconds()*10) / 10, "results": out})
}

// TechnicianTokenTTL is how long the token a sign-in link gives the technician's app lasts, as
// long as `fieldfix token`'s default: a phone signed in on Monday still works next month.
const TechnicianTokenTTL = 30 * 24 * time.Hour

func (h techSyncHandlers) issueSigninLink(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := optionalBody(c, &struct{}{}); err != nil {
		return err
	}
	l, err := h.Services.TechSync.IssueSigninLink(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, map[string]any{"technician_id": l.Technician.ID, "technician_name": l.Technician.Name,
		"url": h.Services.TechSync.SigninURL(l.Code), "code": l.Code, "expires_at": l.ExpiresAt.UTC()})
}

type signinRequest struct {
	Code string `json:"code"`
}

// redeemSigninLink is public: the link's code is the credential, good once.
func (h techSyncHandlers) redeemSigninLink(c echo.Context) error {
	var req signinRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.Services.TechSync.RedeemSigninLink(c.Request().Context(), req.Code)
	if err != nil {
		return err
	}
	now := h.Now()
	tok, err := JWT{Secret: h.JWTSecret, Issuer: h.JWTIssuer, Audience: h.JWTAudience}.Issue(dispatch.RoleTechnician, *t.Subject, now, TechnicianTokenTTL)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"token": tok, "token_type": "Bearer", "expires_at": now.Add(TechnicianTokenTTL).UTC().Truncate(time.Second),
		"technician": map[string]any{"id": t.ID, "name": t.Name, "time_zone": zoneOf(t.TimeZone)}})
}

func zoneOf(name string) string {
	if _, err := time.LoadLocation(name); err != nil || name == "" {
		return "UTC"
	}
	return name
}
