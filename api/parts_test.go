package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/internal/pdftext"
)

// catalogued adds parts to the catalogue as the admin: sku → unit price.
func (b *testBundle) catalogued(serialTracked bool, prices map[string]int64) {
	b.t.Helper()
	for sku, price := range prices {
		r := b.do("POST", "/v1/parts", b.token(dispatch.RoleAdmin, "admin"), map[string]any{"sku": sku, "name": "part " + sku,
			"categories": []string{"washer"}, "unit_price_minor": price, "cost_minor": price / 2, "serial_tracked": serialTracked})
		if r.Status != http.StatusCreated {
			b.t.Fatalf("part %s: %d %s", sku, r.Status, r.Body)
		}
	}
}

// importCSV posts a CSV file as the admin.
func (b *testBundle) importCSV(csv string) response {
	b.t.Helper()
	return b.do("POST", "/v1/parts/import", b.token(dispatch.RoleAdmin, "admin"), []byte(csv), "Content-Type", "text/csv")
}

// TestPartsCatalogue: an admin adds a part (201) and replaces it (200); names in any language;
// technicians read the catalogue, filtered by category, model and text; customers do not; bad
// parts are refused by field.
func TestPartsCatalogue(t *testing.T) {
	b := setup(t)
	admin := b.token(dispatch.RoleAdmin, "admin")
	body := map[string]any{"sku": "BRG-6204", "name": "滚筒轴承 6204", "categories": []string{"washer", "dryer"}, "models": []string{"WM-100"},
		"unit_price_minor": 2400, "cost_minor": 1800}
	r := b.do("POST", "/v1/parts", admin, body)
	if r.Status != http.StatusCreated || r.json(t)["name"] != "滚筒轴承 6204" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	body["unit_price_minor"] = 2600
	if r := b.do("POST", "/v1/parts", admin, body); r.Status != http.StatusOK || num(r.json(t), "unit_price_minor") != 2600 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	b.catalogued(false, map[string]int64{"GSK-1": 900})
	if r := b.do("POST", "/v1/parts", admin, map[string]any{"sku": "TH-1", "name": "Thermostat", "categories": []string{"fridge"}, "unit_price_minor": 1500}); r.Status != 201 {
		t.Fatalf("fridge part: %d %s", r.Status, r.Body)
	}
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	skus := func(path string) string {
		r := b.do("GET", path, tech, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		var out []string
		for _, it := range r.json(t)["items"].([]any) {
			out = append(out, it.(map[string]any)["sku"].(string))
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		"/v1/parts":                                 "BRG-6204,GSK-1,TH-1",
		"/v1/parts?category=washer":                 "BRG-6204,GSK-1",
		"/v1/parts?category=washer&model=WM-100":    "BRG-6204,GSK-1", // a part listing no model fits every washer
		"/v1/parts?category=washer&model=OTHER":     "GSK-1",
		"/v1/parts?q=%E8%BD%B4%E6%89%BF":            "BRG-6204", // 轴承
		"/v1/parts?q=thermo":                        "TH-1",
		"/v1/parts?limit=2":                         "BRG-6204,GSK-1",
		"/v1/parts?limit=2&after=GSK-1":             "TH-1",
		"/v1/parts?category=washer&q=nothing-there": "",
	} {
		if got := skus(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	if r := b.do("GET", "/v1/parts?limit=2", tech, nil).json(t); r["next_after"] != "GSK-1" {
		t.Errorf("next_after %v", r["next_after"])
	}
	wantProblem(t, b.do("GET", "/v1/parts?category=spaceship", tech, nil), 400, "unknown_appliance")
	wantProblem(t, b.do("GET", "/v1/parts?colour=red", tech, nil), 400, "unknown_filter")
	wantProblem(t, b.do("GET", "/v1/parts", b.token(dispatch.RoleCustomer, "c"), nil), 403, "forbidden_role")
	wantProblem(t, b.do("POST", "/v1/parts", b.token(dispatch.RoleDispatcher, "d"), body), 403, "forbidden_role")
	for code, bad := range map[string]map[string]any{
		"invalid_sku":       {"sku": "bad sku", "name": "x", "unit_price_minor": 1},
		"invalid_name":      {"sku": "X-1", "name": " ", "unit_price_minor": 1},
		"invalid_price":     {"sku": "X-1", "name": "x", "unit_price_minor": -1},
		"unknown_appliance": {"sku": "X-1", "name": "x", "unit_price_minor": 1, "categories": []string{"toaster"}},
		"missing_field":     {"sku": "X-1", "name": "x"},
	} {
		wantProblem(t, b.do("POST", "/v1/parts", admin, bad), 400, code)
	}
}

// TestPartsImport: 5,000 rows go in with one request (created, then updated on a second run);
// a file with bad rows imports nothing and names each bad row with its reason.
func TestPartsImport(t *testing.T) {
	b := setup(t)
	var csv strings.Builder
	csv.WriteString("sku,name,categories,models,unit_price_minor,cost_minor,serial_tracked\n")
	for i := range 5000 {
		fmt.Fprintf(&csv, "P-%05d,\"Pièce %d, joint\",washer|dishwasher,WM-%d,%d,%d,%v\n", i, i, i%7, 100+i, 50+i, i%10 == 0)
	}
	start := time.Now()
	r := b.importCSV(csv.String())
	took := time.Since(start)
	if r.Status != 200 || num(r.json(t), "created") != 5000 || num(r.json(t), "rows") != 5000 {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	t.Logf("5,000 rows imported in %v", took)
	if r := b.importCSV(csv.String()); r.Status != 200 || num(r.json(t), "updated") != 5000 || num(r.json(t), "created") != 0 {
		t.Fatalf("second import: %d %s", r.Status, r.Body)
	}
	if n := b.count("SELECT count(*) FROM parts WHERE serial_tracked AND 'dishwasher' = ANY(categories)"); n != 500 {
		t.Fatalf("%d serial-tracked parts, want 500", n)
	}

	bad := "SKU,Name,Unit_Price_Minor,Categories\n" + // header names in any case and order
		"NEW-1,Nouvelle pièce,100,washer\n" +
		"P-00001,Repriced,999999,washer\n" +
		"bad sku,X,1,\n" + // row 4
		"NEW-2,,5,\n" + // row 5: no name
		"NEW-3,Y,12.50,\n" + // row 6: not minor units
		"NEW-1,Twice,7,\n" + // row 7: the sku of row 2
		"NEW-4,Z,4,toaster\n" // row 8
	r = b.importCSV(bad)
	wantProblem(t, r, 422, "import_rejected")
	got := map[int]string{}
	for _, rj := range r.json(t)["rejected"].([]any) {
		m := rj.(map[string]any)
		got[int(m["row"].(float64))] = m["code"].(string)
	}
	want := map[int]string{4: "invalid_sku", 5: "invalid_name", 6: "invalid_price", 7: "duplicate_sku", 8: "unknown_appliance"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rejected %v, want %v", got, want)
	}
	if n := b.count("SELECT count(*) FROM parts WHERE sku = 'NEW-1' OR unit_price_minor = 999999"); n != 0 {
		t.Fatalf("a refused import wrote %d rows", n)
	}
	wantProblem(t, b.importCSV("sku,name,colour\nA,b,red\n"), 400, "unknown_column")
	wantProblem(t, b.importCSV("sku,name\nA,b\n"), 400, "missing_column")
	wantProblem(t, b.importCSV("sku,name,unit_price_minor\n"), 400, "empty_import")
	wantProblem(t, b.importCSV(""), 400, "invalid_csv")
	wantProblem(t, b.do("POST", "/v1/parts/import", b.token(dispatch.RoleDispatcher, "d"), []byte(bad)), 403, "forbidden_role")
}

// warehouse adds a warehouse in Lyon as the admin and returns its id.
func (b *testBundle) warehouse(name string, lat, lng float64) int64 {
	b.t.Helper()
	r := b.do("POST", "/v1/stock/locations", b.token(dispatch.RoleAdmin, "admin"), map[string]any{"name": name, "address": name + ", Lyon",
		"location": map[string]any{"lat": lat, "lng": lng}})
	if r.Status != http.StatusCreated {
		b.t.Fatalf("warehouse: %d %s", r.Status, r.Body)
	}
	return int64(num(r.json(b.t), "id"))
}

// move records a stock move as sub with role and returns the answer.
func (b *testBundle) move(role dispatch.Role, sub string, body map[string]any) response {
	b.t.Helper()
	return b.do("POST", "/v1/stock/moves", b.token(role, sub), body)
}

// onHand is what GET /v1/stock says a location holds of sku: on hand, reserved.
func (b *testBundle) onHand(location, sku string) (onHand, reserved int) {
	b.t.Helper()
	r := b.do("GET", "/v1/stock?location="+location+"&sku="+sku, b.token(dispatch.RoleDispatcher, "disp"), nil)
	if r.Status != 200 {
		b.t.Fatalf("stock of %s: %d %s", location, r.Status, r.Body)
	}
	for _, it := range r.json(b.t)["items"].([]any) {
		m := it.(map[string]any)
		return int(num(m, "on_hand")), int(num(m, "reserved"))
	}
	return 0, 0
}

// TestStockLedger: stock is received into a warehouse, transferred to a technician's van (made on
// first use), returned defective; each location's balance is the sum of its moves; a move beyond
// what a location holds is refused (409 insufficient_stock) and changes nothing; the database
// itself refuses negative stock and any change to the ledger; technicians see their own van only.
func TestStockLedger(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"BRG-6204": 2400})
	wh := b.warehouse("Dépôt Gerland", 45.73, 4.83)
	techID := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.technician("tech-b", []string{"washer"}, 45.77, 4.85)
	whRef, van := fmt.Sprint(wh), fmt.Sprintf("van:%d", techID)
	for _, m := range []map[string]any{
		{"kind": "receive", "sku": "BRG-6204", "quantity": 5, "to": whRef, "note": "PO 1234"},
		{"kind": "transfer", "sku": "BRG-6204", "quantity": 2, "from": whRef, "to": van},
		{"kind": "return_defective", "sku": "BRG-6204", "quantity": 1, "from": whRef},
	} {
		if r := b.move(dispatch.RoleDispatcher, "disp", m); r.Status != http.StatusCreated {
			t.Fatalf("%v: %d %s", m, r.Status, r.Body)
		}
	}
	if oh, _ := b.onHand(whRef, "BRG-6204"); oh != 2 {
		t.Fatalf("warehouse holds %d, want 5 - 2 - 1", oh)
	}
	if oh, _ := b.onHand(van, "BRG-6204"); oh != 2 {
		t.Fatalf("van holds %d, want 2", oh)
	}
	// The technician picks one more up at the warehouse, and reads their van without naming it.
	if r := b.move(dispatch.RoleTechnician, "tech-a", map[string]any{"kind": "transfer", "sku": "BRG-6204", "quantity": 1, "from": whRef, "to": "me"}); r.Status != 201 {
		t.Fatalf("pick-up: %d %s", r.Status, r.Body)
	}
	r := b.do("GET", "/v1/stock", b.token(dispatch.RoleTechnician, "tech-a"), nil)
	if r.Status != 200 || r.json(t)["location"].(map[string]any)["kind"] != "van" || num(r.json(t)["items"].([]any)[0].(map[string]any), "on_hand") != 3 {
		t.Fatalf("own van: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("GET", "/v1/stock?location="+van, b.token(dispatch.RoleTechnician, "tech-b"), nil), 404, "stock_location_not_found")
	wantProblem(t, b.move(dispatch.RoleTechnician, "tech-b", map[string]any{"kind": "transfer", "sku": "BRG-6204", "quantity": 1, "from": van, "to": "me"}), 403, "forbidden")
	wantProblem(t, b.move(dispatch.RoleTechnician, "tech-b", map[string]any{"kind": "receive", "sku": "BRG-6204", "quantity": 1, "to": "me"}), 403, "forbidden")

	// Beyond what is there: refused, nothing written.
	r = b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "transfer", "sku": "BRG-6204", "quantity": 2, "from": whRef, "to": van})
	wantProblem(t, r, 409, "insufficient_stock")
	if oh, _ := b.onHand(whRef, "BRG-6204"); oh != 1 {
		t.Fatalf("a refused move changed the warehouse: %d", oh)
	}
	for code, bad := range map[string]map[string]any{
		"invalid_kind":     {"kind": "steal", "sku": "BRG-6204", "quantity": 1, "from": whRef},
		"invalid_quantity": {"kind": "receive", "sku": "BRG-6204", "quantity": 0, "to": whRef},
		"invalid_move":     {"kind": "receive", "sku": "BRG-6204", "quantity": 1, "from": whRef},
		"unknown_sku":      {"kind": "receive", "sku": "NOPE", "quantity": 1, "to": whRef},
		"invalid_location": {"kind": "receive", "sku": "BRG-6204", "quantity": 1, "to": "the moon"},
	} {
		wantProblem(t, b.move(dispatch.RoleDispatcher, "disp", bad), 400, code)
	}
	wantProblem(t, b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "receive", "sku": "BRG-6204", "quantity": 1, "to": "999999"}), 404, "stock_location_not_found")

	// The balance is the sum of the ledger, and the database keeps it so.
	if n := b.count(`SELECT count(*) FROM stock_balances bl WHERE on_hand <> (SELECT COALESCE(sum(CASE WHEN to_location = bl.location_id THEN quantity ELSE -quantity END), 0)
		FROM stock_moves WHERE sku = bl.sku AND bl.location_id IN (from_location, to_location))`); n != 0 {
		t.Fatalf("%d balances differ from their moves", n)
	}
	for _, sql := range []string{"UPDATE stock_balances SET on_hand = -1", "UPDATE stock_moves SET quantity = 50", "DELETE FROM stock_moves"} {
		if _, err := b.db.Pool.Exec(t.Context(), sql); err == nil {
			t.Errorf("%s: the database took it", sql)
		}
	}
	wantProblem(t, b.do("POST", "/v1/stock/locations", b.token(dispatch.RoleAdmin, "admin"), map[string]any{"name": "No address",
		"location": map[string]any{"lat": 45.7, "lng": 4.8}}), 400, "missing_field")
	if r := b.do("GET", "/v1/stock/locations", b.token(dispatch.RoleTechnician, "tech-a"), nil); r.Status != 200 || len(r.json(t)["items"].([]any)) != 2 {
		t.Fatalf("locations: %d %s", r.Status, r.Body)
	}
}

// TestConcurrentConsumptionOfTheLastUnit: two consumptions of a location's last unit at the same
// moment, twenty times over: one wins, the other is 409 insufficient_stock, and the stock is never
// negative.
func TestConcurrentConsumptionOfTheLastUnit(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"GSK-1": 900})
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	_, jobID := b.bookedVisitOnSite("cust", "tech-a", nil)
	wh := fmt.Sprint(b.warehouse("Dépôt", 45.73, 4.83))
	consume := func() response {
		return b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "consume", "sku": "GSK-1", "quantity": 1, "from": wh, "job_id": jobID})
	}
	for round := range 20 {
		if r := b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "receive", "sku": "GSK-1", "quantity": 1, "to": wh}); r.Status != 201 {
			t.Fatalf("receive: %d %s", r.Status, r.Body)
		}
		r1, r2 := b.both(consume, consume)
		won := 0
		for _, r := range []response{r1, r2} {
			switch r.Status {
			case 201:
				won++
			case 409:
				wantProblem(t, r, 409, "insufficient_stock")
			default:
				t.Fatalf("round %d: %d %s", round, r.Status, r.Body)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d consumptions of the last unit won", round, won)
		}
		if oh, _ := b.onHand(wh, "GSK-1"); oh != 0 {
			t.Fatalf("round %d: %d left", round, oh)
		}
	}
}

