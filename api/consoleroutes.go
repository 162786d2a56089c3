package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// routeJobDTO is a visit on the board's route: the job as everywhere, with what the console's
// Gantt and map draw of it (its booking's tier, SLA due time, place, customer, and the drive before it).
type routeJobDTO struct {
	jobDTO
	Tier           string            `json:"tier"`
	SLADueAt       time.Time         `json:"sla_due_at"`
	Appliance      string            `json:"appliance"`
	Address        string            `json:"address"`
	Location       dispatch.Location `json:"location"`
	CustomerName   string            `json:"customer_name"`
	RequiredSkills []string          `json:"required_skills"`
	TravelMinutes  int               `json:"travel_minutes"`
	// Pickup is the stop at a warehouse before the visit, to collect its parts (absent: none).
	Pickup *pickupStopDTO `json:"pickup,omitempty"`
}

// pickupStopDTO is a pick-up stop on a route: the warehouse and when the technician is there.
type pickupStopDTO struct {
	LocationID int64             `json:"location_id"`
	Name       string            `json:"name"`
	Location   dispatch.Location `json:"location"`
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
}

func routeJobOut(j board.RouteJob, a dispatch.Actor) routeJobDTO {
	out := routeJobDTO{jobDTO: jobOut(j.Job, a), Tier: string(j.Tier), SLADueAt: j.SLADueAt, Appliance: j.Appliance, Address: j.Address,
		Location: j.Location, CustomerName: j.CustomerName, RequiredSkills: nonNil(j.RequiredSkills),
		TravelMinutes: int((j.Travel + time.Minute/2) / time.Minute)}
	out.Pickup = pickupOut(j.Pickup)
	return out
}

// pickupOut is a route's pick-up stop as the API gives it (nil: none).
func pickupOut(p *planning.Pickup) *pickupStopDTO {
	if p == nil {
		return nil
	}
	return &pickupStopDTO{LocationID: p.ID, Name: p.Name, Location: p.Location, Start: p.Start, End: p.End}
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

type tradeCapacityDTO struct {
	Trade          string  `json:"trade"`
	AvailableHours float64 `json:"available_hours"`
	BookedHours    float64 `json:"booked_hours"`
	Visits         int     `json:"visits"`
	Technicians    int     `json:"technicians"`
}

type capacityDayDTO struct {
	Day            dispatch.Date      `json:"day"`
	AvailableHours float64            `json:"available_hours"`
	BookedHours    float64            `json:"booked_hours"`
	Visits         int                `json:"visits"`
	Technicians    int                `json:"technicians"`
	Trades         []tradeCapacityDTO `json:"trades"`
}

// hours is d in hours to the hundredth.
func hours(d time.Duration) float64 { return float64(d.Round(36*time.Second)/(36*time.Second)) / 100 }

// capacity answers GET /v1/capacity: the console's capacity strip (booked against available
// hours per day and trade).
func (h consoleHandlers) capacity(c echo.Context) error {
	if err := onlyQuery(c, "from", "days", "region"); err != nil {
		return err
	}
	var from dispatch.Date
	if d := c.QueryParam("from"); d != "" {
		v, err := dispatch.ParseDate(d)
		if err != nil {
			return dispatch.Invalid("from", "invalid_date", "from must be YYYY-MM-DD")
		}
		from = v
	}
	days := int64(7)
	if c.QueryParam("days") != "" {
		v, err := queryInt(c, "days")
		if err != nil {
			return err
		}
		days = v
	}
	res, err := h.Services.Board.Capacity(c.Request().Context(), actor(c), from, int(min(days, 1000)), c.QueryParam("region"))
	if err != nil {
		return err
	}
	out := make([]capacityDayDTO, len(res))
	for i, d := range res {
		ts := make([]tradeCapacityDTO, len(d.Trades))
		for k, t := range d.Trades {
			ts[k] = tradeCapacityDTO{Trade: t.Trade, AvailableHours: hours(t.Available), BookedHours: hours(t.Booked), Visits: t.Visits, Technicians: t.Technicians}
		}
		out[i] = capacityDayDTO{Day: d.Day, AvailableHours: hours(d.Available), BookedHours: hours(d.Booked), Visits: d.Visits, Technicians: d.Technicians, Trades: ts}
	}
	return c.JSON(http.StatusOK, map[string]any{"days": out})
}

type messageDTO struct {
	notificationDTO
	RecipientKind    string `json:"recipient_kind"`
	RecipientSubject string `json:"recipient_subject"`
	Pushes           struct {
		Delivered int `json:"delivered"`
		Pending   int `json:"pending"`
		Failed    int `json:"failed"`
	} `json:"pushes"`
}

// bookingMessages answers GET /v1/bookings/{id}/messages: what the booking's customer and
// technicians were told, for the console's job panel.
func (h consoleHandlers) bookingMessages(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := onlyQuery(c); err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	ms, err := h.Services.Board.BookingMessages(c.Request().Context(), actor(c), id, page)
	if err != nil {
		return err
	}
	out := listDTO[messageDTO]{Items: make([]messageDTO, 0, len(ms))}
	for _, m := range ms {
		d := messageDTO{notificationDTO: notificationOut(m.Notification), RecipientKind: m.RecipientKind, RecipientSubject: m.RecipientSubject}
		d.Pushes.Delivered, d.Pushes.Pending, d.Pushes.Failed = m.PushesDelivered, m.PushesPending, m.PushesFailed
		out.Items = append(out.Items, d)
	}
	if n := len(ms); n > 0 {
		out.NextBefore = nextBefore(page.Norm(), n, ms[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}
