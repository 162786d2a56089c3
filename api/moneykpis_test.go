package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestMoneyKPIs: two paid visits (one quote approved, one declined: the call-out) and a warranty
// visit; the KPIs are worked out by hand in the comments.
func TestMoneyKPIs(t *testing.T) {
	b := setup(t)
	b.priceBook()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	t0 := b.clock.Now()
	_, job1 := b.bookedVisitOnSite("ana", "tech-a", nil)
	q1 := b.quote("tech-a", job1, map[string]any{"lines": []any{line("callout.washer", 1), line("labour.washer", 4)}}) // 10900 net, 13080 total
	if r := b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", num(q1, "id")), b.token(dispatch.RoleCustomer, "ana"), nil); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if r := b.complete("tech-a", job1); r.Status != 200 {
		t.Fatal(r.Status, string(r.Body))
	}
	_, job2 := b.bookedVisitOnSite("bob", "tech-a", nil)
	q2 := b.quote("tech-a", job2, map[string]any{"lines": []any{line("svc.drum-bearing", 1)}})
	if r := b.do("POST", fmt.Sprintf("/v1/quotes/%d/decline", num(q2, "id")), b.token(dispatch.RoleCustomer, "bob"), nil); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if r := b.complete("tech-a", job2); r.Status != 200 { // the call-out: 4900 net, 5880 total
		t.Fatal(r.Status, string(r.Body))
	}
	bosch := b.salesRecord("wim", map[string]any{"category": "washer", "brand": "Bosch", "purchased_at": "2026-06-01", "warranty_months": 24})
	_, job3 := b.bookedVisitOnSite("wim", "tech-a", bosch)
	b.clock.Set(b.clock.Now().Add(30 * time.Minute))
	if r := b.complete("tech-a", job3); r.Status != 200 { // 2 quarters × 1100 + travel 1500 = 3700
		t.Fatal(r.Status, string(r.Body))
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	k := b.do("GET", fmt.Sprintf("/v1/kpis/money?from=%s&to=%s", t0.Add(-time.Hour).Format(time.RFC3339), t0.Add(2*time.Hour).Format(time.RFC3339)), disp, nil).json(t)
	// Revenue 10900 + 4900 = 15800 over 2 paid visits = 7900; ticket (13080 + 5880) / 2 = 9480; 1 of 2 quotes approved.
	if num(k, "paid_visits") != 2 || num(k, "invoices") != 2 || num(k, "revenue_minor") != 15800 || k["revenue_per_paid_visit_minor"] != 7900.0 ||
		k["average_ticket_minor"] != 9480.0 || k["quote_acceptance_rate"] != 0.5 || num(k, "claims") != 1 || num(k, "claimed_minor") != 3700 {
		t.Fatalf("KPIs %v", k)
	}
	months := k["settlement_by_period"].([]any)
	if len(months) != 1 || months[0].(map[string]any)["key"] != "2026-11" || num(months[0].(map[string]any), "total_minor") != 3700 {
		t.Fatalf("settlement by period %v", months)
	}
	empty := b.do("GET", "/v1/kpis/money?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z", disp, nil).json(t)
	if empty["quote_acceptance_rate"] != nil || empty["average_ticket_minor"] != nil || num(empty, "revenue_minor") != 0 {
		t.Fatalf("an empty period: %v", empty)
	}
	wantProblem(t, b.do("GET", "/v1/kpis/money?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", disp, nil), 400, "invalid_period")
	wantProblem(t, b.do("GET", "/v1/kpis/money", b.token(dispatch.RoleTechnician, "tech-a"), nil), 403, "forbidden_role")
}