// stockVan puts quantity of sku into a technician's van (received at a warehouse, transferred).
func (b *testBundle) stockVan(techID int64, sku string, quantity int) {
	b.t.Helper()
	wh := fmt.Sprint(b.warehouse(fmt.Sprintf("Dépôt %d %s", techID, sku), 45.70, 4.80))
	for _, m := range []map[string]any{{"kind": "receive", "sku": sku, "quantity": quantity, "to": wh},
		{"kind": "transfer", "sku": sku, "quantity": quantity, "from": wh, "to": fmt.Sprintf("van:%d", techID)}} {
		if r := b.move(dispatch.RoleDispatcher, "disp", m); r.Status != 201 {
			b.t.Fatalf("stock van %d: %d %s", techID, r.Status, r.Body)
		}
	}
}

// requireParts sets a job's required parts as the dispatcher.
func (b *testBundle) requireParts(jobID any, parts ...map[string]any) response {
	b.t.Helper()
	return b.do("PUT", fmt.Sprintf("/v1/jobs/%v/parts", jobID), b.token(dispatch.RoleDispatcher, "disp"), map[string]any{"parts": append([]map[string]any{}, parts...)})
}

// TestConsumptionAtCompletion: a job's required part is reserved in its technician's van; the
// visit completes with consumption lines (a serial-tracked part needs its serial); the paid
// repair's quote is priced from the catalogue (not the price book's stand-in) and so is the
// invoice; the van loses what was used, on the ledger, with the price; a line beyond what the
// van holds is refused and changes nothing.
func TestConsumptionAtCompletion(t *testing.T) {
	b := setup(t)
	b.priceBook() // BRG-6204 at 34.99 there: the catalogue's 24.00 wins
	b.catalogued(false, map[string]int64{"GSK-1": 900})
	b.catalogued(true, map[string]int64{"BRG-6204": 2400})
	techID := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.stockVan(techID, "GSK-1", 2)
	b.stockVan(techID, "BRG-6204", 1)
	van := fmt.Sprintf("van:%d", techID)
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "ana"), washerBooking(nil)).json(t)
	jobID := int64(num(jobOf(t, bk), "id"))
	r := b.requireParts(jobID, map[string]any{"sku": "GSK-1", "quantity": 1})
	if r.Status != 200 || r.json(t)["parts"].([]any)[0].(map[string]any)["reserved_at_location_id"] == nil {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	if oh, res := b.onHand(van, "GSK-1"); oh != 2 || res != 1 {
		t.Fatalf("van: %d on hand, %d reserved; want 2, 1", oh, res)
	}
	wantProblem(t, b.requireParts(jobID, map[string]any{"sku": "NOPE", "quantity": 1}), 400, "unknown_sku")
	wantProblem(t, b.requireParts(jobID, map[string]any{"sku": "GSK-1", "quantity": 1}, map[string]any{"sku": "GSK-1", "quantity": 2}), 400, "duplicate_sku")
	wantProblem(t, b.do("PUT", fmt.Sprintf("/v1/jobs/%d/parts", jobID), b.token(dispatch.RoleCustomer, "ana"), map[string]any{"parts": []any{}}), 403, "forbidden_role")

	tech := b.token(dispatch.RoleTechnician, "tech-a")
	for _, step := range []string{"accept", "en_route", "on_site"} {
		path, body := fmt.Sprintf("/v1/jobs/%d/status", jobID), any(map[string]any{"status": step})
		if step == "accept" {
			path, body = fmt.Sprintf("/v1/jobs/%d/accept", jobID), nil
		}
		if r := b.do("POST", path, tech, body); r.Status != 200 {
			t.Fatalf("%s: %d %s", step, r.Status, r.Body)
		}
	}
	q := b.quote("tech-a", jobID, map[string]any{"options": []any{map[string]any{"key": "standard", "lines": []any{line("GSK-1", 1), line("BRG-6204", 1)}}}})
	for _, l := range q["options"].([]any)[0].(map[string]any)["lines"].([]any) {
		l := l.(map[string]any)
		if want := map[string]int64{"GSK-1": 900, "BRG-6204": 2400}[l["sku"].(string)]; num(l, "unit_minor") != want {
			t.Fatalf("quote line %v: want the catalogue's %d", l, want)
		}
	}
	if r := b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", int64(num(q, "id"))), b.token(dispatch.RoleCustomer, "ana"), map[string]any{"option": "standard"}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.complete("tech-a", jobID, map[string]any{"sku": "GSK-1", "quantity": 1}, map[string]any{"sku": "BRG-6204", "quantity": 1}), 400, "serial_required")
	wantProblem(t, b.complete("tech-a", jobID, map[string]any{"sku": "GSK-1", "quantity": 3}), 409, "insufficient_stock")
	if oh, res := b.onHand(van, "GSK-1"); oh != 2 || res != 1 {
		t.Fatalf("a refused completion changed the van: %d, %d", oh, res)
	}
	if r := b.complete("tech-a", jobID, map[string]any{"sku": "GSK-1", "quantity": 1}, map[string]any{"sku": "BRG-6204", "quantity": 1, "serial": "SN-0042"}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	for sku, want := range map[string][2]int{"GSK-1": {1, 0}, "BRG-6204": {0, 0}} {
		if oh, res := b.onHand(van, sku); oh != want[0] || res != want[1] {
			t.Errorf("%s after the visit: %d on hand, %d reserved; want %v", sku, oh, res, want)
		}
	}
	if n := b.count("SELECT count(*) FROM stock_moves WHERE kind = 'consume' AND job_id = $1 AND unit_price_minor IS NOT NULL AND (sku <> 'BRG-6204' OR serial = 'SN-0042')", jobID); n != 2 {
		t.Fatalf("%d priced consume moves, want 2", n)
	}
	inv := b.invoicesOf(int64(num(bk, "id")))
	if len(inv) != 1 || num(inv[0], "net_minor") != 3300 {
		t.Fatalf("invoice %v: want the catalogue's 9.00 + 24.00 net", inv)
	}
	// The service report prices the parts of the paid visit (issue 23), in JSON and in the PDF.
	rep := b.do("GET", fmt.Sprintf("/v1/jobs/%d/report", jobID), b.token(dispatch.RoleCustomer, "ana"), nil).json(t)
	prices := map[string]float64{}
	for _, l := range rep["parts_used"].([]any) {
		l := l.(map[string]any)
		prices[l["sku"].(string)], _ = l["unit_price_minor"].(float64)
	}
	if rep["currency"] != "EUR" || prices["GSK-1"] != 900 || prices["BRG-6204"] != 2400 {
		t.Fatalf("report parts %v %v", rep["currency"], rep["parts_used"])
	}
	text := pdftext.Text(b.do("GET", fmt.Sprintf("/v1/jobs/%d/report.pdf", jobID), tech, nil).Body)
	for _, want := range []string{"EUR 9.00 each", "serial SN-0042 — EUR 24.00 each", "EUR 33.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report PDF lacks %q:\n%s", want, text)
		}
	}
}

