package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/schedule"
	"github.com/fieldfix/fieldfix/dispatch/services"
)

// scheduleSpecs are the cron expressions of the background jobs, each overridable by its env var.
// A failed tick is tried again until the next; catchUp is how far back a starting replica looks
// for ticks no replica ran, to run them late: the hourly and daily jobs would otherwise wait an
// hour or a day, the roll-up (eachTick: every missed day is its own work) never do that day.
var scheduleSpecs = []struct {
	name, env, spec, what string
	catchUp               time.Duration
	eachTick              bool
}{
	{"sla-watchdog", "FIELDFIX_CRON_WATCHDOG", "* * * * *", "at-risk bookings re-dispatched and flagged; breaches recorded once", 0, false},
	{"reoptimize", "FIELDFIX_CRON_REOPTIMIZE", "*/10 * * * *", "re-optimisation of each region's movable jobs", 0, false},
	{"follow-ups", "FIELDFIX_CRON_FOLLOWUPS", "0 * * * *", "feedback requests 24 h after completion", 24 * time.Hour, false},
	{"kpi-rollup", "FIELDFIX_CRON_KPI_ROLLUP", "15 0 * * *", "yesterday's KPIs per tier, region and technician", 7 * 24 * time.Hour, true},
	{"stale-devices", "FIELDFIX_CRON_STALE_DEVICES", "30 3 * * *", "device tokens unseen for 30 days disabled", 48 * time.Hour, false},
	{"sync-prune", "FIELDFIX_CRON_SYNC_PRUNE", "45 3 * * *", "the technician sync's change log, action keys and spent sign-in links older than 30 days dropped", 48 * time.Hour, false},
}

// schedules builds the background jobs of serve.
func schedules(svc *services.Set, getenv func(string) string, log *slog.Logger) ([]schedule.Job, error) {
	run := map[string]func(ctx context.Context, tick time.Time) (any, error){
		"sla-watchdog": func(ctx context.Context, _ time.Time) (any, error) { return svc.Watchdog.SLAWatchdog(ctx) },
		"reoptimize": func(ctx context.Context, _ time.Time) (any, error) {
			return svc.Optimize.ReoptimizeRegions(ctx, 60*time.Second)
		},
		"follow-ups": func(ctx context.Context, _ time.Time) (any, error) {
			n, err := svc.Aftersales.FollowUps(ctx)
			return map[string]int{"sent": n}, err
		},
		"kpi-rollup": func(ctx context.Context, tick time.Time) (any, error) {
			day := dispatch.DateOf(tick.UTC()).AddDays(-1)
			return map[string]string{"day": day.String()}, svc.Aftersales.RollUpKPIs(ctx, day)
		},
		"stale-devices": func(ctx context.Context, _ time.Time) (any, error) {
			n, err := svc.Lifecycle.DisableStaleDevices(ctx, 30*24*time.Hour)
			return map[string]int64{"disabled": n}, err
		},
		"sync-prune": func(ctx context.Context, _ time.Time) (any, error) {
			p, err := svc.TechSync.Prune(ctx)
			return map[string]int64{"changes": p.Changes, "actions": p.Actions, "signin_links": p.SigninLinks}, err
		},
	}
	var jobs []schedule.Job
	for _, s := range scheduleSpecs {
		spec := envOr(getenv, s.env, s.spec)
		if _, err := schedule.Parse(spec); err != nil {
			return nil, fmt.Errorf("%s: %w", s.env, err)
		}
		jobs = append(jobs, schedule.Job{Name: s.name, Spec: spec, Run: run[s.name], CatchUp: s.catchUp, EachTick: s.eachTick})
		log.Debug("schedule", "name", s.name, "spec", spec, "what", s.what)
	}
	return jobs, nil
}

// followUpWebhook posts each feedback request to url; receivers dedupe on Idempotency-Key.
func followUpWebhook(url string) func(ctx context.Context, bookingID int64, customerSub string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	return func(ctx context.Context, bookingID int64, customerSub string) error {
		body, _ := json.Marshal(map[string]any{"kind": "feedback_request", "booking_id": bookingID, "customer_sub": customerSub})
		req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("followup-%d", bookingID))
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			return fmt.Errorf("webhook answered %s", res.Status)
		}
		return nil
	}
}

func replicaName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}
