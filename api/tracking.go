package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
)

// trackingHandlers serve the customer's tracking link, /t/{token}: no login, the token is the
// key. The page (api/web) reads the visit, polls it while the technician is on the way, and
// reschedules or cancels as the customer would, up to the cut-off before the window.
type trackingHandlers struct{ Deps }

type trackedVisit struct {
	BookingID           int64              `json:"booking_id"`
	Status              string             `json:"status"` // the booking's
	Visit               string             `json:"visit"`  // planning, planned, confirmed, on_the_way, arrived, completed, incomplete, cancelled
	ServiceType         string             `json:"service_type"`
	Appliance           string             `json:"appliance"`
	Address             string             `json:"address"`
	Location            dispatch.Location  `json:"location"`
	Window              *windowDTO         `json:"window"`
	TechnicianFirstName string             `json:"technician_first_name,omitempty"`
	ETA                 *time.Time         `json:"eta,omitempty"`
	TechnicianPosition  *dispatch.Location `json:"technician_position,omitempty"`
	CanChange           bool               `json:"can_change"`
	ChangesCloseAt      *time.Time         `json:"changes_close_at,omitempty"`
	CannotChangeReason  string             `json:"cannot_change_reason,omitempty"`
	TimeZone            string             `json:"time_zone"`
}

// visitState says where the visit stands, in a customer's words.
func visitState(b dispatch.Booking, j *dispatch.Job) string {
	switch {
	case b.Status == dispatch.BookingCancelled:
		return "cancelled"
	case j == nil || j.TechnicianID == nil || j.PlannedStart == nil:
		return "planning"
	}
	switch j.Status {
	case dispatch.JobAccepted:
		return "confirmed"
	case dispatch.JobEnRoute:
		return "on_the_way"
	case dispatch.JobOnSite:
		return "arrived"
	case dispatch.JobCompleted:
		return "completed"
	case dispatch.JobIncomplete:
		return "incomplete"
	}
	return "planned"
}

func (h trackingHandlers) tracked(c echo.Context) (dispatch.Booking, dispatch.Actor, error) {
	return h.Services.Intake.Tracked(c.Request().Context(), c.Param("token"))
}

func (h trackingHandlers) visit(c echo.Context) error {
	b, _, err := h.tracked(c)
	if err != nil {
		return err
	}
	return h.answer(c, b)
}

func (h trackingHandlers) answer(c echo.Context, b dispatch.Booking) error {
	ctx := c.Request().Context()
	loc := h.Services.Env.Rules.Zone()
	j := b.CurrentJob()
	out := trackedVisit{BookingID: b.ID, Status: string(b.Status), Visit: visitState(b, j), ServiceType: string(b.ServiceType),
		Appliance: b.Appliance, Address: b.Address, Location: b.Location, TimeZone: loc.String()}
	if j != nil && j.PlannedStart != nil && j.TechnicianID != nil && b.Status != dispatch.BookingCancelled {
		w := dispatch.PromisedWindow(*j.PlannedStart, loc)
		out.Window = &windowDTO{Start: w.Start, End: w.End}
		if j.Status != dispatch.JobOffered && j.Status != dispatch.JobUnassigned {
			out.TechnicianFirstName, _, _ = strings.Cut(j.TechnicianName, " ")
		}
		if j.Status == dispatch.JobEnRoute {
			out.ETA = h.Services.Lifecycle.ETA(ctx, b)
			out.TechnicianPosition = h.Services.Lifecycle.EnRoutePosition(ctx, b)
		}
	}
	out.ChangesCloseAt, out.CanChange, out.CannotChangeReason = h.Services.Intake.ChangesClose(b)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

type trackedSlot struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Grade     string    `json:"grade"`
	InsideSLA bool      `json:"inside_sla"`
}

// slots are the windows the customer may move the visit to: the same slots the app offers.
func (h trackingHandlers) slots(c echo.Context) error {
	b, a, err := h.tracked(c)
	if err != nil {
		return err
	}
	now := h.Services.Env.Now()
	slots, _, err := h.Services.Intake.Slots(c.Request().Context(), a, intake.SlotQuery{Location: b.Location, Appliance: b.Appliance,
		ServiceType: b.ServiceType, PurchaseID: b.PurchaseID, From: now.Add(h.Services.Env.Rules.ChangeCutoff), To: now.Add(72 * time.Hour)})
	if err != nil {
		return err
	}
	out := make([]trackedSlot, 0, len(slots))
	for _, sl := range slots { // the plan's costs stay inside
		out = append(out, trackedSlot{Start: sl.Start, End: sl.End, Grade: sl.Grade, InsideSLA: sl.InsideSLA})
	}
	return c.JSON(http.StatusOK, map[string]any{"slots": out})
}

func (h trackingHandlers) reschedule(c echo.Context) error {
	b, a, err := h.tracked(c)
	if err != nil {
		return err
	}
	var w windowDTO
	if _, err := decodeJSON(c, &w); err != nil {
		return err
	}
	nb, err := h.Services.Intake.RescheduleBooking(c.Request().Context(), a, b.ID, 0, []dispatch.Window{dispatch.Window(w)}, "from the tracking page")
	if err != nil {
		return err
	}
	return h.answer(c, nb)
}

func (h trackingHandlers) cancel(c echo.Context) error {
	b, a, err := h.tracked(c)
	if err != nil {
		return err
	}
	var req cancelRequest
	if c.Request().ContentLength != 0 {
		if _, err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	if req.Reason == "" {
		req.Reason = "cancelled from the tracking page"
	}
	nb, err := h.Services.Intake.CancelBooking(c.Request().Context(), a, b.ID, 0, req.Reason)
	if err != nil {
		return err
	}
	return h.answer(c, nb)
}
