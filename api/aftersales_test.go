package api_test

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// step moves the clock to t0+d and makes a technician report a status.
func (b *testBundle) step(t0 time.Time, d time.Duration, sub string, jobID any, body map[string]any) {
	b.t.Helper()
	b.clock.Set(t0.Add(d))
	r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/status", jobID), b.token(dispatch.RoleTechnician, sub), body)
	if r.Status != 200 {
		b.t.Fatalf("job %v %v at +%v: %d %s", jobID, body["status"], d, r.Status, r.Body)
	}
}

func near(t *testing.T, name string, got any, want float64) {
	t.Helper()
	f, ok := got.(float64)
	if !ok || math.Abs(f-want) > 1e-6 {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

// TestKPIsAgainstHandWorkedFixture drives four bookings through their visits at known times and
// compares every KPI with figures worked out by hand (in the comments).
func TestKPIsAgainstHandWorkedFixture(t *testing.T) {
	b := setup(t)
	b.svc.Env.Rules.ChangeCutoff = 0                        // no cut-off: a customer cancels a visit due within the hour
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84) // shifts 08:00–20:00 Paris = 12 h a day
	t0 := b.clock.Now()                                     // 2026-11-20 09:00 UTC
	cust := b.token(dispatch.RoleCustomer, "kim")
	washer := b.salesRecord("kim", map[string]any{"category": "washer", "purchased_at": "2026-01-10", "warranty_months": 24})
	book := func(purchase any) (id, job any) {
		m := b.do("POST", "/v1/bookings", cust, washerBooking(purchase)).json(t)
		j := jobOf(t, m)
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", j["id"]), b.token(dispatch.RoleTechnician, "tech-a"), nil); r.Status != 200 {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		return m["id"], j["id"]
	}
	b1, j1 := book(washer) // warranty
	b2, j2 := book(nil)    // paid
	b3, _ := book(nil)     // paid, cancelled
	b4, j4 := book(washer) // warranty, two visits
	if r := b.do("POST", fmt.Sprintf("/v1/bookings/%v/cancel", b3), cust, nil); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	h := time.Hour
	// B1: on site at +2 h (response 2 h, SLA met), done at +3 h (handling 1 h, resolution 3 h).
	b.step(t0, 1*h, "tech-a", j1, map[string]any{"status": "en_route"})
	b.step(t0, 2*h, "tech-a", j1, map[string]any{"status": "on_site"})
	b.step(t0, 3*h, "tech-a", j1, map[string]any{"status": "completed", "outcome": "fixed"})
	// B4 visit 1: on site at +4 h (response 4 h, met), incomplete at +4.5 h (handling 30 min).
	b.step(t0, 3*h, "tech-a", j4, map[string]any{"status": "en_route"})
	b.step(t0, 4*h, "tech-a", j4, map[string]any{"status": "on_site"})
	b.step(t0, 4*h+30*time.Minute, "tech-a", j4, map[string]any{"status": "incomplete", "outcome": "needs_parts"})
	jobs := b.do("GET", fmt.Sprintf("/v1/bookings/%v", b4), b.token(dispatch.RoleCustomer, "kim"), nil).json(t)["jobs"].([]any)
	j4b := jobs[1].(map[string]any)
	if j4b["status"] != "offered" {
		t.Fatalf("revisit %v", j4b)
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", j4b["id"]), b.token(dispatch.RoleTechnician, "tech-a"), nil); r.Status != 200 {
		t.Fatalf("accept revisit: %d %s", r.Status, r.Body)
	}
	// B2 (paid, due +24 h): on site at +30 h (missed, response 30 h), done at +31 h (handling 1 h).
	b.step(t0, 26*h, "tech-a", j2, map[string]any{"status": "en_route"})
	b.step(t0, 30*h, "tech-a", j2, map[string]any{"status": "on_site"})
	b.step(t0, 31*h, "tech-a", j2, map[string]any{"status": "completed", "outcome": "fixed"})
	// B4 visit 2: on site +33 h, done +34 h (handling 1 h, resolution 34 h, not a first-time fix).
	b.step(t0, 32*h, "tech-a", j4b["id"], map[string]any{"status": "en_route"})
	b.step(t0, 33*h, "tech-a", j4b["id"], map[string]any{"status": "on_site"})
	b.step(t0, 34*h, "tech-a", j4b["id"], map[string]any{"status": "completed", "outcome": "fixed"})

	b.clock.Set(t0.Add(40 * h))
	cust = b.token(dispatch.RoleCustomer, "kim")
	for _, f := range []struct {
		id       any
		csat, np int
	}{{b1, 5, 10}, {b2, 2, 5}, {b4, 4, 8}} {
		if r := b.do("POST", fmt.Sprintf("/v1/bookings/%v/feedback", f.id), cust, map[string]any{"csat": f.csat, "nps": f.np}); r.Status != 201 {
			t.Fatalf("feedback: %d %s", r.Status, r.Body)
		}
	}
	if r := b.do("POST", "/v1/complaints", cust, map[string]any{"booking_id": b2, "category": "lateness", "description": "came a day late"}); r.Status != 201 {
		t.Fatalf("complaint: %d %s", r.Status, r.Body)
	}

	disp := b.token(dispatch.RoleDispatcher, "disp")
	q := url.Values{"from": {t0.Add(-h).Format(time.RFC3339)}, "to": {t0.Add(48 * h).Format(time.RFC3339)}, "group_by": {"tier"}}
	r := b.do("GET", "/v1/kpis?"+q.Encode(), disp, nil)
	if r.Status != 200 {
		t.Fatalf("kpis: %d %s", r.Status, r.Body)
	}
	groups := map[string]map[string]any{}
	for _, g := range r.json(t)["groups"].([]any) {
		groups[g.(map[string]any)["group"].(string)] = g.(map[string]any)
	}
	w, p := groups["warranty"], groups["paid"]
	if w == nil || p == nil {
		t.Fatalf("groups %v", groups)
	}
	// Warranty: B1 and B4, both on site before due.
	near(t, "warranty bookings", w["bookings"], 2)
	near(t, "warranty sla_compliance", w["sla_compliance"], 1)
	near(t, "warranty response p50 (2 h, 4 h)", w["response_time_p50_minutes"], 180)
	near(t, "warranty response p90", w["response_time_p90_minutes"], 120+0.9*120)
	near(t, "warranty resolution avg (3 h, 34 h)", w["resolution_time_avg_minutes"], (180+2040)/2.0)
	near(t, "warranty first-time fix (B1 yes, B4 no)", w["first_time_fix_rate"], 0.5)
	near(t, "warranty csat (5, 4)", w["csat_avg"], 4.5)
	near(t, "warranty nps (one promoter, one passive)", w["nps"], 50)
	near(t, "warranty complaint rate", w["complaint_rate"], 0)
	near(t, "warranty handling (60 + 30 + 60 min over 3 visits)", w["on_site_handling_avg_minutes"], 50)
	// Paid: B2 (late) and B3 (cancelled, left out of SLA figures).
	near(t, "paid bookings", p["bookings"], 2)
	near(t, "paid cancelled", p["cancelled"], 1)
	near(t, "paid sla_compliance", p["sla_compliance"], 0)
	near(t, "paid sla_missed", p["sla_missed"], 1)
	near(t, "paid response p50", p["response_time_p50_minutes"], 1800)
	near(t, "paid resolution avg", p["resolution_time_avg_minutes"], 1860)
	near(t, "paid first-time fix", p["first_time_fix_rate"], 1)
	near(t, "paid csat", p["csat_avg"], 2)
	near(t, "paid nps (one detractor)", p["nps"], -100)
	near(t, "paid complaint rate (1 complaint / 1 completed)", p["complaint_rate"], 1)
	near(t, "paid handling", p["on_site_handling_avg_minutes"], 60)
	// Utilisation, a fleet figure: 3.5 h on site over 3 UTC days × 12 h of shift.
	near(t, "utilisation (3.5/36, rounded to 3 decimals)", w["technician_utilisation"], 0.097)

	// An empty period has no groups; a period of only a cancelled booking has nothing to measure.
	q.Set("from", t0.Add(-240*h).Format(time.RFC3339))
	q.Set("to", t0.Add(-200*h).Format(time.RFC3339))
	if gs := b.do("GET", "/v1/kpis?"+q.Encode(), disp, nil).json(t)["groups"].([]any); len(gs) != 0 {
		t.Fatalf("empty period: %v", gs)
	}
	wantProblem(t, b.do("GET", "/v1/kpis?group_by=colour", disp, nil), 400, "invalid_group_by")
	wantProblem(t, b.do("GET", "/v1/kpis?from=yesterday", disp, nil), 400, "invalid_time")
	wantProblem(t, b.do("GET", "/v1/kpis?from=2026-11-20T00:00:00Z&to=2026-11-19T00:00:00Z", disp, nil), 400, "invalid_window")
}

func TestKPIsWithNothingToMeasure(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "lee")
	id := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)["id"]
	b.do("POST", fmt.Sprintf("/v1/bookings/%v/cancel", id), cust, nil)
	r := b.do("GET", "/v1/kpis", b.token(dispatch.RoleAdmin, "adm"), nil)
	gs := r.json(t)["groups"].([]any)
	if len(gs) != 1 {
		t.Fatalf("groups %s", r.Body)
	}
	g := gs[0].(map[string]any)
	for _, k := range []string{"sla_compliance", "response_time_p50_minutes", "first_time_fix_rate", "csat_avg", "nps", "complaint_rate", "on_site_handling_avg_minutes", "technician_utilisation"} {
		if g[k] != nil {
			t.Errorf("%s = %v, want null (nothing to measure)", k, g[k])
		}
	}
	near(t, "bookings", g["bookings"], 1)
}

