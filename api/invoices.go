package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/money"
)

// ---- invoices and credit notes ----

type paymentDTO struct {
	ID          int64         `json:"id"`
	Method      string        `json:"method"`
	AmountMinor int64         `json:"amount_minor"`
	Reference   string        `json:"reference,omitempty"`
	EventID     string        `json:"event_id,omitempty"`
	ReceivedAt  time.Time     `json:"received_at"`
	RecordedBy  string        `json:"recorded_by"`
	Role        dispatch.Role `json:"recorded_by_role"`
}

type invoiceDTO struct {
	ID               int64           `json:"id"`
	Kind             string          `json:"kind"`
	Number           string          `json:"number"`
	BookingID        int64           `json:"booking_id"`
	JobID            *int64          `json:"job_id"`
	CreditsInvoiceID *int64          `json:"credits_invoice_id,omitempty"`
	Currency         string          `json:"currency"`
	Lines            []money.Line    `json:"lines"`
	Taxes            []money.TaxLine `json:"taxes"`
	NetMinor         int64           `json:"net_minor"`
	TaxMinor         int64           `json:"tax_minor"`
	TotalMinor       int64           `json:"total_minor"`
	QuoteIDs         []int64         `json:"quote_ids"`
	OnSiteMinutes    *int            `json:"on_site_minutes,omitempty"`
	Reason           string          `json:"reason,omitempty"`
	IssuedAt         time.Time       `json:"issued_at"`
	IssuedBy         string          `json:"issued_by"`
	Status           string          `json:"status"`
	PaidMinor        int64           `json:"paid_minor"`
	CreditedMinor    int64           `json:"credited_minor"`
	DueMinor         int64           `json:"due_minor"`
	RefundDueMinor   int64           `json:"refund_due_minor"` // credited after payment: owed back to the customer
	CreditNoteIDs    []int64         `json:"credit_note_ids"`
	Payments         []paymentDTO    `json:"payments"`
}

func paymentOut(p money.Payment) paymentDTO {
	return paymentDTO{ID: p.ID, Method: p.Method, AmountMinor: p.AmountMinor, Reference: p.Reference, EventID: p.EventID, ReceivedAt: p.ReceivedAt,
		RecordedBy: p.RecordedBy.Subject, Role: p.RecordedBy.Role}
}

func invoiceOut(i money.Invoice) invoiceDTO {
	out := invoiceDTO{ID: i.ID, Kind: i.Kind, Number: i.Number, BookingID: i.BookingID, JobID: i.JobID, CreditsInvoiceID: i.CreditsInvoiceID,
		Currency: i.Currency, Lines: i.Lines, Taxes: i.Taxes, NetMinor: i.NetMinor, TaxMinor: i.TaxMinor, TotalMinor: i.TotalMinor, QuoteIDs: i.QuoteIDs,
		OnSiteMinutes: i.OnSiteMinutes, Reason: i.Reason, IssuedAt: i.IssuedAt, IssuedBy: i.IssuedBy, Status: i.Status(), PaidMinor: i.PaidMinor,
		CreditedMinor: i.CreditedMinor, DueMinor: max(i.DueMinor(), 0), RefundDueMinor: max(-i.DueMinor(), 0), CreditNoteIDs: i.CreditNoteIDs, Payments: make([]paymentDTO, 0, len(i.Payments))}
	if out.QuoteIDs == nil {
		out.QuoteIDs = []int64{}
	}
	if out.CreditNoteIDs == nil {
		out.CreditNoteIDs = []int64{}
	}
	if i.Kind == money.KindCreditNote {
		out.DueMinor = 0
	}
	for _, p := range i.Payments {
		out.Payments = append(out.Payments, paymentOut(p))
	}
	return out
}

func (h moneyHandlers) listInvoices(c echo.Context) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	var booking *int64
	if c.QueryParam("booking_id") != "" {
		id, err := queryInt(c, "booking_id")
		if err != nil {
			return err
		}
		booking = &id
	}
	xs, err := h.Services.Money.Invoices(c.Request().Context(), actor(c), booking, page)
	if err != nil {
		return err
	}
	out := listDTO[invoiceDTO]{Items: make([]invoiceDTO, 0, len(xs))}
	for _, x := range xs {
		out.Items = append(out.Items, invoiceOut(x))
	}
	if n := len(xs); n > 0 {
		out.NextBefore = nextBefore(page, n, xs[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

// getInvoice answers JSON, or the PDF for /invoices/{id}.pdf or Accept: application/pdf.
func (h moneyHandlers) getInvoice(c echo.Context) error {
	raw := c.Param("id")
	pdf := strings.HasSuffix(raw, ".pdf") || strings.Contains(c.Request().Header.Get("Accept"), "application/pdf")
	id, err := strconv.ParseInt(strings.TrimSuffix(raw, ".pdf"), 10, 64)
	if err != nil || id <= 0 {
		return problem(http.StatusBadRequest, "invalid_id", "id must be a positive integer, optionally followed by .pdf")
	}
	inv, err := h.Services.Money.Invoice(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	if pdf {
		var buf bytes.Buffer
		if err := writeInvoicePDF(&buf, inv); err != nil {
			return err
		}
		c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, inv.Number))
		return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
	}
	return c.JSON(http.StatusOK, invoiceOut(inv))
}

type creditLineRequest struct {
	Description string `json:"description"`
	NetMinor    int64  `json:"net_minor"`
	TaxRateBP   *int   `json:"tax_rate_bp"`
}

type creditNoteRequest struct {
	Reason string              `json:"reason"`
	Lines  []creditLineRequest `json:"lines,omitempty"`
}

func (h moneyHandlers) creditNote(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req creditNoteRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	lines := make([]money.CreditLine, len(req.Lines))
	for i, l := range req.Lines {
		if l.TaxRateBP == nil {
			return dispatch.Invalid("lines", "missing_field", "lines[%d]: tax_rate_bp is required (the rate of the line it corrects)", i)
		}
		lines[i] = money.CreditLine{Description: l.Description, NetMinor: l.NetMinor, TaxRateBP: *l.TaxRateBP}
	}
	cn, err := h.Services.Money.IssueCreditNote(c.Request().Context(), actor(c), id, req.Reason, lines)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, invoiceOut(cn))
}

// ---- payments ----

type paymentRequest struct {
	Method      string `json:"method"`
	AmountMinor int64  `json:"amount_minor"`
	Reference   string `json:"reference,omitempty"`
}

func (h moneyHandlers) recordPayment(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req paymentRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	p, inv, err := h.Services.Money.RecordPayment(c.Request().Context(), actor(c), id, money.PaymentRequest{Method: req.Method, AmountMinor: req.AmountMinor, Reference: req.Reference})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"payment": paymentOut(p), "invoice": invoiceOut(inv)})
}

