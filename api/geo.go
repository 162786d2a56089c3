package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

type locationPing struct {
	Lat        *float64   `json:"lat"`
	Lng        *float64   `json:"lng"`
	AccuracyM  *float64   `json:"accuracy_m,omitempty"`
	RecordedAt *time.Time `json:"recorded_at,omitempty"`
}

func (h lifecycleHandlers) putLocation(c echo.Context) error {
	var req locationPing
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	// The ping's lat and lng are at the top level of the body, and the errors point there.
	for _, f := range []struct {
		name  string
		v     *float64
		limit float64
	}{{"lat", req.Lat, 90}, {"lng", req.Lng, 180}} {
		if f.v == nil {
			return dispatch.Invalid(f.name, "invalid_location", "%s is required", f.name)
		}
		if !(*f.v >= -f.limit && *f.v <= f.limit) {
			return dispatch.Invalid(f.name, "invalid_location", "%s must be between %v and %v, got %v", f.name, -f.limit, f.limit, *f.v)
		}
	}
	l := dispatch.Location{Lat: *req.Lat, Lng: *req.Lng}
	if l.Lat == 0 && l.Lng == 0 {
		return dispatch.Invalid("lat", "invalid_location", "lat and lng are (0,0), which is taken as a missing position")
	}
	t, err := h.Services.Lifecycle.PingLocation(c.Request().Context(), actor(c), l, req.RecordedAt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"technician_id": t.ID, "location": t.LastPosition, "recorded_at": t.LastSeenAt})
}

func (h consoleHandlers) geoCells(c echo.Context) error {
	fc, err := h.Services.Board.GeoCells(c.Request().Context(), actor(c), c.QueryParam("region"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, fc)
}

// geoAreas answers GET /v1/geo/areas: the console map's service areas layer.
func (h consoleHandlers) geoAreas(c echo.Context) error {
	if err := onlyQuery(c, "region"); err != nil {
		return err
	}
	fc, err := h.Services.Board.ServiceAreas(c.Request().Context(), actor(c), c.QueryParam("region"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, fc)
}