// TestPartsAwareAssignment: a job that requires a part goes to a technician whose van holds it
// (moved off the nearer one whose van does not), reserved there; when no van has the part
// available it waits unassigned, parts_unavailable, on the board; unassigning releases the
// reservation.
func TestPartsAwareAssignment(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"PMP-7": 3100})
	near := b.technician("tech-near", []string{"washer"}, 45.764, 4.836)
	far := b.technician("tech-far", []string{"washer"}, 45.74, 4.80)
	b.stockVan(far, "PMP-7", 1)
	cust := b.token(dispatch.RoleCustomer, "cust")
	first := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if num(first, "technician_id") != near {
		t.Fatalf("without parts the nearer technician takes it: %v", first)
	}
	r := b.requireParts(first["id"], map[string]any{"sku": "PMP-7", "quantity": 1})
	if r.Status != 200 {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	if job := r.json(t)["job"].(map[string]any); num(job, "technician_id") != far {
		t.Fatalf("the job stays with a van without the part: %v", job)
	}
	if _, res := b.onHand(fmt.Sprintf("van:%d", far), "PMP-7"); res != 1 {
		t.Fatalf("reserved %d in the far van, want 1", res)
	}
	second := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if r := b.requireParts(second["id"], map[string]any{"sku": "PMP-7", "quantity": 1}); r.Status != 200 || r.json(t)["job"].(map[string]any)["technician_id"] != nil {
		t.Fatalf("the second job, with the only unit reserved: %d %s", r.Status, r.Body)
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	var reason any
	for _, it := range b.do("GET", "/v1/board", disp, nil).json(t)["unassigned"].([]any) {
		if it := it.(map[string]any); it["job_id"] == second["id"] {
			reason = it["reason_code"]
		}
	}
	if reason != "parts_unavailable" {
		t.Fatalf("the waiting job's reason: %v", reason)
	}
	// The dispatcher forcing it onto a van without the part is refused, not half-done.
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", second["id"]), disp, map[string]any{"technician_id": near}), 409, "parts_unavailable")
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/unassign", first["id"]), disp, map[string]any{"reason": "customer away"}); r.Status != 200 {
		t.Fatalf("unassign: %d %s", r.Status, r.Body)
	}
	if _, res := b.onHand(fmt.Sprintf("van:%d", far), "PMP-7"); res != 0 {
		t.Fatalf("an unassigned job still holds %d", res)
	}
}

