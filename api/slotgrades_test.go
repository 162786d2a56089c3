package api_test

import (
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestSlotGradesAndCustomerView: every window inside the SLA was graded best, and the plan's
// cost_minutes was shown to customers. Windows are graded by the real spread of their cost (the
// few cheapest best, then good, then possible), and only staff see the costs.
func TestSlotGradesAndCustomerView(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"ac", "install"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "sam")
	for range 2 {
		if r := b.do("POST", "/v1/bookings", cust, acInstall(nil)); r.Status != 201 {
			t.Fatalf("seed booking: %d %s", r.Status, r.Body)
		}
	}
	from, to := b.clock.Now(), b.clock.Now().Add(48*time.Hour)
	r := b.do("GET", slotQuery(from, to), cust, nil)
	if r.Status != 200 {
		t.Fatalf("slots: %d %s", r.Status, r.Body)
	}
	slots := r.json(t)["slots"].([]any)
	count := map[string]int{}
	for _, s := range slots {
		s := s.(map[string]any)
		if _, shown := s["cost_minutes"]; shown {
			t.Fatalf("a customer sees the plan's cost: %v", s)
		}
		count[s["grade"].(string)]++
	}
	if len(slots) < 6 || count["best"] == 0 || count["best"] > 3 || count["best"]+count["good"]+count["possible"] != len(slots) {
		t.Fatalf("grades of %d windows: %v", len(slots), count)
	}
	staff := b.do("GET", slotQuery(from, to, "customer_sub", "sam"), b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["slots"].([]any)
	var bestMax, restMin float64 = -1, 1e18
	for _, s := range staff {
		s := s.(map[string]any)
		c, ok := s["cost_minutes"].(float64)
		if !ok {
			t.Fatalf("staff do not see the cost: %v", s)
		}
		if s["grade"] == "best" {
			bestMax = max(bestMax, c)
		} else {
			restMin = min(restMin, c)
		}
	}
	if bestMax > restMin+5 { // within the 5-minute tie, sooner wins
		t.Fatalf("a best window costs %.1f min, more than another's %.1f", bestMax, restMin)
	}
}
