// Package api is FieldFix's HTTP surface on Echo: routes.go lists it whole; errors are
// problem+json; auth is HS256 JWT with four roles.
package api

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/fieldfix/fieldfix/dispatch/services"
)

// Deps are what the server needs.
type Deps struct {
	Services  *services.Set
	Log       *slog.Logger
	JWTSecret []byte
	// JWTIssuer is the iss every token must carry (DefaultIssuer when empty); JWTAudience, when
	// set, must be in its aud.
	JWTIssuer, JWTAudience string
	// Ready reports whether the server can serve (the database answers).
	Ready func(ctx context.Context) error
	Now   func() time.Time
	// Metrics observes every request; MetricsHandler serves /metrics. Both optional.
	Metrics        HTTPMetrics
	MetricsHandler http.Handler
	// Events feeds GET /v1/events; nil answers 503.
	Events *Hub
	// BookingsPerMinute limits POST /v1/bookings per subject (0: 30 a minute, burst 10).
	BookingsPerMinute int
	// ComplaintsPerMinute limits POST /v1/complaints per subject (0: 6 a minute, burst 5).
	ComplaintsPerMinute int
	// MapTiles is the console map's tile URL template, raster or vector (.pbf, .mvt)
	// (FIELDFIX_MAP_TILES; empty: no tiles, the map draws cells and routes on a plain
	// background); MapAttribution its credit.
	MapTiles, MapAttribution string
}

// HTTPMetrics records request latency by route pattern and status.
type HTTPMetrics interface {
	ObserveHTTP(method, route string, status int, d time.Duration)
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
	e.Use(securityHeaders)
	addRoutes(e, d)
	if d.Metrics != nil {
		e.Use(observe(d.Metrics, e.Routes())) // Echo applies e.Use middleware to routes added before it too
	}
	return e
}

// securityHeaders are set on every answer, API and console alike: no content sniffing, no
// referrer leaving the server, and no framing (clickjacking the console). The console widens
// Content-Security-Policy for its own page.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		return next(c)
	}
}

// observe times each request under its route pattern, so ids do not explode the label set, and
// folds what no route serves into fixed values: a method the API does not use is "other", a
// request no route matched (unknown path, or a method the path does not take) is "unmatched".
// Whatever the traffic, the series are bounded by the route table.
func observe(m HTTPMetrics, routes []*echo.Route) echo.MiddlewareFunc {
	served := map[string]bool{} // "METHOD pattern"
	methods := map[string]bool{}
	for _, r := range routes {
		if r.Method == echo.RouteNotFound {
			continue
		}
		served[r.Method+" "+r.Path] = true
		methods[r.Method] = true
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // write the problem now so the status is known
			}
			method, route := c.Request().Method, c.Path()
			if !served[method+" "+route] {
				route = "unmatched"
			}
			if !methods[method] {
				method = "other"
			}
			m.ObserveHTTP(method, route, c.Response().Status, time.Since(start))
			return nil
		}
	}
}

func serveMetrics(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		if d.MetricsHandler == nil {
			return problem(http.StatusNotFound, "metrics_disabled", "metrics are not enabled on this server")
		}
		d.MetricsHandler.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// subjectLimit is a per-subject token bucket for one route (per replica, in memory; idle
// subjects expire after 10 minutes): perMinute (0: def) after a burst of a tenth of a minute's
// worth, at least minBurst. A refusal is 429 with Retry-After.
func subjectLimit(perMinute, def, minBurst int, what string) echo.MiddlewareFunc {
	if perMinute <= 0 {
		perMinute = def
	}
	r := rate.Limit(float64(perMinute) / 60)
	retry := strconv.Itoa(int(math.Ceil(60 / float64(perMinute))))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: r, Burst: max(minBurst, perMinute/6), ExpiresIn: 10 * time.Minute}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return actor(c).Subject, nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retry)
			return problem(http.StatusTooManyRequests, "rate_limited", "too many "+what+" from this account; retry later")
		},
		ErrorHandler: func(c echo.Context, err error) error {
			return problem(http.StatusUnauthorized, "unauthorized", "no subject to rate-limit on")
		},
	})
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