// visits are a booking's jobs as the dispatcher reads them, in order.
func (b *testBundle) visits(bookingID int64) []map[string]any {
	b.t.Helper()
	r := b.do("GET", fmt.Sprintf("/v1/bookings/%d", bookingID), b.token(dispatch.RoleDispatcher, "disp"), nil)
	if r.Status != 200 {
		b.t.Fatalf("booking %d: %d %s", bookingID, r.Status, r.Body)
	}
	var out []map[string]any
	for _, j := range r.json(b.t)["jobs"].([]any) {
		out = append(out, j.(map[string]any))
	}
	return out
}

func timeOf(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("not a time: %v", v)
	}
	return at
}

// TestAwaitingPartsReturnVisit: a visit ends incomplete for want of a part nobody stocks: a part
// request to the supplier opens, the return visit is booked at once no earlier than the part's
// expected arrival, the booking is supplier-deferred (the part comes after the SLA), and the
// customer is told the new window. The supplier's later date moves the visit after it; the part's
// arrival puts it in the van, required and reserved; the return visit uses it (fitted). A part a
// warehouse holds comes within hours, and the return visit stays inside the SLA.
func TestAwaitingPartsReturnVisit(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"TH-9": 4500, "GSK-2": 700})
	techID := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	wh := fmt.Sprint(b.warehouse("Dépôt Gerland", 45.73, 4.83))
	if r := b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "receive", "sku": "GSK-2", "quantity": 3, "to": wh}); r.Status != 201 {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	bosch := b.salesRecord("wim", map[string]any{"category": "washer", "brand": "Bosch", "purchased_at": "2026-06-01", "warranty_months": 24})
	bookingID, jobID := b.bookedVisitOnSite("wim", "tech-a", bosch)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	status := fmt.Sprintf("/v1/jobs/%d/status", jobID)
	wantProblem(t, b.do("POST", status, tech, map[string]any{"status": "incomplete", "outcome": "needs_part"}), 400, "invalid_needed_parts")
	wantProblem(t, b.do("POST", status, tech, map[string]any{"status": "incomplete", "outcome": "needs_part",
		"needed_parts": []any{map[string]any{"sku": "NOPE", "quantity": 1}}}), 400, "unknown_sku")
	now := b.clock.Now()
	if r := b.do("POST", status, tech, map[string]any{"status": "incomplete", "outcome": "needs_part",
		"needed_parts": []any{map[string]any{"sku": "TH-9", "quantity": 1}}}); r.Status != 200 {
		t.Fatalf("incomplete: %d %s", r.Status, r.Body)
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	reqs := b.do("GET", fmt.Sprintf("/v1/part-requests?booking_id=%d", bookingID), disp, nil).json(t)["items"].([]any)
	if len(reqs) != 1 {
		t.Fatalf("part requests %v", reqs)
	}
	pr := reqs[0].(map[string]any)
	expected := timeOf(t, pr["expected_at"])
	if pr["state"] != "requested" || pr["source"] != "supplier" || !expected.Equal(now.Add(72*time.Hour)) || num(pr, "reported_on_job_id") != jobID {
		t.Fatalf("request %v", pr)
	}
	revisit := b.visits(bookingID)[1]
	if revisit["planned_start"] == nil || timeOf(t, revisit["planned_start"]).Before(expected) || num(revisit, "id") != int64(num(pr, "job_id")) {
		t.Fatalf("return visit %v, part expected %v", revisit, expected)
	}
	if n := b.count("SELECT count(*) FROM bookings WHERE id = $1 AND supplier_deferred", bookingID); n != 1 {
		t.Fatal("the part comes after the 48 h SLA: the booking is supplier-deferred")
	}
	told := false
	for _, n := range b.inboxOf(dispatch.RoleCustomer, "wim") {
		told = told || (n["kind"] == "revisit_planned" && strings.Contains(n["body"].(string), "comes back"))
	}
	if !told {
		t.Fatalf("the customer was not told the new window: %v", b.inboxOf(dispatch.RoleCustomer, "wim"))
	}

	// The supplier says a day later: the return visit moves after it.
	later := expected.Add(24 * time.Hour)
	path := fmt.Sprintf("/v1/part-requests/%d", int64(num(pr, "id")))
	if r := b.do("PATCH", path, disp, map[string]any{"state": "ordered", "expected_at": later, "supplier_ref": "PO-77"}); r.Status != 200 || r.json(t)["state"] != "ordered" {
		t.Fatalf("ordered: %d %s", r.Status, r.Body)
	}
	revisit = b.visits(bookingID)[1]
	if revisit["planned_start"] == nil || timeOf(t, revisit["planned_start"]).Before(later) {
		t.Fatalf("return visit %v before the new date %v", revisit["planned_start"], later)
	}
	wantProblem(t, b.do("PATCH", path, disp, map[string]any{"state": "fitted"}), 400, "invalid_state")
	wantProblem(t, b.do("PATCH", path, disp, map[string]any{"state": "ordered"}, "If-Match", `"1"`), 409, "version_mismatch")

	// It arrives: in the van, required and reserved for the return visit.
	b.clock.Set(later.Add(-2 * time.Hour))
	disp = b.token(dispatch.RoleDispatcher, "disp")
	if r := b.do("PATCH", path, disp, map[string]any{"state": "arrived"}); r.Status != 200 || r.json(t)["arrived_at"] == nil {
		t.Fatalf("arrived: %d %s", r.Status, r.Body)
	}
	van := fmt.Sprintf("van:%d", techID)
	if oh, res := b.onHand(van, "TH-9"); oh != 1 || res != 1 {
		t.Fatalf("van after arrival: %d on hand, %d reserved; want 1, 1", oh, res)
	}
	wantProblem(t, b.do("PATCH", path, disp, map[string]any{"state": "cancelled"}), 409, "request_closed")

	// The return visit uses it.
	revisit = b.visits(bookingID)[1]
	rid := int64(num(revisit, "id"))
	b.clock.Set(timeOf(t, revisit["planned_start"]).Add(-30 * time.Minute))
	if _, err := b.svc.Offers.OfferDue(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	disp, tech = b.token(dispatch.RoleDispatcher, "disp"), b.token(dispatch.RoleTechnician, "tech-a")
	for _, step := range []string{"accept", "en_route", "on_site"} {
		p, body := fmt.Sprintf("/v1/jobs/%d/status", rid), any(map[string]any{"status": step})
		if step == "accept" {
			p, body = fmt.Sprintf("/v1/jobs/%d/accept", rid), nil
		}
		if r := b.do("POST", p, tech, body); r.Status != 200 {
			t.Fatalf("return visit %s: %d %s", step, r.Status, r.Body)
		}
	}
	if r := b.complete("tech-a", rid, map[string]any{"sku": "TH-9", "quantity": 1}); r.Status != 200 {
		t.Fatalf("complete the return visit: %d %s", r.Status, r.Body)
	}
	if got := b.do("GET", path[:len("/v1/part-requests")]+fmt.Sprintf("?job_id=%d", rid), disp, nil).json(t)["items"].([]any)[0].(map[string]any)["state"]; got != "fitted" {
		t.Fatalf("request after the return visit: %v", got)
	}
	if oh, res := b.onHand(van, "TH-9"); oh != 0 || res != 0 {
		t.Fatalf("van after the return visit: %d, %d", oh, res)
	}

	// A part the warehouse holds: within hours, inside the SLA.
	b2, j2 := b.bookedVisitOnSite("wim", "tech-a", bosch)
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", j2), tech, map[string]any{"status": "incomplete", "outcome": "needs_part",
		"needed_parts": []any{map[string]any{"sku": "GSK-2", "quantity": 1}}}); r.Status != 200 {
		t.Fatalf("second incomplete: %d %s", r.Status, r.Body)
	}
	pr2 := b.do("GET", fmt.Sprintf("/v1/part-requests?booking_id=%d", b2), disp, nil).json(t)["items"].([]any)[0].(map[string]any)
	if pr2["source"] != "warehouse" || pr2["state"] != "ordered" || pr2["from_location_id"] == nil {
		t.Fatalf("warehouse request %v", pr2)
	}
	rv2 := b.visits(b2)[1]
	if rv2["planned_start"] == nil || timeOf(t, rv2["planned_start"]).Before(timeOf(t, pr2["expected_at"])) {
		t.Fatalf("second return visit %v, part expected %v", rv2["planned_start"], pr2["expected_at"])
	}
	if n := b.count("SELECT count(*) FROM bookings WHERE id = $1 AND NOT supplier_deferred", b2); n != 1 {
		t.Fatal("a part within hours keeps the booking inside its SLA")
	}
	wantProblem(t, b.do("GET", "/v1/part-requests", b.token(dispatch.RoleCustomer, "wim"), nil), 403, "forbidden_role")
	wantProblem(t, b.do("GET", "/v1/part-requests?state=lost", disp, nil), 400, "invalid_state")
}

