package dispatch

import (
	"log/slog"
	"time"
)

// Env is what every area's service shares: the business rules, the clock, the log, the notifier
// and the counters. The areas of one process hold one Env, so that what is set on it (the metrics
// wired once the server has them, a test's notifier) reaches them all.
type Env struct {
	Rules    Rules
	Clock    Clock
	Log      *slog.Logger
	Notifier Notifier // beyond the inbox; nil: the inbox alone
	Metrics  Metrics  // nil: nothing counted
	// PublicURL is where customers open the service's pages (tracking links): FIELDFIX_PUBLIC_URL.
	PublicURL string
}

// NewEnv is an Env with the wall clock, a silent log and notifications logged (LogNotifier) where
// none are given.
func NewEnv(rules Rules, clock Clock, log *slog.Logger) *Env {
	if clock == nil {
		clock = SystemClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Env{Rules: rules, Clock: clock, Log: log, Notifier: LogNotifier{Log: log}}
}

// Now is the clock's time in UTC, to the microsecond PostgreSQL keeps.
func (e *Env) Now() time.Time { return e.Clock.Now().UTC().Truncate(time.Microsecond) }

// Count is where business events are counted: Metrics, or nowhere.
func (e *Env) Count() Metrics {
	if e.Metrics == nil {
		return noMetrics{}
	}
	return e.Metrics
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) BookingCreated(Tier)                      {}
func (noMetrics) Offer(string)                             {}
func (noMetrics) Push(string)                              {}
func (noMetrics) SolverRun(string, time.Duration, float64) {}
func (noMetrics) PlanCache(string)                         {}
