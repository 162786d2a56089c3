package sim

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// kpis are the server's KPIs by tier: of the bookings made since the run began when the server
// is on the simulated clock, else of its default period (its last 30 days).
func (r *runner) kpis(ctx context.Context) map[string]any {
	var out struct {
		Groups []map[string]any `json:"groups"`
	}
	path := "/v1/kpis?group_by=tier"
	if r.cfg.ServerOnClock {
		path += "&from=" + r.start.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if _, err := r.call(ctx, "GET", path, r.token(dispatch.RoleDispatcher, "sim-dispatcher"), nil, &out); err != nil {
		return nil
	}
	k := map[string]any{}
	for _, g := range out.Groups {
		k[fmt.Sprint(g["group"])] = g
	}
	return k
}

// board counts what the server's board shows for its today.
func (r *runner) board(ctx context.Context) BoardCounts {
	var out struct {
		Day        string `json:"day"`
		Unassigned []any  `json:"unassigned"`
		AtRisk     []any  `json:"at_risk"`
		Routes     []struct {
			Jobs []struct {
				Status string `json:"status"`
			} `json:"jobs"`
		} `json:"routes"`
	}
	b := BoardCounts{ByStatus: map[string]int{}}
	if code, err := r.call(ctx, "GET", "/v1/board", r.token(dispatch.RoleDispatcher, "sim-dispatcher"), nil, &out); err != nil || code != http.StatusOK {
		return b
	}
	b.Day, b.Unassigned, b.AtRisk, b.Routes = out.Day, len(out.Unassigned), len(out.AtRisk), len(out.Routes)
	for _, rt := range out.Routes {
		for _, j := range rt.Jobs {
			b.PlannedJobs++
			b.ByStatus[j.Status]++
		}
	}
	return b
}

func (r *runner) reporter(ctx context.Context) {
	t := time.NewTicker(r.cfg.Report)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		n := len(r.lat)
		r.mu.Unlock()
		line := fmt.Sprintf("%s UTC · bookings %d · accepted %d · declined %d · completed %d · rated %d", r.simNow().UTC().Format("Mon 15:04"), n,
			atomic.LoadInt64(&r.s.Accepted), atomic.LoadInt64(&r.s.Declined), atomic.LoadInt64(&r.s.Completed), atomic.LoadInt64(&r.s.Rated))
		k := r.kpis(ctx)
		for _, tier := range slices.Sorted(maps.Keys(k)) { // the same order on every line
			m := k[tier].(map[string]any)
			line += fmt.Sprintf(" · %s: SLA %v, FTF %v, CSAT %v, NPS %v", tier, pct(m["sla_compliance"]), pct(m["first_time_fix_rate"]), num(m["csat_avg"]), num(m["nps"]))
		}
		fmt.Fprintln(r.cfg.Out, line)
	}
}

func pct(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.0f%%", 100*f)
	}
	return "—"
}

func num(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.1f", f)
	}
	return "—"
}

// WriteReport prints a run's closing report: the simulated span, then the sim's own figures and,
// with the server on the simulated clock, the server's KPIs and board for the same period.
func (s Summary) WriteReport(w io.Writer) {
	fmt.Fprintf(w, "\nran %s of wall time at --speed %g: simulated %s (%s → %s on the simulated clock, UTC)\n",
		s.Wall.Round(time.Second), s.Speed, s.SimEnd.Sub(s.SimStart).Round(time.Minute), s.SimStart.UTC().Format("Mon 15:04"), s.SimEnd.UTC().Format("Mon 15:04"))
	fmt.Fprintf(w, "bookings %d (%.1f/s): %d warranty, %d paid; statuses %v, latency p50 %s p99 %s; transport errors %d\n",
		s.Bookings, s.BookingRate, s.Tiers["warranty"], s.Tiers["paid"], s.Statuses, s.P50.Round(time.Millisecond), s.P99.Round(time.Millisecond), s.Errors)
	fmt.Fprintf(w, "technicians: accepted %d, declined %d, on site %d, completed %d, second visits %d, rated %d\n",
		s.Accepted, s.Declined, s.OnSite, s.Completed, s.Incomplete, s.Rated)
	for _, tier := range []string{"paid", "warranty"} {
		if n := s.Arrivals[tier]; n > 0 {
			fmt.Fprintf(w, "  %-8s arrivals %d, median response (booking → on site) %s, on time for the SLA %d/%d (simulated clock)\n",
				tier, n, s.Response[tier].Round(time.Minute), s.OnTime[tier], n)
		}
	}
	fmt.Fprintf(w, "arrivals after the planned start: median %s (simulated clock)\n", s.Lateness.Round(time.Minute))
	if !s.ServerOnClock {
		fmt.Fprintln(w, "the server keeps its own (wall) clock: its KPIs see the compressed durations")
		return
	}
	fmt.Fprintf(w, "the server, on the same clock — GET /v1/kpis?group_by=tier from %s:\n", s.SimStart.UTC().Format(time.RFC3339))
	for _, tier := range []string{"paid", "warranty"} {
		k, ok := s.LastKPIs[tier].(map[string]any)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %-8s bookings %v, SLA met %v missed %v (compliance %s), response p50 %s p90 %s, completed %v, first-time fix %s, CSAT %s\n",
			tier, k["bookings"], k["sla_met"], k["sla_missed"], pct(k["sla_compliance"]), hours(k["response_time_p50_minutes"]),
			hours(k["response_time_p90_minutes"]), k["completed"], pct(k["first_time_fix_rate"]), num(k["csat_avg"]))
	}
	b := s.Board
	fmt.Fprintf(w, "  board (%s): %d unassigned, %d at risk, %d technicians' routes with %d visits %v\n",
		b.Day, b.Unassigned, b.AtRisk, b.Routes, b.PlannedJobs, b.ByStatus)
}

func hours(minutes any) string {
	if f, ok := minutes.(float64); ok {
		return fmt.Sprintf("%.1f h", f/60)
	}
	return "—"
}
