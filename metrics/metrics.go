// Package metrics exposes FieldFix's Prometheus series: HTTP latency by route and status,
// bookings by tier, the at-risk gauge, offers by outcome, push outcomes, solver runs, schedule
// runs (late ones and missed ticks).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Registry holds the series on a registry of its own (no global state).
type Registry struct {
	reg        *prometheus.Registry
	http       *prometheus.HistogramVec
	bookings   *prometheus.CounterVec
	offers     *prometheus.CounterVec
	pushes     *prometheus.CounterVec
	solverTime *prometheus.HistogramVec
	solverObj  *prometheus.GaugeVec
	planCache  *prometheus.CounterVec
	schedRuns  *prometheus.CounterVec
	schedLate  *prometheus.CounterVec
	schedMiss  *prometheus.CounterVec
	readLag    prometheus.Gauge
}

var _ dispatch.Metrics = (*Registry)(nil)

// New registers every series. atRisk is read at each scrape (bounded by a 2 s timeout).
func New(atRisk func(ctx context.Context) (int, error)) *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.http = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "fieldfix_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"method", "route", "status"})
	r.bookings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldfix_bookings_created_total", Help: "Bookings created, by SLA tier."}, []string{"tier"})
	r.offers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldfix_offers_total", Help: "Offers by outcome: sent, accepted, declined, expired, withdrawn."}, []string{"outcome"})
	r.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldfix_push_outcomes_total", Help: "Push deliveries per device by outcome."}, []string{"outcome"})
	r.solverTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "fieldfix_solver_run_seconds", Help: "Solver run time by kind (insert, optimize).",
		Buckets: []float64{.0005, .001, .005, .01, .05, .1, .5, 1, 5, 30},
	}, []string{"kind"})
	r.solverObj = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fieldfix_solver_objective", Help: "Objective of the last solver run by kind (lower is better)."}, []string{"kind"})
	r.planCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldfix_plan_cache_total", Help: "New bookings' plan reads: hit (no read), read, changed (guarded write found the plan moved)."}, []string{"outcome"})
	r.schedRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldfix_schedule_runs_total", Help: "Runs of background schedules by outcome (ok, failed), this replica's."}, []string{"schedule", "outcome"})
	r.schedLate = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldfix_schedule_late_runs_total", Help: "Ticks that ran late: on a retry after a failure, or caught up after no replica ran them."}, []string{"schedule"})
	r.schedMiss = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldfix_schedule_missed_ticks_total", Help: "Ticks given up (every try failed until the next tick), counted once across replicas."}, []string{"schedule"})
	r.readLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "fieldfix_read_replica_lag_seconds", Help: "How far the read replica was behind the primary at its last check; -1 when it did not answer."})
	atRiskGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "fieldfix_bookings_at_risk", Help: "Bookings at risk of missing their SLA now."}, func() float64 {
		if atRisk == nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := atRisk(ctx)
		if err != nil {
			return -1 // visible as "unknown" rather than a reassuring zero
		}
		return float64(n)
	})
	r.reg.MustRegister(r.http, r.bookings, r.offers, r.pushes, r.solverTime, r.solverObj, r.planCache, r.schedRuns, r.schedLate, r.schedMiss, r.readLag, atRiskGauge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves /metrics.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// ObserveHTTP records one request; route is the pattern (/v1/bookings/:id), never the raw path.
func (r *Registry) ObserveHTTP(method, route string, status int, d time.Duration) {
	r.http.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// BookingCreated counts a booking.
func (r *Registry) BookingCreated(t dispatch.Tier) { r.bookings.WithLabelValues(string(t)).Inc() }

// Offer counts an offer outcome.
func (r *Registry) Offer(outcome string) { r.offers.WithLabelValues(outcome).Inc() }

// Push counts a device delivery outcome.
func (r *Registry) Push(outcome string) { r.pushes.WithLabelValues(outcome).Inc() }

// SolverRun records a solver run.
func (r *Registry) SolverRun(kind string, d time.Duration, objective float64) {
	r.solverTime.WithLabelValues(kind).Observe(d.Seconds())
	r.solverObj.WithLabelValues(kind).Set(objective)
}

// PlanCache counts a new booking's plan read by outcome.
func (r *Registry) PlanCache(outcome string) { r.planCache.WithLabelValues(outcome).Inc() }

// ScheduleRun counts a run of a background schedule; late when it was a retry or a catch-up.
func (r *Registry) ScheduleRun(name, outcome string, late bool) {
	r.schedRuns.WithLabelValues(name, outcome).Inc()
	if late && outcome == "ok" {
		r.schedLate.WithLabelValues(name).Inc()
	}
}

// Schedules shows the schedule series of each named schedule from the start, at zero, so that
// an alert on missed ticks has a series to watch before the first one.
func (r *Registry) Schedules(names ...string) {
	for _, n := range names {
		r.schedLate.WithLabelValues(n)
		r.schedMiss.WithLabelValues(n)
	}
}

// ScheduleMissed counts a tick given up.
func (r *Registry) ScheduleMissed(name string) { r.schedMiss.WithLabelValues(name).Inc() }

// ReadReplicaLag records the read replica's last lag measurement (ok false: it did not answer).
func (r *Registry) ReadReplicaLag(lag time.Duration, ok bool) {
	if !ok {
		r.readLag.Set(-1)
		return
	}
	r.readLag.Set(lag.Seconds())
}
