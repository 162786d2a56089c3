package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestPartsKPIs: GET /v1/kpis tells the parts figures. Ana's first visit has the gasket on board
// and fixes the washer (parts cost 4.50 at the catalogue's cost); Ben's first visit needs a
// thermostat nobody stocks and ends incomplete, its return visit supplier-deferred past the SLA.
// Of the two first visits that needed a part one had it: first-time fix 1 with it, 0 without.
func TestPartsKPIs(t *testing.T) {
	b := setup(t)
	from := b.clock.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	b.catalogued(false, map[string]int64{"GSK-1": 900, "TH-9": 4500}) // cost: half the price
	techID := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.stockVan(techID, "GSK-1", 2)

	washer := func(sub string) float64 { // under warranty: no quote to approve
		return b.salesRecord(sub, map[string]any{"category": "washer", "brand": "Bosch", "purchased_at": "2026-06-01", "warranty_months": 24})
	}
	_, ana := b.bookedVisitOnSite("ana", "tech-a", washer("ana"))
	if r := b.complete("tech-a", ana, map[string]any{"sku": "GSK-1", "quantity": 1}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	_, ben := b.bookedVisitOnSite("ben", "tech-a", washer("ben"))
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", ben), b.token(dispatch.RoleTechnician, "tech-a"), map[string]any{"status": "incomplete",
		"outcome": "needs_part", "needed_parts": []any{map[string]any{"sku": "TH-9", "quantity": 1}}}); r.Status != 200 {
		t.Fatalf("incomplete: %d %s", r.Status, r.Body)
	}
	groups := b.do("GET", "/v1/kpis?from="+from, b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["groups"].([]any)
	if len(groups) != 1 {
		t.Fatalf("groups %v", groups)
	}
	all := groups[0].(map[string]any)
	near(t, "bookings", all["bookings"], 2)
	near(t, "parts_cost_minor", all["parts_cost_minor"], 450)
	near(t, "parts_cost_per_visit_minor", all["parts_cost_per_visit_minor"], 225) // two visits happened
	near(t, "first_visits_needing_part", all["first_visits_needing_part"], 2)
	near(t, "first_visits_part_on_board", all["first_visits_part_on_board"], 1)
	near(t, "first_time_fix_rate_part_on_board", all["first_time_fix_rate_part_on_board"], 1)
	near(t, "first_time_fix_rate_part_missing", all["first_time_fix_rate_part_missing"], 0)
	near(t, "sla_supplier_deferred", all["sla_supplier_deferred"], 1)
}
