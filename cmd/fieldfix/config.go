package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/internal/pgsetup"
)

// DefaultDatabaseURL is the local server of a developer's machine.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/fieldfix?sslmode=disable"

// devSecret signs tokens when FIELDFIX_JWT_SECRET is unset, so that a laptop runs with no setup.
const devSecret = "fieldfix-development-secret-do-not-use-in-production"

// config is every setting; flags fall back to the environment, which falls back to defaults.
type config struct {
	DatabaseURL string
	// ReadDatabaseURL, when set, is a streaming replica the reading pages are served from.
	ReadDatabaseURL string
	ReadMaxLag      time.Duration
	Addr            string
	JWTSecret       string
	JWTIssuer       string
	JWTAudience     string
	WarrantySLA     time.Duration
	PaidSLA         time.Duration
	TimeZone        string
	LogLevel        string
	PublicURL       string
	// ChangeCutoff: a customer changes or cancels a visit up to this long before its window.
	ChangeCutoff time.Duration

	OfferHorizon   time.Duration
	OfferTTL       time.Duration
	PositionMaxAge time.Duration
	PlanCacheAge   time.Duration
	LifecycleTick  time.Duration
	FreezeHorizon  time.Duration
	MoveCost       time.Duration

	BookingsPerMinute   int
	ComplaintsPerMinute int
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func durationEnv(getenv func(string) string, key string, def time.Duration) time.Duration {
	if v := getenv(key); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return def
}

func intEnv(getenv func(string) string, key string, def int) int {
	if v := getenv(key); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// commonFlags registers the settings every database command shares.
func commonFlags(fs *flag.FlagSet, getenv func(string) string, c *config) {
	fs.StringVar(&c.DatabaseURL, "database-url", envOr(getenv, "DATABASE_URL", DefaultDatabaseURL), "PostgreSQL URL (env DATABASE_URL)")
	jwtFlags(fs, getenv, c)
	fs.DurationVar(&c.WarrantySLA, "warranty-sla", durationEnv(getenv, "FIELDFIX_WARRANTY_SLA", 48*time.Hour), "on-site deadline for warranty bookings (env FIELDFIX_WARRANTY_SLA)")
	fs.DurationVar(&c.PaidSLA, "paid-sla", durationEnv(getenv, "FIELDFIX_PAID_SLA", 24*time.Hour), "on-site deadline for paid bookings (env FIELDFIX_PAID_SLA)")
	fs.StringVar(&c.TimeZone, "time-zone", envOr(getenv, "FIELDFIX_TIME_ZONE", "UTC"), "business time zone for calendar-day rules such as warranty end (env FIELDFIX_TIME_ZONE)")
	fs.StringVar(&c.PublicURL, "public-url", envOr(getenv, "FIELDFIX_PUBLIC_URL", "http://localhost:8080"), "where customers open the tracking links in their messages (env FIELDFIX_PUBLIC_URL)")
	cutoff := durationEnv(getenv, "FIELDFIX_CHANGE_CUTOFF", 2*time.Hour)
	if d, err := time.ParseDuration(getenv("FIELDFIX_CHANGE_CUTOFF")); err == nil && d == 0 {
		cutoff = 0 // none
	}
	fs.DurationVar(&c.ChangeCutoff, "change-cutoff", cutoff, "a customer reschedules or cancels up to this long before the arrival window; 0: until the technician is on site (env FIELDFIX_CHANGE_CUTOFF)")
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, "FIELDFIX_LOG_LEVEL", "info"), "debug, info, warn or error (env FIELDFIX_LOG_LEVEL)")
}

// jwtFlags registers how bearer tokens are signed and checked: the server, and every command
// that mints tokens for it, must agree.
func jwtFlags(fs *flag.FlagSet, getenv func(string) string, c *config) {
	fs.StringVar(&c.JWTSecret, "jwt-secret", envOr(getenv, "FIELDFIX_JWT_SECRET", devSecret), "HS256 secret for bearer tokens (env FIELDFIX_JWT_SECRET)")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", envOr(getenv, "FIELDFIX_JWT_ISSUER", api.DefaultIssuer), "the iss every token must carry (env FIELDFIX_JWT_ISSUER)")
	fs.StringVar(&c.JWTAudience, "jwt-audience", envOr(getenv, "FIELDFIX_JWT_AUDIENCE", ""), "when set, the aud every token must hold (env FIELDFIX_JWT_AUDIENCE)")
}

func (c config) jwt() api.JWT {
	return api.JWT{Secret: []byte(c.JWTSecret), Issuer: c.JWTIssuer, Audience: c.JWTAudience}
}

func (c config) rules() (dispatch.Rules, error) {
	r := dispatch.DefaultRules()
	r.WarrantySLA, r.PaidSLA, r.ChangeCutoff = c.WarrantySLA, c.PaidSLA, c.ChangeCutoff
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return r, fmt.Errorf("time zone %q: %w", c.TimeZone, err)
	}
	r.Location = loc
	return r, nil
}

func (c config) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// openDB creates the database when missing, opens a pool and migrates.
func openDB(ctx context.Context, c config, maxConns int32) (*pgxpool.Pool, error) {
	if err := pgsetup.EnsureDatabase(ctx, c.DatabaseURL); err != nil {
		return nil, fmt.Errorf("%w\n  is PostgreSQL running? `make run` starts one; or set DATABASE_URL", err)
	}
	pc, err := poolConfig(c.DatabaseURL, maxConns)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pgsetup.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// servePool is serve's pool size on a machine of cores: four connections a core, at least 8,
// unless DATABASE_URL says otherwise (pool_max_conns). More connections than PostgreSQL has cores
// to run them add no throughput, and they add a failure. It was 32: in a burst (3–7 s into some
// load benchmark runs; what starts it is not known) the pool opened 24 connections at once, each a new PostgreSQL backend that had to fill its
// caches and plan every prepared statement again, and every booking slowed for 0.2–0.4 s: p99 at
// 300/s under 50 ms in 1 of 4 runs. At 8 on this 2-core machine: 11 of 11 (7.8–12.1 ms), and the
// closed loop of 16 clients as fast (docs/benchmarks.md, load).
func servePool(cores int) int32 {
	return int32(max(8, 4*cores))
}

// poolConfig parses the database URL; the pool holds up to maxConns connections unless the URL
// says otherwise (pool_max_conns=N): N replicas need N times that within PostgreSQL's
// max_connections.
func poolConfig(databaseURL string, maxConns int32) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if maxConns > 0 && !strings.Contains(databaseURL, "pool_max_conns") {
		pc.MaxConns = maxConns
	}
	return pc, nil
}
