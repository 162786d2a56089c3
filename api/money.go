package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/money"
)

// ---- the price book ----

type priceItemDTO struct {
	ID              int64         `json:"id,omitempty"`
	Code            string        `json:"code"`
	Kind            string        `json:"kind"`
	Trade           string        `json:"trade,omitempty"`
	Tier            dispatch.Tier `json:"tier,omitempty"`
	Name            string        `json:"name"`
	SKU             string        `json:"sku,omitempty"`
	PriceMinor      *int64        `json:"price_minor"`
	AfterHoursMinor *int64        `json:"after_hours_minor,omitempty"`
	CostMinor       *int64        `json:"cost_minor,omitempty"`
	TaxRateBP       *int          `json:"tax_rate_bp,omitempty"`
	Active          *bool         `json:"active,omitempty"`
	UpdatedAt       *time.Time    `json:"updated_at,omitempty"`
}

type priceBookDTO struct {
	Currency            string             `json:"currency"`
	TaxRateBP           int                `json:"tax_rate_bp"`
	CallOutWithoutQuote bool               `json:"call_out_without_quote"`
	QuoteSendAheadMinor int64              `json:"quote_send_ahead_minor"`
	TravelBands         []money.TravelBand `json:"travel_bands"`
	Version             int                `json:"version"`
	Items               []priceItemDTO     `json:"items"`
}

type priceBookRequest struct {
	Currency            *string             `json:"currency"`
	TaxRateBP           *int                `json:"tax_rate_bp"`
	CallOutWithoutQuote *bool               `json:"call_out_without_quote"`
	QuoteSendAheadMinor *int64              `json:"quote_send_ahead_minor"`
	TravelBands         *[]money.TravelBand `json:"travel_bands"`
	Items               []priceItemDTO      `json:"items"`
}

func priceBookOut(s money.Settings, items []money.PriceItem) priceBookDTO {
	out := priceBookDTO{Currency: s.Currency, TaxRateBP: s.TaxRateBP, CallOutWithoutQuote: s.CallOutWithoutQuote,
		QuoteSendAheadMinor: s.QuoteSendAheadMinor, TravelBands: s.TravelBands, Version: s.Version, Items: make([]priceItemDTO, 0, len(items))}
	if out.TravelBands == nil {
		out.TravelBands = []money.TravelBand{}
	}
	for _, it := range items {
		out.Items = append(out.Items, priceItemDTO{ID: it.ID, Code: it.Code, Kind: it.Kind, Trade: it.Trade, Tier: it.Tier, Name: it.Name, SKU: it.SKU,
			PriceMinor: &it.PriceMinor, AfterHoursMinor: it.AfterHoursMinor, CostMinor: it.CostMinor, TaxRateBP: it.TaxRateBP, Active: &it.Active,
			UpdatedAt: &it.UpdatedAt})
	}
	return out
}

