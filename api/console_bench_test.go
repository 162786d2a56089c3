package api_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestConsoleBenchmark measures the console on a big day in headless Chromium with the
// Performance API: 150 technicians, 1,200 visits (1,180 on routes, 20 waiting), the first drawing
// (the board read and everything drawn) and live changes applied (an event's arrival to its visit
// redrawn: a pin from the event itself, and the visit's read drawn after it). A report, not a timed test: it runs with
// FIELDFIX_BENCH_CONSOLE=1 (make bench-console) and prints its figures for docs/benchmarks.md.
func TestConsoleBenchmark(t *testing.T) {
	if os.Getenv("FIELDFIX_BENCH_CONSOLE") == "" {
		t.Skip("a benchmark: FIELDFIX_BENCH_CONSOLE=1 (make bench-console)")
	}
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)) // noon in Paris: the day half done
	admin := b.token(dispatch.RoleAdmin, "admin")
	shifts := []map[string]string{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		shifts = append(shifts, map[string]string{"day": d, "start": "08:00", "end": "20:00"})
	}
	skills := [][]string{{"washer"}, {"fridge"}, {"washer", "fridge"}, {"ac"}, {"tv", "water_heater"}}
	for i := range 150 {
		r := b.do("POST", "/v1/technicians", admin, map[string]any{"name": fmt.Sprintf("Tech %03d", i), "skills": skills[i%len(skills)],
			"home": map[string]any{"lat": 45.70 + 0.12*float64(i%15)/15, "lng": 4.78 + 0.17*float64(i/15)/10}, "time_zone": "Europe/Paris", "weekly_shifts": shifts})
		if r.Status != 201 {
			t.Fatalf("technician %d: %d %s", i, r.Status, r.Body)
		}
	}
	// Eight visits a technician from 08:00 in Paris, 75 minutes apart: the morning's done, one on
	// site, one on the way, the afternoon accepted, offered or planned; and 20 waiting.
	_, err := b.db.Pool.Exec(t.Context(), `
INSERT INTO customers (subject, name) VALUES ('bench', 'Bench');
WITH v AS (
  SELECT t.id AS tech, t.skills, k, row_number() OVER (ORDER BY t.id, k) AS n,
         t.home_lat + 0.02 * sin(k + t.id) AS lat, t.home_lng + 0.02 * cos(k * 2 + t.id) AS lng,
         timestamptz '2026-11-20 07:00:00+00' + k * interval '75 minutes' AS start
  FROM technicians t, generate_series(0, 7) k
), b AS (
  INSERT INTO bookings (customer_id, service_type, appliance, problem, address, lat, lng, channel, tier, status, sla_due_at,
                        required_skills, duration_minutes, created_at, updated_at, contact_name)
  SELECT (SELECT id FROM customers WHERE subject = 'bench'), 'repair', skills[1], 'bench', n || ' rue du Banc, Lyon', lat, lng, 'app',
         CASE WHEN n % 3 = 0 THEN 'paid' ELSE 'warranty' END, CASE WHEN k < 3 THEN 'completed' ELSE 'scheduled' END,
         start + interval '3 hours', ARRAY[skills[1]], 60, start - interval '1 day', start - interval '1 day', 'Customer ' || n
  FROM v ORDER BY n RETURNING id, lat, lng, created_at
)
INSERT INTO jobs (booking_id, status, technician_id, planned_start, planned_end, on_site_at, finished_at, lat, lng, duration_minutes, created_at, updated_at)
SELECT b.id, CASE WHEN k < 3 THEN 'completed' WHEN k = 3 THEN 'on_site' WHEN k = 4 THEN 'en_route' WHEN k = 5 THEN 'accepted'
                  WHEN k = 6 THEN 'offered' ELSE 'unassigned' END,
       v.tech, v.start, v.start + interval '60 minutes',
       CASE WHEN k <= 3 THEN v.start END, CASE WHEN k < 3 THEN v.start + interval '55 minutes' END,
       b.lat, b.lng, 60, b.created_at, b.created_at
FROM b JOIN v ON b.created_at = v.start - interval '1 day' AND b.lat = v.lat AND b.lng = v.lng
WHERE v.n > 20;
INSERT INTO jobs (booking_id, status, lat, lng, duration_minutes, created_at, updated_at)
SELECT b.id, 'unassigned', b.lat, b.lng, 60, b.created_at, b.created_at FROM bookings b LEFT JOIN jobs j ON j.booking_id = b.id WHERE j.id IS NULL;
UPDATE bookings SET status = 'open' WHERE id IN (SELECT booking_id FROM jobs WHERE technician_id IS NULL AND status = 'unassigned');`)
	if err != nil {
		t.Fatalf("the day: %v", err)
	}
	var visits, routed int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*), count(technician_id) FROM jobs").Scan(&visits, &routed); err != nil || visits != 1200 {
		t.Fatalf("%d visits (%d on routes): %v", visits, routed, err)
	}
	movable := []int64{}
	rows, err := b.db.Pool.Query(t.Context(), "SELECT id FROM jobs WHERE status IN ('accepted', 'offered') ORDER BY id LIMIT 60")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		movable = append(movable, id)
	}
	rows.Close()

	disp := b.token(dispatch.RoleDispatcher, "disp")
	_, ctx := browser(t, bin)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var load, fetch, draw, gantt, drawMap float64
	var rowsDrawn, visitsDrawn int
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(1440, 900, 1, false),
		signIn(b.srv.URL, disp),
		chromedp.Evaluate(`performance.getEntriesByName("console-load")[0].duration`, &load),
		chromedp.Evaluate(`performance.getEntriesByName("console-board-fetch")[0].duration`, &fetch),
		chromedp.Evaluate(`performance.getEntriesByName("console-draw")[0].duration`, &draw),
		chromedp.Evaluate(`performance.getEntriesByName("console-draw-gantt")[0].duration`, &gantt),
		chromedp.Evaluate(`performance.getEntriesByName("console-draw-map")[0].duration`, &drawMap),
		chromedp.Evaluate(`document.querySelectorAll("#gantt .g-rows .g-row").length`, &rowsDrawn),
		chromedp.Evaluate(`document.querySelectorAll("#gantt .visit").length`, &visitsDrawn),
		chromedp.WaitVisible("#live.on", chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-bench", err)
	}
	screenshot(t, ctx, "console-bench-1440.png")
	// Live changes made elsewhere: a visit pinned each 150 ms, each an event the page applies.
	for _, id := range movable {
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/pin", id), disp, nil); r.Status != 200 {
			t.Fatalf("pin %d: %d %s", id, r.Status, r.Body)
		}
		time.Sleep(150 * time.Millisecond)
	}
	var applied, drawn, read []float64
	wait, cancelW := context.WithTimeout(ctx, 30*time.Second)
	defer cancelW()
	if err := chromedp.Run(wait,
		chromedp.Poll(fmt.Sprintf(`performance.getEntriesByName("sse-apply").length >= %d`, len(movable)), nil, chromedp.WithPollingInterval(200*time.Millisecond)),
		chromedp.Evaluate(`performance.getEntriesByName("sse-apply").map((e) => e.duration)`, &applied),
		chromedp.Evaluate(`performance.getEntriesByName("sse-draw").map((e) => e.duration)`, &drawn),
		chromedp.Poll(fmt.Sprintf(`performance.getEntriesByName("sse-read").length >= %d`, len(movable)), nil, chromedp.WithPollingInterval(200*time.Millisecond)),
		chromedp.Evaluate(`performance.getEntriesByName("sse-read").map((e) => e.duration)`, &read),
	); err != nil {
		failShot(t, ctx, "console-bench-sse", err)
	}
	slices.Sort(applied)
	slices.Sort(drawn)
	slices.Sort(read)
	pct := func(xs []float64, p float64) float64 { return xs[int(math.Ceil(p*float64(len(xs))))-1] }
	t.Logf("console, %d technicians, %d visits (%d rows, %d visits drawn): first drawing %.0f ms (board read %.0f ms, drawing %.0f ms: Gantt %.0f ms, map %.0f ms)",
		150, visits, rowsDrawn, visitsDrawn, load, fetch, draw, gantt, drawMap)
	t.Logf("live changes applied (event to drawn; a pin is drawn from the event): %d, p50 %.1f ms, p95 %.1f ms, max %.1f ms",
		len(applied), pct(applied, 0.5), pct(applied, 0.95), applied[len(applied)-1])
	t.Logf("event to the visit's read drawn (what a change the event cannot tell waits for): p50 %.1f ms, p95 %.1f ms, max %.1f ms",
		pct(read, 0.5), pct(read, 0.95), read[len(read)-1])
	t.Logf("of which drawing: p50 %.1f ms, p95 %.1f ms, max %.1f ms", pct(drawn, 0.5), pct(drawn, 0.95), drawn[len(drawn)-1])

	// Pings: each of the 150 technicians reports a position, one each 20 ms; each is a technician
	// event whose dot the page moves.
	b.livePositions()
	var techIDs []int64
	if err := pgxCollect(b, "SELECT id FROM technicians ORDER BY id", &techIDs); err != nil {
		t.Fatal(err)
	}
	for i, id := range techIDs {
		if _, err := b.db.Pool.Exec(t.Context(), "UPDATE technicians SET subject = 'bench-' || id WHERE id = $1 AND subject IS NULL", id); err != nil {
			t.Fatal(err)
		}
		if r := b.do("PUT", "/v1/technicians/me/location", b.token(dispatch.RoleTechnician, fmt.Sprintf("bench-%d", id)),
			map[string]any{"lat": 45.70 + 0.001*float64(i%100), "lng": 4.80 + 0.001*float64(i/100)}); r.Status != 200 {
			t.Fatalf("ping %d: %d %s", id, r.Status, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var pinged []float64
	waitP, cancelP := context.WithTimeout(ctx, 30*time.Second)
	defer cancelP()
	if err := chromedp.Run(waitP,
		chromedp.Poll(fmt.Sprintf(`performance.getEntriesByName("ping-draw").length >= %d`, len(techIDs)), nil, chromedp.WithPollingInterval(200*time.Millisecond)),
		chromedp.Evaluate(`performance.getEntriesByName("ping-draw").map((e) => e.duration)`, &pinged),
	); err != nil {
		failShot(t, ctx, "console-bench-pings", err)
	}
	slices.Sort(pinged)
	t.Logf("pings drawn (a technician event to the dot moved): %d, p50 %.2f ms, p95 %.2f ms, max %.2f ms", len(pinged), pct(pinged, 0.5), pct(pinged, 0.95), pinged[len(pinged)-1])
}

// pgxCollect reads one column of int64 into out.
func pgxCollect(b *testBundle, query string, out *[]int64) error {
	rows, err := b.db.Pool.Query(b.t.Context(), query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		*out = append(*out, id)
	}
	return rows.Err()
}
