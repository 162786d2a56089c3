package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/aftersales"
)

type feedbackRequest struct {
	CSAT    *int   `json:"csat"`
	NPS     *int   `json:"nps"`
	Comment string `json:"comment,omitempty"`
}

func (h aftersalesHandlers) feedback(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req feedbackRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.CSAT == nil || req.NPS == nil {
		return dispatch.Invalid("csat", "missing_field", "csat (1–5) and nps (0–10) are required")
	}
	f, err := h.Services.Aftersales.SubmitFeedback(c.Request().Context(), actor(c), id, *req.CSAT, *req.NPS, req.Comment)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"booking_id": f.BookingID, "csat": f.CSAT, "nps": f.NPS, "comment": f.Comment, "created_at": f.CreatedAt})
}

type complaintRequest struct {
	BookingID   *int64 `json:"booking_id"`
	Category    string `json:"category"`
	Description string `json:"description"`
}

type complaintPatch struct {
	Status     string `json:"status"`
	Resolution string `json:"resolution,omitempty"`
}

type complaintDTO struct {
	ID             int64      `json:"id"`
	BookingID      int64      `json:"booking_id"`
	TechnicianID   *int64     `json:"technician_id"`
	Category       string     `json:"category"`
	Description    string     `json:"description"`
	Status         string     `json:"status"`
	Resolution     string     `json:"resolution,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	Version        int        `json:"version"`
}

func complaintOut(x dispatch.Complaint) complaintDTO {
	return complaintDTO{ID: x.ID, BookingID: x.BookingID, TechnicianID: x.TechnicianID, Category: x.Category, Description: x.Description,
		Status: x.Status, Resolution: x.Resolution, CreatedAt: x.CreatedAt, AcknowledgedAt: x.AcknowledgedAt, ResolvedAt: x.ResolvedAt, Version: x.Version}
}

func (h aftersalesHandlers) createComplaint(c echo.Context) error {
	var req complaintRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.BookingID == nil {
		return dispatch.Invalid("booking_id", "missing_field", "booking_id is required")
	}
	x, err := h.Services.Aftersales.FileComplaint(c.Request().Context(), actor(c), *req.BookingID, req.Category, req.Description)
	if err != nil {
		return err
	}
	setETag(c, x.Version)
	return c.JSON(http.StatusCreated, complaintOut(x))
}

func (h aftersalesHandlers) listComplaints(c echo.Context) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	xs, err := h.Services.Aftersales.ListComplaints(c.Request().Context(), actor(c), c.QueryParam("status"), page)
	if err != nil {
		return err
	}
	out := listDTO[complaintDTO]{Items: make([]complaintDTO, 0, len(xs))}
	for _, x := range xs {
		out.Items = append(out.Items, complaintOut(x))
	}
	if n := len(xs); n > 0 {
		out.NextBefore = nextBefore(page, n, xs[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

func (h aftersalesHandlers) updateComplaint(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req complaintPatch
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	x, err := h.Services.Aftersales.UpdateComplaint(c.Request().Context(), actor(c), id, v, req.Status, req.Resolution)
	if err != nil {
		return err
	}
	setETag(c, x.Version)
	return c.JSON(http.StatusOK, complaintOut(x))
}

type kpiDTO struct {
	Group            string   `json:"group"`
	GroupName        string   `json:"group_name,omitempty"` // the technician's name, grouped by technician
	Bookings         int64    `json:"bookings"`
	Cancelled        int64    `json:"cancelled"`
	SLAMet           int64    `json:"sla_met"`
	SLAMissed        int64    `json:"sla_missed"`
	SLADeferred      int64    `json:"sla_customer_deferred"`
	SLACompliance    *float64 `json:"sla_compliance"`
	ResponseP50Min   *float64 `json:"response_time_p50_minutes"`
	ResponseP90Min   *float64 `json:"response_time_p90_minutes"`
	ResolutionAvgMin *float64 `json:"resolution_time_avg_minutes"`
	Completed        int64    `json:"completed"`
	FirstTimeFixRate *float64 `json:"first_time_fix_rate"`
	// By the customer's sign-off (FIELDFIX_SIGNOFF): bookings closed with one, and of those the
	// ones closed by the first visit and not revisited within 30 days.
	SignedOff                 int64    `json:"signed_off"`
	SignedOffFixedFirstTime   int64    `json:"signed_off_fixed_first_time"`
	SignedOffFirstTimeFixRate *float64 `json:"signed_off_first_time_fix_rate"`
	CSATAvg                   *float64 `json:"csat_avg"`
	Feedback                  int64    `json:"feedback_count"`
	NPS                       *float64 `json:"nps"`
	Complaints                int64    `json:"complaints"`
	ComplaintRate             *float64 `json:"complaint_rate"`
	HandlingAvgMin            *float64 `json:"on_site_handling_avg_minutes"`
	Utilisation               *float64 `json:"technician_utilisation"`
	// Parts (issue 25).
	SLASupplierDeferred         int64    `json:"sla_supplier_deferred"`
	PartsCostMinor              int64    `json:"parts_cost_minor"`
	PartsCostPerVisitMinor      *float64 `json:"parts_cost_per_visit_minor"`
	FirstVisitsNeedingPart      int64    `json:"first_visits_needing_part"`
	FirstVisitsPartOnBoard      int64    `json:"first_visits_part_on_board"`
	FirstTimeFixRatePartOnBoard *float64 `json:"first_time_fix_rate_part_on_board"`
	FirstTimeFixRatePartMissing *float64 `json:"first_time_fix_rate_part_missing"`
}

func minutes(s *float64) *float64 {
	if s == nil {
		return nil
	}
	v := *s / 60
	return round(&v, 1)
}

// round keeps the digits a person reads (0.923, 41.5 min), not 3.0e-9.
func round(v *float64, digits int) *float64 {
	if v == nil {
		return nil
	}
	p := math.Pow(10, float64(digits))
	r := math.Round(*v*p) / p
	if r == 0 {
		r = 0 // no -0
	}
	return &r
}

func (h aftersalesHandlers) kpis(c echo.Context) error {
	now := h.Now().UTC()
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	if to == nil {
		end := now.Truncate(time.Minute).Add(time.Minute) // the period is [from, to): include this minute's bookings
		to = &end
	}
	if from == nil {
		f := to.Add(-30 * 24 * time.Hour)
		from = &f
	}
	if c.QueryParam("daily") == "true" {
		return h.dailyKPIs(c, *from, *to)
	}
	rows, err := h.Services.Aftersales.KPIs(c.Request().Context(), actor(c), *from, *to, c.QueryParam("group_by"))
	if err != nil {
		return err
	}
	names := map[string]string{}
	if c.QueryParam("group_by") == "technician" {
		ts, err := h.Services.Roster.ListTechnicians(c.Request().Context(), actor(c), dispatch.Page{Limit: 10000})
		if err != nil {
			return err
		}
		for _, t := range ts {
			names[strconv.FormatInt(t.ID, 10)] = t.Name
		}
	}
	out := make([]kpiDTO, 0, len(rows))
	for _, r := range rows {
		k := kpiOut(r)
		k.GroupName = names[r.Group]
		out = append(out, k)
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from.UTC(), "to": to.UTC(), "group_by": c.QueryParam("group_by"), "groups": out})
}

// dailyKPIs reads the nightly roll-up (kpi_daily) for the days of [from, to).
func (h aftersalesHandlers) dailyKPIs(c echo.Context, from, to time.Time) error {
	days, err := h.Services.Aftersales.DailyKPIs(c.Request().Context(), actor(c), c.QueryParam("group_by"), dispatch.DateOf(from.UTC()), dispatch.DateOf(to.UTC()))
	if err != nil {
		return err
	}
	type dayDTO struct {
		Day dispatch.Date `json:"day"`
		kpiDTO
	}
	out := make([]dayDTO, 0, len(days))
	for _, d := range days {
		out = append(out, dayDTO{Day: d.Day, kpiDTO: kpiOut(d.Row)})
	}
	return c.JSON(http.StatusOK, map[string]any{"from": dispatch.DateOf(from.UTC()), "to": dispatch.DateOf(to.UTC()), "group_by": c.QueryParam("group_by"), "days": out})
}

func kpiOut(r aftersales.KPIRow) kpiDTO {
	return kpiDTO{Group: r.Group, Bookings: r.Bookings, Cancelled: r.Cancelled, SLAMet: r.SLAMet, SLAMissed: r.SLAMissed, SLADeferred: r.SLADeferred,
		SLACompliance: round(r.SLACompliance, 3), ResponseP50Min: minutes(r.ResponseP50), ResponseP90Min: minutes(r.ResponseP90),
		ResolutionAvgMin: minutes(r.ResolutionAvg), Completed: r.Completed, FirstTimeFixRate: round(r.FirstTimeFixRate, 3), CSATAvg: round(r.CSATAvg, 2),
		Feedback: r.Feedback, NPS: round(r.NPS, 1), Complaints: r.Complaints, ComplaintRate: round(r.ComplaintRate, 3), HandlingAvgMin: minutes(r.HandlingAvg),
		Utilisation: round(r.Utilisation, 3), SignedOff: r.SignedOff, SignedOffFixedFirstTime: r.SignedOffFirstTime,
		SignedOffFirstTimeFixRate: round(r.SignedOffFirstTimeFixRate, 3), SLASupplierDeferred: r.SLASupplierDeferred, PartsCostMinor: r.PartsCostMinor,
		PartsCostPerVisitMinor: round(r.PartsCostPerVisitMinor, 0), FirstVisitsNeedingPart: r.FirstVisitsNeedingPart,
		FirstVisitsPartOnBoard: r.FirstVisitsPartOnBoard, FirstTimeFixRatePartOnBoard: round(r.FirstTimeFixRatePartOnBoard, 3),
		FirstTimeFixRatePartMissing: round(r.FirstTimeFixRatePartMissing, 3)}
}