// paymentsWebhook takes a provider's signed notification; the body is read raw, since the
// signature is over its bytes.
func (h moneyHandlers) paymentsWebhook(c echo.Context) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem(http.StatusRequestEntityTooLarge, "body_too_large", "a notification is at most 64 KiB")
		}
		return problem(http.StatusBadRequest, "unreadable_body", "could not read the request body")
	}
	ev, p, err := h.Services.Money.Webhook(c.Request().Context(), c.Request().Header.Get(money.SignatureHeader), body)
	if err != nil {
		return err
	}
	out := map[string]any{"event_id": ev.ID, "type": ev.Type, "applied": p != nil}
	if p != nil {
		out["payment"] = paymentOut(*p)
	}
	return c.JSON(http.StatusOK, out)
}

// ---- warranty settlement ----

type claimDTO struct {
	ID            int64        `json:"id"`
	Period        string       `json:"period"`
	Party         string       `json:"party"`
	BookingID     int64        `json:"booking_id"`
	JobID         int64        `json:"job_id"`
	TechnicianID  *int64       `json:"technician_id"`
	Currency      string       `json:"currency"`
	Lines         []money.Line `json:"lines"`
	LabourMinor   int64        `json:"labour_minor"`
	PartsMinor    int64        `json:"parts_minor"`
	TravelMinor   int64        `json:"travel_minor"`
	TotalMinor    int64        `json:"total_minor"`
	OnSiteMinutes int          `json:"on_site_minutes"`
	DistanceKm    float64      `json:"distance_km"`
	Status        string       `json:"status"`
	RejectReason  string       `json:"reject_reason,omitempty"`
	Resubmissions int          `json:"resubmissions"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	Version       int          `json:"version"`
}

func claimOut(x money.Claim) claimDTO {
	return claimDTO{ID: x.ID, Period: x.Period, Party: x.Party, BookingID: x.BookingID, JobID: x.JobID, TechnicianID: x.TechnicianID, Currency: x.Currency,
		Lines: x.Lines, LabourMinor: x.LabourMinor, PartsMinor: x.PartsMinor, TravelMinor: x.TravelMinor, TotalMinor: x.TotalMinor,
		OnSiteMinutes: x.OnSiteMinutes, DistanceKm: x.DistanceKm, Status: x.Status, RejectReason: x.RejectReason, Resubmissions: x.Resubmissions,
		CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt, Version: x.Version}
}

// settlements answers the period's statement as JSON, or as CSV with format=csv or Accept: text/csv.
func (h moneyHandlers) settlements(c echo.Context) error {
	st, err := h.Services.Money.Settlement(c.Request().Context(), actor(c), c.QueryParam("period"), c.QueryParam("party"))
	if err != nil {
		return err
	}
	if c.QueryParam("format") == "csv" || strings.Contains(c.Request().Header.Get("Accept"), "text/csv") {
		var buf bytes.Buffer
		if err := st.WriteCSV(&buf); err != nil {
			return err
		}
		c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="settlement-%s.csv"`, st.Period))
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	}
	claims := make([]claimDTO, 0, len(st.Claims))
	for _, x := range st.Claims {
		claims = append(claims, claimOut(x))
	}
	return c.JSON(http.StatusOK, map[string]any{"period": st.Period, "party": st.Party, "closed": st.ClosedAt != nil, "closed_at": st.ClosedAt,
		"currency": st.Currency, "claims": claims, "by_party": st.ByParty, "by_technician": st.ByTechnician, "total_minor": st.TotalMinor})
}

func (h moneyHandlers) closePeriod(c echo.Context) error {
	period := c.Param("period")
	at, err := h.Services.Money.ClosePeriod(c.Request().Context(), actor(c), period)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"period": period, "closed": true, "closed_at": at})
}

type claimChange struct {
	Reason    string          `json:"reason,omitempty"`
	PartCosts map[int64]int64 `json:"part_costs,omitempty"` // line index → cost in minor units
}

func (h moneyHandlers) changeClaim(reject bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var req claimChange
		if c.Request().ContentLength != 0 {
			if _, err := decodeJSON(c, &req); err != nil {
				return err
			}
		}
		var x money.Claim
		if reject {
			x, err = h.Services.Money.RejectClaim(c.Request().Context(), actor(c), id, req.Reason)
		} else {
			costs := map[int]int64{}
			for k, v := range req.PartCosts {
				if k < 0 || k > money.MaxLines {
					return dispatch.Invalid("part_costs", "invalid_line", "part_costs is keyed by line index")
				}
				costs[int(k)] = v
			}
			x, err = h.Services.Money.ResubmitClaim(c.Request().Context(), actor(c), id, costs)
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, claimOut(x))
	}
}
