package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

type reportAnswerDTO struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	Kind     string `json:"kind"`
	Required bool   `json:"required"`
	Answer   string `json:"answer"`
}

// reportPartDTO is a part the visit used, with what a paid visit charged for one.
type reportPartDTO struct {
	dispatch.Part
	UnitPriceMinor *int64 `json:"unit_price_minor,omitempty"`
}

type reportDTO struct {
	JobID       int64             `json:"job_id"`
	BookingID   int64             `json:"booking_id"`
	Visit       int               `json:"visit"`
	Status      string            `json:"status"`
	Company     string            `json:"company"`
	Customer    string            `json:"customer_sub"`
	Address     string            `json:"address"`
	ServiceType string            `json:"service_type"`
	Appliance   string            `json:"appliance"`
	Brand       string            `json:"brand,omitempty"`
	Model       string            `json:"model,omitempty"`
	Serial      string            `json:"serial,omitempty"`
	Tier        string            `json:"tier"`
	Warranty    string            `json:"warranty"`
	Problem     string            `json:"problem"`
	Outcome     string            `json:"outcome,omitempty"`
	Notes       string            `json:"notes,omitempty"`
	Checklist   []reportAnswerDTO `json:"checklist"`
	Parts       []reportPartDTO   `json:"parts_used"`
	Currency    string            `json:"currency,omitempty"`
	Photos      []attachmentDTO   `json:"photos"`
	ArrivedAt   *time.Time        `json:"arrived_at"`
	FinishedAt  *time.Time        `json:"finished_at"`
	SignOff     *signOffDTO       `json:"signoff"`
	Technician  string            `json:"technician"`
	PDFURL      string            `json:"pdf_url"`
	GeneratedAt time.Time         `json:"generated_at"`
}

func (h proofHandlers) report(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := h.Services.Proof.VisitReport(c.Request().Context(), actor(c), id, false)
	if err != nil {
		return err
	}
	out := reportDTO{JobID: r.JobID, BookingID: r.BookingID, Visit: r.Visit, Status: r.Status, Company: r.Company, Customer: r.CustomerSubject,
		Address: r.Address, ServiceType: r.ServiceType, Appliance: r.Appliance, Brand: r.Brand, Model: r.Model, Serial: r.Serial, Tier: r.Tier,
		Warranty: r.Warranty, Problem: r.Problem, Outcome: r.Outcome, Notes: r.Notes, Checklist: []reportAnswerDTO{}, Parts: []reportPartDTO{},
		Photos: []attachmentDTO{}, ArrivedAt: r.ArrivedAt, FinishedAt: r.FinishedAt, Technician: r.Technician,
		PDFURL: fmt.Sprintf("/v1/jobs/%d/report.pdf", r.JobID), GeneratedAt: r.GeneratedAt}
	for _, p := range r.Parts {
		line := reportPartDTO{Part: p}
		if price, ok := r.Prices[p.SKU]; ok {
			line.UnitPriceMinor, out.Currency = &price, r.Currency
		}
		out.Parts = append(out.Parts, line)
	}
	for _, a := range r.Checklist {
		out.Checklist = append(out.Checklist, reportAnswerDTO{Key: a.Key, Label: a.Label, Kind: a.Kind, Required: a.Required, Answer: a.Value})
	}
	for _, p := range r.Photos {
		dto, err := h.attachmentOut(c, p.Attachment)
		if err != nil {
			return err
		}
		out.Photos = append(out.Photos, dto)
	}
	if r.SignOff != nil {
		s := signOffOut(*r.SignOff)
		out.SignOff = &s
	}
	return c.JSON(http.StatusOK, out)
}

func (h proofHandlers) reportPDF(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	pdf, err := h.Services.Proof.ReportPDF(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="service-report-%d.pdf"`, id))
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

type refusalDTO struct {
	JobID          int64     `json:"job_id"`
	BookingID      int64     `json:"booking_id"`
	Reason         string    `json:"reason"`
	ComplaintID    *int64    `json:"complaint_id"`
	TechnicianSub  string    `json:"technician_sub"`
	TechnicianName string    `json:"technician_name"`
	At             time.Time `json:"at"`
}

// signOffs is the sign-off report: first-time fix on signed-off visits, and the refusals.
func (h proofHandlers) signOffs(c echo.Context) error {
	now := h.Now().UTC()
	from, to := now.AddDate(0, 0, -30), now
	if t, err := queryTime(c, "from"); err != nil {
		return err
	} else if t != nil {
		from = *t
	}
	if t, err := queryTime(c, "to"); err != nil {
		return err
	} else if t != nil {
		to = *t
	}
	k, rs, err := h.Services.Proof.SignOffReport(c.Request().Context(), actor(c), from, to)
	if err != nil {
		return err
	}
	refusals := make([]refusalDTO, len(rs))
	for i, r := range rs {
		refusals[i] = refusalDTO(r)
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "signed_off": k.SignedOff, "fixed_first_time": k.FixedFirstTime,
		"first_time_fix_rate": k.FirstTimeFixRate(), "refused": k.Refused, "refusals": refusals})
}