func TestFeedbackRules(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "mo")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := fmt.Sprintf("/v1/bookings/%v/feedback", bk["id"])
	good := map[string]any{"csat": 4, "nps": 9, "comment": "quick and tidy"}
	wantProblem(t, b.do("POST", path, cust, good), 409, "not_completed")
	jid := jobOf(t, bk)["id"]
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", jid), tech, nil)
	for _, st := range []string{"en_route", "on_site", "completed"} {
		b.do("POST", fmt.Sprintf("/v1/jobs/%v/status", jid), tech, map[string]any{"status": st})
	}
	wantProblem(t, b.do("POST", path, b.token(dispatch.RoleCustomer, "someone-else"), good), 404, "booking_not_found")
	wantProblem(t, b.do("POST", path, b.token(dispatch.RoleDispatcher, "d"), good), 403, "forbidden_role")
	wantProblem(t, b.do("POST", path, cust, map[string]any{"csat": 6, "nps": 9}), 400, "out_of_range")
	wantProblem(t, b.do("POST", path, cust, map[string]any{"csat": 3, "nps": 11}), 400, "out_of_range")
	wantProblem(t, b.do("POST", path, cust, map[string]any{"nps": 3}), 400, "missing_field")
	if r := b.do("POST", path, cust, good); r.Status != 201 {
		t.Fatalf("feedback: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", path, cust, good), 409, "feedback_exists")
}