func (h moneyHandlers) priceBook(c echo.Context) error {
	s, items, err := h.Services.Money.PriceBook(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	setETag(c, s.Version)
	return c.JSON(http.StatusOK, priceBookOut(s, items))
}

func (h moneyHandlers) updatePriceBook(c echo.Context) error {
	var req priceBookRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	items := make([]money.PriceItem, len(req.Items))
	for i, it := range req.Items {
		if it.PriceMinor == nil {
			return dispatch.Invalid("items", "missing_field", "items[%d]: price_minor is required (minor units: cents)", i)
		}
		items[i] = money.PriceItem{Code: it.Code, Kind: it.Kind, Trade: it.Trade, Tier: it.Tier, Name: it.Name, SKU: it.SKU, PriceMinor: *it.PriceMinor,
			AfterHoursMinor: it.AfterHoursMinor, CostMinor: it.CostMinor, TaxRateBP: it.TaxRateBP, Active: it.Active == nil || *it.Active}
	}
	s, out, err := h.Services.Money.UpdatePriceBook(c.Request().Context(), actor(c), money.SettingsChange{Currency: req.Currency, TaxRateBP: req.TaxRateBP,
		CallOutWithoutQuote: req.CallOutWithoutQuote, QuoteSendAheadMinor: req.QuoteSendAheadMinor, TravelBands: req.TravelBands}, items)
	if err != nil {
		return err
	}
	setETag(c, s.Version)
	return c.JSON(http.StatusOK, priceBookOut(s, out))
}

// ---- quotes ----

type quoteLineRequest struct {
	Code        string `json:"code"`
	Quantity    int64  `json:"quantity"`
	Description string `json:"description,omitempty"`
}

type quoteOptionRequest struct {
	Key   string             `json:"key"`
	Label string             `json:"label,omitempty"`
	Lines []quoteLineRequest `json:"lines"`
}

type quoteRequest struct {
	Lines   []quoteLineRequest   `json:"lines"`   // one option
	Options []quoteOptionRequest `json:"options"` // or good, better, best
}

type decisionRequest struct {
	Option string `json:"option,omitempty"`
	Reason string `json:"reason,omitempty"`
}

type quoteDTO struct {
	ID                 int64          `json:"id"`
	BookingID          int64          `json:"booking_id"`
	JobID              int64          `json:"job_id"`
	Status             string         `json:"status"`
	Currency           string         `json:"currency"`
	Options            []money.Option `json:"options"`
	SentAhead          bool           `json:"sent_ahead"`
	CreatedBy          string         `json:"created_by"`
	CreatedByRole      dispatch.Role  `json:"created_by_role"`
	CreatedAt          time.Time      `json:"created_at"`
	DecidedAt          *time.Time     `json:"decided_at"`
	DecidedBy          string         `json:"decided_by,omitempty"`
	DecidedByRole      dispatch.Role  `json:"decided_by_role,omitempty"`
	ApprovedOption     string         `json:"approved_option,omitempty"`
	ApprovedTotalMinor *int64         `json:"approved_total_minor,omitempty"`
	TextSeen           string         `json:"text_seen,omitempty"`
	DeclineReason      string         `json:"decline_reason,omitempty"`
	Version            int            `json:"version"`
}

func quoteOut(q money.Quote) quoteDTO {
	out := quoteDTO{ID: q.ID, BookingID: q.BookingID, JobID: q.JobID, Status: q.Status, Currency: q.Currency, Options: q.Options, SentAhead: q.SentAhead,
		CreatedBy: q.CreatedBy.Subject, CreatedByRole: q.CreatedBy.Role, CreatedAt: q.CreatedAt, DecidedAt: q.DecidedAt, ApprovedOption: q.ApprovedOption,
		ApprovedTotalMinor: q.ApprovedTotalMinor, TextSeen: q.TextSeen, DeclineReason: q.DeclineReason, Version: q.Version}
	if q.DecidedBy != nil {
		out.DecidedBy, out.DecidedByRole = q.DecidedBy.Subject, q.DecidedBy.Role
	}
	return out
}

func (h moneyHandlers) createQuote(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req quoteRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Lines) > 0 && len(req.Options) > 0 {
		return dispatch.Invalid("options", "invalid_option", "a quote has lines (one option) or options (good, better, best), not both")
	}
	opts := make([]money.OptionRequest, 0, 3)
	if len(req.Lines) > 0 {
		req.Options = []quoteOptionRequest{{Lines: req.Lines}}
	}
	for _, o := range req.Options {
		lines := make([]money.LineRequest, len(o.Lines))
		for i, l := range o.Lines {
			lines[i] = money.LineRequest{Code: l.Code, Quantity: l.Quantity, Description: l.Description}
		}
		opts = append(opts, money.OptionRequest{Key: o.Key, Label: o.Label, Lines: lines})
	}
	q, err := h.Services.Money.CreateQuote(c.Request().Context(), actor(c), id, opts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, quoteOut(q))
}

func (h moneyHandlers) getQuote(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	q, err := h.Services.Money.Quote(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, quoteOut(q))
}

func (h moneyHandlers) bookingQuotes(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	qs, err := h.Services.Money.BookingQuotes(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	out := listDTO[quoteDTO]{Items: make([]quoteDTO, 0, len(qs))}
	for _, q := range qs {
		out.Items = append(out.Items, quoteOut(q))
	}
	return c.JSON(http.StatusOK, out)
}

func (h moneyHandlers) decideQuote(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var req decisionRequest
		if c.Request().ContentLength != 0 {
			if _, err := decodeJSON(c, &req); err != nil {
				return err
			}
		}
		var q money.Quote
		if approve {
			q, err = h.Services.Money.ApproveQuote(c.Request().Context(), actor(c), id, req.Option)
		} else {
			q, err = h.Services.Money.DeclineQuote(c.Request().Context(), actor(c), id, req.Reason)
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, quoteOut(q))
	}
}

// ---- KPIs ----

func (h moneyHandlers) kpis(c echo.Context) error {
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	if to == nil {
		end := h.Now().UTC().Truncate(time.Minute).Add(time.Minute)
		to = &end
	}
	if from == nil {
		f := to.Add(-30 * 24 * time.Hour)
		from = &f
	}
	k, err := h.Services.Money.KPIs(c.Request().Context(), actor(c), *from, *to)
	if err != nil {
		return err
	}
	f := k.Figures
	return c.JSON(http.StatusOK, map[string]any{"from": k.From.UTC(), "to": k.To.UTC(), "currency": k.Currency,
		"paid_visits": f.PaidVisits, "invoices": f.Invoices, "invoiced_net_minor": f.InvoicedNetMinor, "invoiced_total_minor": f.InvoicedTotalMinor,
		"credited_net_minor": f.CreditedNetMinor, "received_minor": f.ReceivedMinor, "quotes_approved": f.QuotesApproved, "quotes_declined": f.QuotesDeclined,
		"claims": f.Claims, "claimed_minor": f.ClaimedMinor, "revenue_minor": k.RevenueMinor, "revenue_per_paid_visit_minor": k.RevenuePerPaidVisit,
		"average_ticket_minor": k.AverageTicketMinor, "quote_acceptance_rate": k.QuoteAcceptanceRate, "settlement_by_period": orEmpty(k.SettlementTotalByMonth)})
}

func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
