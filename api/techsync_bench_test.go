package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestSyncBenchmark measures the technician sync through HTTP on a real PostgreSQL: a technician
// with two days of visits (12 bookings) whose change log sits among 500,000 rows of 1,000 other
// technicians. A report, not a timed test: it runs with FIELDFIX_BENCH_SYNC=1 and prints its
// figures for docs/benchmarks.md.
//
//	FIELDFIX_BENCH_SYNC=1 go test ./api -run TestSyncBenchmark -count=1 -v
func TestSyncBenchmark(t *testing.T) {
	if os.Getenv("FIELDFIX_BENCH_SYNC") == "" {
		t.Skip("a benchmark: FIELDFIX_BENCH_SYNC=1")
	}
	b := setup(t)
	b.washerChecklist()
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "camille")
	var jobs []any
	for i := range 12 {
		j := b.offeredTo(fmt.Sprintf("cust-%d", i))
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", j["id"]), tech, nil); r.Status == 200 {
			jobs = append(jobs, j["id"]) // the rest did not fit the day
		}
	}
	ctx := context.Background()
	if _, err := b.db.Pool.Exec(ctx, `INSERT INTO technician_changes (technician_id, entity, entity_id)
		SELECT 100000 + g % 1000, 'job', g FROM generate_series(1, 500000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, "ANALYZE technician_changes"); err != nil {
		t.Fatal(err)
	}
	const n = 300
	measure := func(name string, prep func(i int), call func(i int) response) {
		var d []time.Duration
		for i := range n {
			if prep != nil {
				prep(i)
			}
			start := time.Now()
			r := call(i)
			d = append(d, time.Since(start))
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		slices.Sort(d)
		t.Logf("%-48s p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms", name, syncMS(d[n/2]), syncMS(d[n*9/10]), syncMS(d[n*99/100]))
	}
	pull := func(cursor string) response {
		path := "/v1/technicians/me/sync"
		if cursor != "" {
			path += "?cursor=" + url.QueryEscape(cursor)
		}
		return b.do("GET", path, tech, nil)
	}
	first := pull("")
	world := len(first.json(t)["upserts"].(map[string]any)["jobs"].([]any))
	if world < len(jobs) {
		t.Fatalf("the world: %s", first.Body)
	}
	measure(fmt.Sprintf("first pull (%d visits with checklists)", world), nil, func(int) response { return pull("") })
	cursor := b.pullSettled(tech, first.json(t)["cursor"].(string))["cursor"].(string)
	measure("pull, nothing changed", nil, func(int) response { return pull(cursor) })
	measure("pull after one visit changed", func(i int) {
		if _, err := b.db.Pool.Exec(ctx, "UPDATE jobs SET notes = $2 WHERE id = $1", jobs[i%len(jobs)], fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}, func(int) response {
		r := pull(cursor)
		if r.Status == 200 {
			cursor = r.json(t)["cursor"].(string)
		}
		return r
	})
	measure("push of 20 pings", nil, func(i int) response {
		acts := make([]map[string]any, 20)
		for k := range acts {
			acts[k] = map[string]any{"key": fmt.Sprintf("bench-%d-%d", i, k), "kind": "ping", "location": map[string]any{"lat": 45.76, "lng": 4.84}}
		}
		return b.do("POST", "/v1/technicians/me/sync", tech, map[string]any{"actions": acts})
	})
	measure("push of the same 20 pings again (already applied)", nil, func(i int) response {
		acts := make([]map[string]any, 20)
		for k := range acts {
			acts[k] = map[string]any{"key": fmt.Sprintf("bench-%d-%d", i, k), "kind": "ping", "location": map[string]any{"lat": 45.76, "lng": 4.84}}
		}
		return b.do("POST", "/v1/technicians/me/sync", tech, map[string]any{"actions": acts})
	})
}

func syncMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