// TestReoptimizeKeepsPartsWithTheirVan: a technician joins next door; re-optimisation leaves the job
// whose part only the far technician's van holds where it is, reserved there; once the job no
// longer requires it, the reservation is released and the job moves next door.
func TestReoptimizeKeepsPartsWithTheirVan(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"PMP-7": 3100})
	far := b.technician("far", []string{"washer"}, 45.60, 4.70)
	b.stockVan(far, "PMP-7", 1)
	cust, disp := b.token(dispatch.RoleCustomer, "cust"), b.token(dispatch.RoleDispatcher, "disp")
	withPart := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	b.do("POST", "/v1/bookings", cust, washerBooking(nil))
	if r := b.requireParts(withPart["id"], map[string]any{"sku": "PMP-7", "quantity": 1}); r.Status != 200 || num(r.json(t)["job"].(map[string]any), "technician_id") != far {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	near := b.technician("near", []string{"washer"}, 45.7641, 4.8358)
	r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 3000, "freeze_minutes": 0})
	if r.Status != 200 {
		t.Fatalf("optimize: %d %s", r.Status, r.Body)
	}
	if _, res := b.onHand(fmt.Sprintf("van:%d", far), "PMP-7"); res != 1 {
		t.Fatalf("reservation after optimising: %d", res)
	}
	for _, m := range r.json(t)["moved"].([]any) {
		if m := m.(map[string]any); m["job_id"] == withPart["id"] {
			t.Fatalf("the job went to a van without its part: %v", m)
		}
	}
	// Without the part, the solver takes both to the near technician.
	if r := b.requireParts(withPart["id"]); r.Status != 200 {
		t.Fatalf("no parts: %d %s", r.Status, r.Body)
	}
	r = b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 3000, "freeze_minutes": 0})
	if moved := r.json(t)["moved"].([]any); len(moved) != 2 || num(moved[0].(map[string]any), "to_technician_id") != near {
		t.Fatalf("moved %v", moved)
	}
	if _, res := b.onHand(fmt.Sprintf("van:%d", far), "PMP-7"); res != 0 {
		t.Fatalf("reservation after the part was dropped: %d", res)
	}
}

