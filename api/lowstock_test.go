package api_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestLowStockToldOnce: a threshold per part and location; the dispatchers are told once when
// the stock on hand falls below it (not again while it stays below, nor for two moves racing
// under it), told again only after it was back at the threshold; setting a threshold that is
// already passed tells at once. Bad thresholds are refused.
func TestLowStockToldOnce(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"GSK-1": 900, "BELT-1": 1500})
	disp := b.token(dispatch.RoleDispatcher, "disp")
	for _, d := range []string{"disp-phone", "disp-2-phone"} {
		sub := map[string]string{"disp-phone": "disp", "disp-2-phone": "disp-2"}[d]
		if r := b.do("PUT", "/v1/dispatchers/me/devices", b.token(dispatch.RoleDispatcher, sub), map[string]any{"token": d, "platform": "android"}); r.Status != 200 {
			t.Fatalf("dispatcher device: %d %s", r.Status, r.Body)
		}
	}
	techID := b.technician("tech-l", []string{"washer"}, 45.76, 4.84)
	b.stockVan(techID, "GSK-1", 6)
	van := fmt.Sprintf("van:%d", techID)
	told := func() int {
		return b.count("SELECT count(*) FROM notifications WHERE recipient_kind = 'dispatcher' AND recipient_subject = 'disp' AND kind = 'low_stock'")
	}
	set := func(body map[string]any) response {
		return b.do("PUT", "/v1/stock/thresholds", disp, body)
	}
	out := func(n int) {
		t.Helper()
		if r := b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "return_defective", "sku": "GSK-1", "quantity": n, "from": van}); r.Status != 201 {
			t.Fatalf("move: %d %s", r.Status, r.Body)
		}
	}

	wantProblem(t, set(map[string]any{"location": van, "sku": "GSK-1"}), 400, "missing_field")
	wantProblem(t, set(map[string]any{"location": van, "sku": "GSK-1", "low_threshold": -1}), 400, "invalid_threshold")
	wantProblem(t, set(map[string]any{"location": van, "sku": "NOPE", "low_threshold": 2}), 400, "unknown_sku")
	wantProblem(t, set(map[string]any{"location": "van:x", "sku": "GSK-1", "low_threshold": 2}), 400, "invalid_location")
	wantProblem(t, set(map[string]any{"location": van, "sku": "GSK-1", "low_threshold": "two"}), 400, "invalid_value")
	wantProblem(t, b.do("PUT", "/v1/stock/thresholds", b.token(dispatch.RoleTechnician, "tech-l"), map[string]any{"location": van, "sku": "GSK-1", "low_threshold": 2}), 403, "forbidden_role")

	r := set(map[string]any{"location": van, "sku": "GSK-1", "low_threshold": 3})
	if r.Status != 200 || r.json(t)["low"] != false || r.json(t)["low_threshold"] != 3.0 {
		t.Fatalf("threshold: %d %s", r.Status, r.Body)
	}
	out(3) // 6 → 3: at the threshold, not below
	if n := told(); n != 0 {
		t.Fatalf("told %d times at the threshold", n)
	}
	out(1) // 2 < 3
	out(1) // 1: still below, not told again
	if n := told(); n != 1 {
		t.Fatalf("told %d times, want once", n)
	}
	items := b.do("GET", "/v1/dispatchers/me/inbox", b.token(dispatch.RoleDispatcher, "disp-2"), nil).json(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["kind"] != "low_stock" || items[0].(map[string]any)["data"].(map[string]any)["on_hand"] != 2.0 {
		t.Fatalf("the other dispatcher's inbox: %v", items)
	}
	if st := b.do("GET", "/v1/stock?location="+van+"&sku=GSK-1", disp, nil).json(t)["items"].([]any)[0].(map[string]any); st["low"] != true {
		t.Fatalf("stock %v", st)
	}
	// Back at the threshold (a transfer in), then below again: told a second time.
	wh := fmt.Sprint(b.warehouse("Dépôt Est", 45.75, 4.90))
	for _, m := range []map[string]any{{"kind": "receive", "sku": "GSK-1", "quantity": 5, "to": wh}, {"kind": "transfer", "sku": "GSK-1", "quantity": 2, "from": wh, "to": van}} {
		if r := b.move(dispatch.RoleDispatcher, "disp", m); r.Status != 201 {
			t.Fatalf("move: %d %s", r.Status, r.Body)
		}
	}
	// 3, at the threshold: cleared. Two moves racing under it (3 → 2 → 1), each leaving it
	// below: one tells.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "return_defective", "sku": "GSK-1", "quantity": 1, "from": van}).Status
		})
	}
	wg.Wait()
	if statuses[0] != 201 || statuses[1] != 201 {
		t.Fatalf("racing moves: %v", statuses)
	}
	if n := told(); n != 2 {
		t.Fatalf("told %d times, want twice (once per fall below)", n)
	}
	// A threshold set where the stock is already below it tells at once; removing it is null.
	b.stockVan(techID, "BELT-1", 1)
	if r := set(map[string]any{"location": van, "sku": "BELT-1", "low_threshold": 2}); r.Status != 200 || r.json(t)["low"] != true {
		t.Fatalf("threshold: %d %s", r.Status, r.Body)
	}
	if n := told(); n != 3 {
		t.Fatalf("told %d times, want 3", n)
	}
	if r := set(map[string]any{"location": van, "sku": "BELT-1", "low_threshold": nil}); r.Status != 200 || r.json(t)["low_threshold"] != nil {
		t.Fatalf("remove threshold: %d %s", r.Status, r.Body)
	}
	if b.auditCount("stock_location", b.count("SELECT id FROM stock_locations WHERE technician_id = $1", techID), "stock_low") != 3 {
		t.Fatal("the alerts are not in the audit trail")
	}
}
