// Package api is FieldFix's HTTP surface on Echo: routes.go lists it whole; errors are
// problem+json; auth is HS256 JWT with four roles.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Deps are what the server needs.
type Deps struct {
	Service   *dispatch.Service
	Log       *slog.Logger
	JWTSecret []byte
	// Ready reports whether the server can serve (the database answers).
	Ready func(ctx context.Context) error
	Now   func() time.Time
}

// NewServer returns the Echo instance with every route.
func NewServer(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Log)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		d.Log.Error("panic", "path", c.Path(), "err", err, "stack", string(stack))
		return err
	}}))
	addRoutes(e, d)
	return e
}

func healthz(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) }

func readyz(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if d.Ready != nil {
			if err := d.Ready(ctx); err != nil {
				return problem(http.StatusServiceUnavailable, "not_ready", "the database does not answer")
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}