func TestComplaintTransitions(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "ann")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	wantProblem(t, b.do("POST", "/v1/complaints", cust, map[string]any{"booking_id": bk["id"], "category": "mood", "description": "x"}), 400, "invalid_category")
	wantProblem(t, b.do("POST", "/v1/complaints", b.token(dispatch.RoleCustomer, "other"), map[string]any{"booking_id": bk["id"], "category": "quality", "description": "x"}), 404, "booking_not_found")
	r := b.do("POST", "/v1/complaints", cust, map[string]any{"booking_id": bk["id"], "category": "quality", "description": "still leaks"})
	if r.Status != 201 {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	path := fmt.Sprintf("/v1/complaints/%v", r.json(t)["id"])
	wantProblem(t, b.do("PATCH", path, disp, map[string]any{"status": "resolved", "resolution": "x"}), 409, "invalid_transition")
	wantProblem(t, b.do("PATCH", path, cust, map[string]any{"status": "acknowledged"}), 403, "forbidden_role")
	// Not acknowledged within 24 h: it shows on the board.
	b.clock.Set(b.clock.Now().Add(25 * time.Hour))
	disp = b.token(dispatch.RoleDispatcher, "disp")
	board := b.do("GET", "/v1/board", disp, nil).json(t)
	if oc, _ := board["overdue_complaints"].([]any); len(oc) != 1 {
		t.Fatalf("board overdue complaints: %v", board["overdue_complaints"])
	}
	if r := b.do("PATCH", path, disp, map[string]any{"status": "acknowledged"}, "If-Match", `"1"`); r.Status != 200 || r.json(t)["status"] != "acknowledged" {
		t.Fatalf("acknowledge: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("PATCH", path, disp, map[string]any{"status": "resolved"}), 400, "missing_field")
	r = b.do("PATCH", path, disp, map[string]any{"status": "resolved", "resolution": "replaced the hose, refunded the call-out"})
	if r.Status != 200 || r.json(t)["resolved_at"] == nil {
		t.Fatalf("resolve: %d %s", r.Status, r.Body)
	}
	if n := len(b.do("GET", "/v1/board", disp, nil).json(t)["overdue_complaints"].([]any)); n != 0 {
		t.Fatalf("resolved complaint still overdue on the board")
	}
	cust = b.token(dispatch.RoleCustomer, "ann")
	if items := b.do("GET", "/v1/complaints", cust, nil).json(t)["items"].([]any); len(items) != 1 {
		t.Fatalf("customer's complaints %v", items)
	}
	if items := b.do("GET", "/v1/complaints", b.token(dispatch.RoleCustomer, "other"), nil).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("another customer sees %d complaints", len(items))
	}
}

// TestComplaintAboutAnotherCustomersBookingIs404: a customer filing about a booking that is not
// theirs gets the answer a missing booking gets, word for word, as on every other route (issue 19:
// "booking 1 is not one of yours" told them booking 1 exists); nothing is filed.
func TestComplaintAboutAnotherCustomersBookingIs404(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "owner"), washerBooking(nil)).json(t)
	id := int64(bk["id"].(float64))
	snoop := b.token(dispatch.RoleCustomer, "snoop")
	file := func(id int64) response {
		return b.do("POST", "/v1/complaints", snoop, map[string]any{"booking_id": id, "category": "quality", "description": "x"})
	}
	theirs, missing := file(id), file(id+1000)
	wantProblem(t, theirs, 404, "booking_not_found")
	wantProblem(t, missing, 404, "booking_not_found")
	if want := strings.ReplaceAll(string(missing.Body), fmt.Sprint(id+1000), fmt.Sprint(id)); string(theirs.Body) != want {
		t.Fatalf("another's booking answers\n  %s\nbut a missing one\n  %s", theirs.Body, missing.Body)
	}
	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM complaints").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d complaints filed (%v)", n, err)
	}
}

