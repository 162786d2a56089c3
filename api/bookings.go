package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
)

type locationDTO struct {
	Lat *float64 `json:"lat"`
	Lng *float64 `json:"lng"`
}

func (l *locationDTO) toLocation(field string) (dispatch.Location, error) {
	if l == nil || l.Lat == nil || l.Lng == nil {
		return dispatch.Location{}, dispatch.Invalid(field, "invalid_location", "%s needs lat and lng", field)
	}
	return dispatch.Location{Lat: *l.Lat, Lng: *l.Lng}, nil
}

type windowDTO struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

type bookingRequest struct {
	ServiceType      string       `json:"service_type"`
	Appliance        string       `json:"appliance"`
	Problem          string       `json:"problem"`
	Address          string       `json:"address"`
	Location         *locationDTO `json:"location"`
	PurchaseID       *int64       `json:"purchase_id,omitempty"`
	PreferredWindows []windowDTO  `json:"preferred_windows,omitempty"`
	Channel          string       `json:"channel,omitempty"`
	ReturnKind       string       `json:"return_kind,omitempty"`
	CustomerSub      string       `json:"customer_sub,omitempty"`
	ForceReason      string       `json:"force_reason,omitempty"`
	ContactName      string       `json:"contact_name,omitempty"`
	ContactPhone     string       `json:"contact_phone,omitempty"`
}

type jobDTO struct {
	ID             int64      `json:"id"`
	BookingID      int64      `json:"booking_id"`
	Reference      string     `json:"reference"`
	Visit          int        `json:"visit"`
	Status         string     `json:"status"`
	TechnicianID   *int64     `json:"technician_id"`
	TechnicianName string     `json:"technician_name,omitempty"`
	PlannedStart   *time.Time `json:"planned_start"`
	PlannedEnd     *time.Time `json:"planned_end,omitempty"`
	Pinned         bool       `json:"pinned"`
	OfferExpiresAt *time.Time `json:"offer_expires_at,omitempty"`
	EnRouteAt      *time.Time `json:"en_route_at,omitempty"`
	OnSiteAt       *time.Time `json:"on_site_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	// The phone's times of the steps reported offline, when plausible (the SLA reads them first).
	EnRouteDeviceAt  *time.Time `json:"en_route_device_at,omitempty"`
	OnSiteDeviceAt   *time.Time `json:"on_site_device_at,omitempty"`
	FinishedDeviceAt *time.Time `json:"finished_device_at,omitempty"`
	Outcome          string     `json:"outcome,omitempty"`
	SignOffMethod    string     `json:"signoff_method,omitempty"`
	SignedOffAt      *time.Time `json:"signed_off_at,omitempty"`
	// The warehouse the technician passes first to collect the visit's parts, and when they did
	// (staff and technicians only).
	PickupLocationID *int64     `json:"pickup_location_id,omitempty"`
	PickedUpAt       *time.Time `json:"picked_up_at,omitempty"`
	Version          int        `json:"version"`
}

// jobDetailDTO is one visit whole (GET /v1/jobs/{id}): what was planned, what the technician
// reported, and the booking it serves.
type jobDetailDTO struct {
	jobDTO
	AcceptedAt *time.Time      `json:"accepted_at,omitempty"`
	Notes      *string         `json:"notes,omitempty"` // staff and the technician only
	PartsUsed  []dispatch.Part `json:"parts_used"`
	Booking    visitBookingDTO `json:"booking"`
}

type visitBookingDTO struct {
	ID          int64             `json:"id"`
	Status      string            `json:"status"`
	Tier        string            `json:"tier"`
	SLADueAt    time.Time         `json:"sla_due_at"`
	ServiceType string            `json:"service_type"`
	Appliance   string            `json:"appliance"`
	Problem     string            `json:"problem"`
	Address     string            `json:"address"`
	Location    dispatch.Location `json:"location"`
}

func jobDetailOut(j dispatch.Job, b dispatch.Booking, a dispatch.Actor) jobDetailDTO {
	out := jobDetailDTO{jobDTO: jobOut(j, a), AcceptedAt: j.AcceptedAt, PartsUsed: j.PartsUsed,
		Booking: visitBookingDTO{ID: b.ID, Status: string(b.Status), Tier: string(b.Tier), SLADueAt: b.SLADueAt, ServiceType: string(b.ServiceType),
			Appliance: b.Appliance, Problem: b.Problem, Address: b.Address, Location: b.Location}}
	if out.PartsUsed == nil {
		out.PartsUsed = []dispatch.Part{}
	}
	if a.Role != dispatch.RoleCustomer { // the technician's notes are the service's, not the customer's
		notes := j.Notes
		out.Notes = &notes
	} else {
		out.OfferExpiresAt = nil
	}
	return out
}

type bookingDTO struct {
	ID               int64             `json:"id"`
	Status           string            `json:"status"`
	Tier             string            `json:"tier"`
	SLADueAt         time.Time         `json:"sla_due_at"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
	RequiredSkills   []string          `json:"required_skills"`
	DurationMinutes  int               `json:"duration_minutes"`
	ServiceType      string            `json:"service_type"`
	Appliance        string            `json:"appliance"`
	Problem          string            `json:"problem"`
	Address          string            `json:"address"`
	Location         dispatch.Location `json:"location"`
	Region           string            `json:"region"`
	PurchaseID       *int64            `json:"purchase_id"`
	PreferredWindows []windowDTO       `json:"preferred_windows"`
	Channel          string            `json:"channel"`
	ReturnKind       string            `json:"return_kind,omitempty"`
	CustomerSub      string            `json:"customer_sub,omitempty"`
	CancelReason     string            `json:"cancel_reason,omitempty"`
	CustomerDeferred bool              `json:"customer_deferred"`
	WarrantyVerified *bool             `json:"warranty_verified"`
	ContactName      string            `json:"contact_name,omitempty"`
	ContactPhone     string            `json:"contact_phone,omitempty"`
	Version          int               `json:"version"`
	Job              *jobDTO           `json:"job"`
	Jobs             []jobDTO          `json:"jobs"`
	TechnicianName   string            `json:"technician_name,omitempty"`
	ETA              *time.Time        `json:"eta,omitempty"`
}