// TestCompletionRacesForTheLastUnit: a technician completes a visit with the last gasket of the
// van while a dispatcher moves that gasket to another van: one wins. When the move wins, the
// completion is 409 insufficient_stock (move a part to the van first, or end the visit
// incomplete) and the visit stays on site; when the completion wins, the move is refused. Two
// technicians picking up a warehouse's last unit at once: one gets it. Never negative stock.
func TestCompletionRacesForTheLastUnit(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"GSK-1": 900})
	a := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	other := b.technician("tech-b", []string{"fridge"}, 45.70, 4.80)
	washer := func(sub string) float64 {
		return b.salesRecord(sub, map[string]any{"category": "washer", "brand": "Bosch", "purchased_at": "2026-06-01", "warranty_months": 24})
	}
	vanA, vanB := fmt.Sprintf("van:%d", a), fmt.Sprintf("van:%d", other)
	outcomes := map[string]int{}
	for round := range 6 {
		sub := fmt.Sprintf("cust-%d", round)
		_, jobID := b.bookedVisitOnSite(sub, "tech-a", washer(sub))
		b.stockVan(a, "GSK-1", 1)
		complete := func() response { return b.complete("tech-a", jobID, map[string]any{"sku": "GSK-1", "quantity": 1}) }
		move := func() response {
			return b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "transfer", "sku": "GSK-1", "quantity": 1, "from": vanA, "to": vanB})
		}
		rc, rm := b.both(complete, move)
		switch {
		case rc.Status == 200 && rm.Status == 409:
			wantProblem(t, rm, 409, "insufficient_stock")
			outcomes["completion won"]++
		case rc.Status == 409 && rm.Status == 201:
			wantProblem(t, rc, 409, "insufficient_stock")
			if n := b.count("SELECT count(*) FROM jobs WHERE id = $1 AND status = 'on_site'", jobID); n != 1 {
				t.Fatalf("round %d: a refused completion moved the visit", round)
			}
			// The technician ends it another way: incomplete, needing the part.
			if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", jobID), b.token(dispatch.RoleTechnician, "tech-a"), map[string]any{"status": "incomplete",
				"outcome": "needs_part", "needed_parts": []any{map[string]any{"sku": "GSK-1", "quantity": 1}}}); r.Status != 200 {
				t.Fatalf("round %d: incomplete: %d %s", round, r.Status, r.Body)
			}
			outcomes["move won"]++
		default:
			t.Fatalf("round %d: completion %d %s, move %d %s", round, rc.Status, rc.Body, rm.Status, rm.Body)
		}
		if oh, _ := b.onHand(vanA, "GSK-1"); oh != 0 {
			t.Fatalf("round %d: %d left in the van", round, oh)
		}
	}
	t.Logf("outcomes: %v", outcomes)
	if n := b.count("SELECT count(*) FROM stock_balances WHERE on_hand < 0 OR reserved > on_hand"); n != 0 {
		t.Fatalf("%d negative balances", n)
	}

	wh := fmt.Sprint(b.warehouse("Dépôt Nord", 45.78, 4.85))
	if r := b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "receive", "sku": "GSK-1", "quantity": 1, "to": wh}); r.Status != 201 {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	pick := func(tech string) func() response {
		return func() response {
			return b.move(dispatch.RoleTechnician, tech, map[string]any{"kind": "transfer", "sku": "GSK-1", "quantity": 1, "from": wh, "to": "me"})
		}
	}
	r1, r2 := b.both(pick("tech-a"), pick("tech-b"))
	if (r1.Status == 201) == (r2.Status == 201) {
		t.Fatalf("pick-ups of the last unit: %d %s, %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
	}
	for _, r := range []response{r1, r2} {
		if r.Status != 201 {
			wantProblem(t, r, 409, "insufficient_stock")
		}
	}
}