func TestExtendedWarrantyChangesTier(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "eve")
	id := b.purchase("eve", map[string]any{"category": "washer", "purchased_at": "2022-01-10", "warranty_months": 24})
	if m := b.do("POST", "/v1/bookings", cust, washerBooking(id)).json(t); m["tier"] != "paid" {
		t.Fatalf("before: %v", m["tier"])
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	r := b.do("POST", fmt.Sprintf("/v1/purchases/%v/extended-warranty", id), disp, map[string]any{"until": "2027-01-09"})
	if r.Status != 200 || r.json(t)["in_warranty"] != true {
		t.Fatalf("extend: %d %s", r.Status, r.Body)
	}
	if m := b.do("POST", "/v1/bookings", cust, washerBooking(id)).json(t); m["tier"] != "warranty" {
		t.Fatalf("after: %v", m["tier"])
	}
	wantProblem(t, b.do("POST", "/v1/purchases/424242/extended-warranty", disp, map[string]any{"until": "2030-01-01"}), 404, "purchase_not_found")
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/purchases/%v/extended-warranty", id), disp, map[string]any{"from": "2027-01-01", "until": "2026-01-01"}), 400, "invalid_window")
}

func TestMetricsAfterTraffic(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "c"), washerBooking(nil))
	b.do("GET", "/v1/bookings/999", b.token(dispatch.RoleCustomer, "c"), nil)
	r := b.do("GET", "/metrics", "", nil)
	if r.Status != 200 {
		t.Fatalf("metrics: %d", r.Status)
	}
	body := string(r.Body)
	for _, want := range []string{
		`fieldfix_http_request_duration_seconds_count{method="POST",route="/v1/bookings",status="201"} 1`,
		`fieldfix_http_request_duration_seconds_count{method="GET",route="/v1/bookings/:id",status="404"} 1`,
		`fieldfix_bookings_created_total{tier="paid"} 1`,
		`fieldfix_offers_total{outcome="sent"} 1`,
		`fieldfix_bookings_at_risk 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestDispatcherRegistersAProductForACustomer: the customer then sees it with its warranty status,
// and a booking on it gets the warranty tier.
func TestDispatcherRegistersAProductForACustomer(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	disp := b.token(dispatch.RoleDispatcher, "disp")
	r := b.do("POST", "/v1/purchases", disp, map[string]any{"customer_sub": "gina", "category": "fridge", "brand": "Liebherr",
		"purchased_at": "2026-03-01", "warranty_months": 24})
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", "/v1/purchases", disp, map[string]any{"category": "fridge", "purchased_at": "2026-03-01", "warranty_months": 24}), 400, "missing_field")
	cust := b.token(dispatch.RoleCustomer, "gina")
	items := b.do("GET", "/v1/purchases", cust, nil).json(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["in_warranty"] != true || items[0].(map[string]any)["warranty_until"] != "2028-02-29" {
		t.Fatalf("customer's purchases %v", items)
	}
	m := washerBooking(items[0].(map[string]any)["id"])
	m["appliance"] = "fridge"
	if got := b.do("POST", "/v1/bookings", cust, m).json(t); got["tier"] != "warranty" {
		t.Fatalf("tier %v", got["tier"])
	}
	if others := b.do("GET", "/v1/purchases", b.token(dispatch.RoleCustomer, "hal"), nil).json(t)["items"].([]any); len(others) != 0 {
		t.Fatalf("another customer sees %v", others)
	}
}