func jobOut(j dispatch.Job, a dispatch.Actor) jobDTO {
	name := j.TechnicianName
	if a.Role == dispatch.RoleCustomer {
		name, _, _ = strings.Cut(name, " ") // customers see the technician's first name only
	}
	out := jobDTO{ID: j.ID, BookingID: j.BookingID, Reference: j.Reference(), Visit: j.Visit, Status: string(j.State()), TechnicianID: j.TechnicianID,
		TechnicianName: name, PlannedStart: j.PlannedStart, PlannedEnd: j.PlannedEnd, Pinned: j.Pinned, OfferExpiresAt: j.OfferExpiresAt,
		EnRouteAt: j.EnRouteAt, OnSiteAt: j.OnSiteAt, FinishedAt: j.FinishedAt, Outcome: j.Outcome,
		EnRouteDeviceAt: j.EnRouteDeviceAt, OnSiteDeviceAt: j.OnSiteDeviceAt, FinishedDeviceAt: j.FinishedDeviceAt,
		SignOffMethod: j.SignOffMethod, SignedOffAt: j.SignedOffAt, Version: j.Version}
	if a.Role != dispatch.RoleCustomer {
		out.PickupLocationID, out.PickedUpAt = j.PickupLocationID, j.PickedUpAt
	}
	return out
}

func bookingOut(b dispatch.Booking, a dispatch.Actor) bookingDTO {
	out := bookingDTO{ID: b.ID, Status: string(b.Status), Tier: string(b.Tier), SLADueAt: b.SLADueAt, CreatedAt: b.CreatedAt,
		UpdatedAt: b.UpdatedAt, RequiredSkills: b.RequiredSkills, DurationMinutes: int(b.Duration / time.Minute),
		ServiceType: string(b.ServiceType), Appliance: b.Appliance, Problem: b.Problem, Address: b.Address, Location: b.Location, Region: b.Region,
		PurchaseID: b.PurchaseID, Channel: string(b.Channel), ReturnKind: string(b.ReturnKind), CancelReason: b.CancelReason, CustomerDeferred: b.CustomerDeferred,
		WarrantyVerified: b.WarrantyVerified, ContactName: b.ContactName, ContactPhone: b.ContactPhone,
		Version: b.Version, PreferredWindows: []windowDTO{}, Jobs: []jobDTO{}}
	if a.Role != dispatch.RoleCustomer {
		out.CustomerSub = b.CustomerSubject
	}
	for _, w := range b.PreferredWindows {
		out.PreferredWindows = append(out.PreferredWindows, windowDTO(w))
	}
	for _, j := range b.Jobs {
		out.Jobs = append(out.Jobs, jobOut(j, a))
	}
	if len(out.Jobs) > 0 {
		out.Job = &out.Jobs[len(out.Jobs)-1]
		out.TechnicianName = out.Job.TechnicianName
	}
	return out
}

