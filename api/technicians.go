package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/geo"
)

type technicianRequest struct {
	Subject      string           `json:"subject"`
	Name         string           `json:"name"`
	Skills       []string         `json:"skills"`
	Home         *locationDTO     `json:"home"`
	TimeZone     string           `json:"time_zone"`
	WeeklyShifts []dispatch.Shift `json:"weekly_shifts"`
	ServiceArea  []string         `json:"service_area,omitempty"`
	Active       *bool            `json:"active,omitempty"`
}

type technicianPatch struct {
	Name         *string           `json:"name,omitempty"`
	Skills       *[]string         `json:"skills,omitempty"`
	Home         *locationDTO      `json:"home,omitempty"`
	TimeZone     *string           `json:"time_zone,omitempty"`
	WeeklyShifts *[]dispatch.Shift `json:"weekly_shifts,omitempty"`
	ServiceArea  *[]string         `json:"service_area,omitempty"`
	Active       *bool             `json:"active,omitempty"`
}

type technicianDTO struct {
	ID           int64              `json:"id"`
	Subject      *string            `json:"subject"`
	Name         string             `json:"name"`
	Skills       []string           `json:"skills"`
	Home         dispatch.Location  `json:"home"`
	TimeZone     string             `json:"time_zone"`
	WeeklyShifts []dispatch.Shift   `json:"weekly_shifts"`
	ServiceArea  []string           `json:"service_area"`
	Active       bool               `json:"active"`
	Region       string             `json:"region"`
	LastPosition *dispatch.Location `json:"last_position"`
	LastSeenAt   *time.Time         `json:"last_seen_at"`
	Version      int                `json:"version"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

func technicianOut(t dispatch.Technician) technicianDTO {
	region := ""
	if c, err := geo.RegionOf(geo.Point{Lat: t.Home.Lat, Lng: t.Home.Lng}); err == nil {
		region = c.String()
	}
	return technicianDTO{Region: region, LastPosition: t.LastPosition, LastSeenAt: t.LastSeenAt, ID: t.ID, Subject: t.Subject, Name: t.Name, Skills: t.Skills, Home: t.Home, TimeZone: t.TimeZone,
		WeeklyShifts: t.WeeklyShifts, ServiceArea: t.ServiceArea, Active: t.Active, Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (h consoleHandlers) createTechnician(c echo.Context) error {
	var req technicianRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	home, err := req.Home.toLocation("home")
	if err != nil {
		return err
	}
	t, err := h.Services.Roster.CreateTechnician(c.Request().Context(), actor(c), roster.TechnicianRequest{
		Subject: req.Subject, Name: req.Name, Skills: req.Skills, Home: home, TimeZone: req.TimeZone,
		WeeklyShifts: req.WeeklyShifts, ServiceArea: req.ServiceArea, Active: req.Active,
	})
	if err != nil {
		return err
	}
	setETag(c, t.Version)
	return c.JSON(http.StatusCreated, technicianOut(t))
}

func (h consoleHandlers) listTechnicians(c echo.Context) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	ts, err := h.Services.Roster.ListTechnicians(c.Request().Context(), actor(c), page)
	if err != nil {
		return err
	}
	out := listDTO[technicianDTO]{Items: make([]technicianDTO, 0, len(ts))}
	for _, t := range ts {
		out.Items = append(out.Items, technicianOut(t))
	}
	if n := len(ts); n > 0 {
		out.NextBefore = nextBefore(page, n, ts[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

func (h consoleHandlers) updateTechnician(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req technicianPatch
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	p := roster.TechnicianPatch{Name: req.Name, Skills: req.Skills, TimeZone: req.TimeZone, WeeklyShifts: req.WeeklyShifts,
		ServiceArea: req.ServiceArea, Active: req.Active}
	if req.Home != nil {
		home, err := req.Home.toLocation("home")
		if err != nil {
			return err
		}
		p.Home = &home
	}
	t, err := h.Services.Roster.UpdateTechnician(c.Request().Context(), actor(c), id, v, p)
	if err != nil {
		return err
	}
	setETag(c, t.Version)
	return c.JSON(http.StatusOK, technicianOut(t))
}
