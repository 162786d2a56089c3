package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
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
	l, err := (&locationDTO{Lat: req.Lat, Lng: req.Lng}).toLocation("location")
	if err != nil {
		return err
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