func (h intakeHandlers) createBooking(c echo.Context) error {
	var req bookingRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	loc, err := req.Location.toLocation("location")
	if err != nil {
		return err
	}
	br := intake.BookingRequest{
		ServiceType: dispatch.ServiceType(req.ServiceType), Appliance: req.Appliance, Problem: req.Problem, Address: req.Address,
		Location: loc, PurchaseID: req.PurchaseID, Channel: dispatch.Channel(req.Channel), ReturnKind: dispatch.ReturnKind(req.ReturnKind),
		CustomerSub: req.CustomerSub, ForceReason: req.ForceReason, ContactName: req.ContactName, ContactPhone: req.ContactPhone,
	}
	for _, w := range req.PreferredWindows {
		br.PreferredWindows = append(br.PreferredWindows, dispatch.Window(w))
	}
	// The hash is over the decoded request, so a retry that differs only in spacing is the same request.
	canonical, _ := json.Marshal(req)
	sum := sha256.Sum256(canonical)
	a := actor(c)
	b, replay, err := h.Services.Intake.CreateBooking(c.Request().Context(), a, br, c.Request().Header.Get("Idempotency-Key"), hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	if replay {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	setETag(c, b.Version)
	c.Response().Header().Set("Location", "/v1/bookings/"+strconv.FormatInt(b.ID, 10))
	return c.JSON(http.StatusCreated, bookingOut(b, a))
}

func (h intakeHandlers) getBooking(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a := actor(c)
	b, err := h.Services.Intake.GetBooking(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	setETag(c, b.Version)
	out := bookingOut(b, a)
	out.ETA = h.Services.Lifecycle.ETA(c.Request().Context(), b)
	return c.JSON(http.StatusOK, out)
}

type listDTO[T any] struct {
	Items      []T    `json:"items"`
	NextBefore *int64 `json:"next_before,omitempty"`
}

func (h intakeHandlers) listBookings(c echo.Context) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	if err := onlyQuery(c, "status", "tier", "at_risk", "region"); err != nil {
		return err
	}
	atRisk, err := queryBool(c, "at_risk")
	if err != nil {
		return err
	}
	a := actor(c)
	f := intake.BookingFilter{Status: dispatch.BookingStatus(c.QueryParam("status")), Tier: dispatch.Tier(c.QueryParam("tier")),
		AtRisk: atRisk, Region: c.QueryParam("region"), Page: page}
	bs, err := h.Services.Intake.ListBookings(c.Request().Context(), a, f)
	if err != nil {
		return err
	}
	out := listDTO[bookingDTO]{Items: make([]bookingDTO, 0, len(bs))}
	for _, b := range bs {
		out.Items = append(out.Items, bookingOut(b, a))
	}
	if n := len(bs); n > 0 {
		out.NextBefore = nextBefore(page, n, bs[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

func (h intakeHandlers) cancelBooking(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req cancelRequest
	if c.Request().ContentLength != 0 {
		if _, err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	a := actor(c)
	b, err := h.Services.Intake.CancelBooking(c.Request().Context(), a, id, v, req.Reason)
	if err != nil {
		return err
	}
	setETag(c, b.Version)
	return c.JSON(http.StatusOK, bookingOut(b, a))
}

type rescheduleRequest struct {
	PreferredWindows []windowDTO `json:"preferred_windows"`
	Reason           string      `json:"reason,omitempty"`
}

func (h intakeHandlers) rescheduleBooking(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req rescheduleRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	ws := make([]dispatch.Window, 0, len(req.PreferredWindows))
	for _, w := range req.PreferredWindows {
		ws = append(ws, dispatch.Window(w))
	}
	a := actor(c)
	b, err := h.Services.Intake.RescheduleBooking(c.Request().Context(), a, id, v, ws, req.Reason)
	if err != nil {
		return err
	}
	setETag(c, b.Version)
	return c.JSON(http.StatusOK, bookingOut(b, a))
}

func (h intakeHandlers) coverage(c echo.Context) error {
	var l dispatch.Location
	for _, q := range []struct {
		name string
		v    *float64
	}{{"lat", &l.Lat}, {"lng", &l.Lng}} {
		f, err := strconv.ParseFloat(c.QueryParam(q.name), 64)
		if err != nil {
			return dispatch.Invalid(q.name, "invalid_location", "%s must be a number of degrees", q.name)
		}
		*q.v = f
	}
	trades, err := h.Services.Intake.Coverage(c.Request().Context(), l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"location": l, "served": len(trades) > 0, "trades": trades})
}
