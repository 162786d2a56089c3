package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// fakeOSRM answers /table with the same driving time for every pair, or fails when broken.
func fakeOSRM(t *testing.T, seconds float64, broken *atomic.Bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "upstream down", http.StatusBadGateway)
			return
		}
		coords := strings.Split(strings.TrimPrefix(r.URL.Path, "/table/v1/driving/"), ";")
		idx := func(name string) []string {
			// OSRM's lists use literal semicolons, which net/url's query parser refuses: split by hand.
			for _, kv := range strings.Split(r.URL.RawQuery, "&") {
				if v, ok := strings.CutPrefix(kv, name+"="); ok {
					return strings.Split(v, ";")
				}
			}
			out := make([]string, len(coords))
			for i := range out {
				out[i] = "x"
			}
			return out
		}
		src, dst := idx("sources"), idx("destinations")
		d := make([][]float64, len(src))
		for i := range d {
			d[i] = make([]float64, len(dst))
			for j := range d[i] {
				if src[i] != dst[j] {
					d[i][j] = seconds
				}
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"code": "Ok", "durations": d})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRoutingEngineTimesTheInsertion: with FIELDFIX_OSRM_URL's engine the planner uses its
// driving times; when the engine fails it falls back to the travel model.
func TestRoutingEngineTimesTheInsertion(t *testing.T) {
	b := setup(t)
	var broken atomic.Bool
	osrm := fakeOSRM(t, 1800, &broken) // half an hour to anywhere
	table := geo.FallbackTable{Primary: &geo.OSRMClient{BaseURL: osrm.URL}, Secondary: b.svc.Planner.Travel}
	m, err := geo.NewMatrixBuilder(table, b.svc.Planner.Travel, 0)
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Planner.Matrix = m
	b.technician("tech-a", []string{"washer"}, 45.770, 4.845) // about a kilometre away: minutes by the model
	cust := b.token(dispatch.RoleCustomer, "c")
	now := b.clock.Now()
	start := func() time.Time {
		j := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
		st, _ := time.Parse(time.RFC3339, j["planned_start"].(string))
		return st
	}
	if st := start(); st.Before(now.Add(30 * time.Minute)) {
		t.Fatalf("with the engine's 30 min, planned at %v (now %v)", st, now)
	}
	broken.Store(true)
	b.svc.Planner.Matrix, _ = geo.NewMatrixBuilder(table, b.svc.Planner.Travel, 0) // a fresh cache: the engine is asked again
	second := b.technician("tech-b", []string{"washer"}, 45.771, 4.846)
	j := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	st, _ := time.Parse(time.RFC3339, j["planned_start"].(string))
	if j["technician_id"] != float64(second) || st.After(now.Add(10*time.Minute)) {
		t.Fatalf("with the engine down, planned %v at %v; the model says minutes away", j["technician_id"], st)
	}
}
