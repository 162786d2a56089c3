package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
)

func queryFloat(c echo.Context, name string) (float64, error) {
	v, err := strconv.ParseFloat(c.QueryParam(name), 64)
	if err != nil {
		return 0, dispatch.Invalid(name, "invalid_location", "%s must be a number", name)
	}
	return v, nil
}

func (h intakeHandlers) slots(c echo.Context) error {
	lat, err := queryFloat(c, "lat")
	if err != nil {
		return err
	}
	lng, err := queryFloat(c, "lng")
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
	q := intake.SlotQuery{Location: dispatch.Location{Lat: lat, Lng: lng}, Appliance: c.QueryParam("appliance"),
		ServiceType: dispatch.ServiceType(c.QueryParam("service_type")), CustomerSub: c.QueryParam("customer_sub")}
	if from != nil {
		q.From = *from
	}
	if to != nil {
		q.To = *to
	}
	if p := c.QueryParam("purchase_id"); p != "" {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return dispatch.Invalid("purchase_id", "invalid_id", "purchase_id must be an integer")
		}
		q.PurchaseID = &id
	}
	slots, due, err := h.Services.Intake.Slots(c.Request().Context(), actor(c), q)
	if err != nil {
		return err
	}
	type slotDTO struct {
		Start       time.Time `json:"start"`
		End         time.Time `json:"end"`
		InsideSLA   bool      `json:"inside_sla"`
		Grade       string    `json:"grade"`
		CostMinutes *float64  `json:"cost_minutes,omitempty"` // staff only: the plan's costs are the service's
	}
	staff := actor(c).Staff()
	out := make([]slotDTO, len(slots))
	for i, s := range slots {
		out[i] = slotDTO{Start: s.Start, End: s.End, InsideSLA: s.InsideSLA, Grade: s.Grade}
		if staff {
			out[i].CostMinutes = &slots[i].CostMinutes
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"sla_due_at": due, "window_minutes": int(dispatch.ArrivalWindow / time.Minute), "slots": out})
}
