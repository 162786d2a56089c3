package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestWarrantySettlement: a completed warranty visit is claimed from the product's brand (labour
// at the warranty rate by the quarter hour, parts at cost, the travel band); the party rejects it,
// it is corrected and resubmitted; the month is closed once over (not before, not twice), after
// which nothing in it changes, and it is exported as CSV.
func TestWarrantySettlement(t *testing.T) {
	b := setup(t)
	b.priceBook()
	techID := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	bosch := b.salesRecord("wim", map[string]any{"category": "washer", "brand": "Bosch", "purchased_at": "2026-06-01", "warranty_months": 24})
	bookingID, jobID := b.bookedVisitOnSite("wim", "tech-a", bosch)
	b.clock.Set(b.clock.Now().Add(50 * time.Minute))
	if r := b.complete("tech-a", jobID, map[string]any{"sku": "BRG-6204", "quantity": 1}, map[string]any{"sku": "XYZ-1", "name": "gasket", "quantity": 1}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	if invs := b.invoicesOf(bookingID); len(invs) != 0 {
		t.Fatalf("a warranty visit was invoiced to the customer: %v", invs)
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	st := b.do("GET", "/v1/settlements?period=2026-11&party=Bosch", disp, nil).json(t)
	claims := st["claims"].([]any)
	if len(claims) != 1 {
		t.Fatalf("statement %v", st)
	}
	c := claims[0].(map[string]any)
	// 50 min on site → 4 quarters × 11.00; the bearing at cost 18.00, the gasket unpriced; 0.6 km → 15.00.
	if c["party"] != "Bosch" || num(c, "labour_minor") != 4400 || num(c, "parts_minor") != 1800 || num(c, "travel_minor") != 1500 ||
		num(c, "total_minor") != 7700 || num(c, "on_site_minutes") != 50 || num(c, "technician_id") != techID {
		t.Fatalf("claim %v", c)
	}
	if num(st, "total_minor") != 7700 || num(st["by_technician"].([]any)[0].(map[string]any), "total_minor") != 5900 {
		t.Fatalf("totals %v", st)
	}
	if other := b.do("GET", "/v1/settlements?period=2026-11&party=Miele", disp, nil).json(t); len(other["claims"].([]any)) != 0 {
		t.Fatalf("Miele's statement %v", other)
	}
	wantProblem(t, b.do("GET", "/v1/settlements?period=2026-13", disp, nil), 400, "invalid_period")
	wantProblem(t, b.do("GET", "/v1/settlements?period=2026-11", b.token(dispatch.RoleCustomer, "wim"), nil), 403, "forbidden_role")

	claimPath := fmt.Sprintf("/v1/settlements/claims/%d", num(c, "id"))
	wantProblem(t, b.do("POST", claimPath+"/resubmit", disp, nil), 409, "claim_submitted")
	wantProblem(t, b.do("POST", claimPath+"/reject", disp, map[string]any{"reason": " "}), 400, "missing_field")
	if r := b.do("POST", claimPath+"/reject", disp, map[string]any{"reason": "gasket has no price"}); r.Status != 200 || r.json(t)["status"] != "rejected" {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	if st := b.do("GET", "/v1/settlements?period=2026-11", disp, nil).json(t); num(st, "total_minor") != 0 {
		t.Fatalf("a rejected claim is counted: %v", st)
	}
	wantProblem(t, b.do("POST", claimPath+"/resubmit", disp, map[string]any{"part_costs": map[string]any{"0": 100}}), 400, "invalid_line")
	r := b.do("POST", claimPath+"/resubmit", disp, map[string]any{"part_costs": map[string]any{"2": 650}})
	if r.Status != 200 || r.json(t)["status"] != "submitted" || num(r.json(t), "total_minor") != 8350 || num(r.json(t), "resubmissions") != 1 {
		t.Fatalf("resubmit: %d %s", r.Status, r.Body)
	}

	wantProblem(t, b.do("POST", "/v1/settlements/2026-11/close", disp, nil), 422, "period_not_over")
	b.clock.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	disp = b.token(dispatch.RoleDispatcher, "disp")
	if r := b.do("POST", "/v1/settlements/2026-11/close", disp, nil); r.Status != 200 {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", "/v1/settlements/2026-11/close", disp, nil), 409, "period_closed")
	wantProblem(t, b.do("POST", claimPath+"/reject", disp, map[string]any{"reason": "late"}), 409, "period_closed")
	if _, err := b.db.Pool.Exec(t.Context(), "UPDATE settlement_claims SET total_minor = total_minor WHERE id = $1", num(c, "id")); err == nil {
		t.Fatal("a claim of a closed period was changed in the database")
	}
	closed := b.do("GET", "/v1/settlements?period=2026-11", disp, nil).json(t)
	if closed["closed"] != true || num(closed, "total_minor") != 8350 {
		t.Fatalf("closed statement %v", closed)
	}
	csv := b.do("GET", "/v1/settlements?period=2026-11&format=csv", disp, nil)
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if csv.Status != 200 || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") || len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "period,party,claim_id") || !strings.Contains(lines[1], ",Bosch,") || !strings.HasSuffix(lines[2], ",8350,EUR") {
		t.Fatalf("csv: %d %s\n%s", csv.Status, csv.Header.Get("Content-Type"), csv.Body)
	}
}
