package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
)

type purchaseRequest struct {
	CustomerSub           string         `json:"customer_sub,omitempty"`
	Category              string         `json:"category"`
	Brand                 string         `json:"brand"`
	Model                 string         `json:"model"`
	Serial                string         `json:"serial"`
	PurchasedAt           *dispatch.Date `json:"purchased_at"`
	DeliveredAt           *dispatch.Date `json:"delivered_at,omitempty"`
	WarrantyMonths        *int           `json:"warranty_months"`
	ExtendedWarrantyUntil *dispatch.Date `json:"extended_warranty_until,omitempty"`
}

type purchaseDTO struct {
	ID                    int64          `json:"id"`
	Category              string         `json:"category"`
	Brand                 string         `json:"brand"`
	Model                 string         `json:"model"`
	Serial                string         `json:"serial"`
	PurchasedAt           dispatch.Date  `json:"purchased_at"`
	DeliveredAt           *dispatch.Date `json:"delivered_at"`
	WarrantyMonths        int            `json:"warranty_months"`
	ExtendedWarrantyUntil *dispatch.Date `json:"extended_warranty_until"`
	InWarranty            bool           `json:"in_warranty"`
	WarrantyUntil         dispatch.Date  `json:"warranty_until"`
	Verified              bool           `json:"verified"`
	CreatedAt             time.Time      `json:"created_at"`
}

func (h intakeHandlers) purchaseOut(p dispatch.Purchase) purchaseDTO {
	in, until := h.Services.Intake.WarrantyStatus(p)
	return purchaseDTO{ID: p.ID, Category: p.Category, Brand: p.Brand, Model: p.Model, Serial: p.Serial, PurchasedAt: p.PurchasedAt,
		DeliveredAt: p.DeliveredAt, WarrantyMonths: p.WarrantyMonths, ExtendedWarrantyUntil: p.ExtendedWarrantyUntil,
		InWarranty: in, WarrantyUntil: until, Verified: p.Verified, CreatedAt: p.CreatedAt}
}

func (h intakeHandlers) createPurchase(c echo.Context) error {
	var req purchaseRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.PurchasedAt == nil {
		return dispatch.Invalid("purchased_at", "missing_field", "purchased_at is required (YYYY-MM-DD)")
	}
	if req.WarrantyMonths == nil {
		return dispatch.Invalid("warranty_months", "missing_field", "warranty_months is required (0 for none)")
	}
	p, err := h.Services.Intake.RegisterPurchase(c.Request().Context(), actor(c), intake.PurchaseRequest{
		CustomerSub: req.CustomerSub, Category: req.Category, Brand: req.Brand, Model: req.Model, Serial: req.Serial,
		PurchasedAt: *req.PurchasedAt, DeliveredAt: req.DeliveredAt, WarrantyMonths: *req.WarrantyMonths,
		ExtendedWarrantyUntil: req.ExtendedWarrantyUntil,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.purchaseOut(p))
}

func (h intakeHandlers) listPurchases(c echo.Context) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	ps, err := h.Services.Intake.ListPurchases(c.Request().Context(), actor(c), c.QueryParam("customer_sub"), page)
	if err != nil {
		return err
	}
	out := listDTO[purchaseDTO]{Items: make([]purchaseDTO, 0, len(ps))}
	for _, p := range ps {
		out.Items = append(out.Items, h.purchaseOut(p))
	}
	if n := len(ps); n > 0 {
		out.NextBefore = nextBefore(page, n, ps[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

type extendedWarrantyRequest struct {
	From  *dispatch.Date `json:"from,omitempty"`
	Until *dispatch.Date `json:"until"`
}

func (h intakeHandlers) extendWarranty(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req extendedWarrantyRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Until == nil {
		return dispatch.Invalid("until", "missing_field", "until (YYYY-MM-DD) is required")
	}
	var from dispatch.Date
	if req.From != nil {
		from = *req.From
	}
	p, err := h.Services.Intake.SetExtendedWarranty(c.Request().Context(), actor(c), id, from, *req.Until)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.purchaseOut(p))
}
