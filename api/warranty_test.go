package api_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestCustomersCannotGiveThemselvesAWarranty: the attack of issue 19. A customer used to turn an
// out-of-warranty fridge into a free warranty repair with an extended warranty of their own
// (POST /v1/purchases/{id}/extended-warranty {"until":"2099-12-31"}), and to reopen a 2020
// purchase's 7-day return window with delivered_at 9999-12-31. Extended warranty is now staff's
// record alone, dates that have not happened are refused, and what a customer registers is
// unverified.
func TestCustomersCannotGiveThemselvesAWarranty(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"fridge"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "eve")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	fridge := b.purchase("eve", map[string]any{"category": "fridge", "purchased_at": "2020-03-01", "warranty_months": 24})
	path := fmt.Sprintf("/v1/purchases/%v/extended-warranty", fridge)
	wantProblem(t, b.do("POST", path, cust, map[string]any{"until": "2099-12-31"}), 403, "forbidden_role")
	wantProblem(t, b.do("POST", "/v1/purchases", cust, map[string]any{"category": "fridge", "purchased_at": "2020-03-01", "warranty_months": 24,
		"extended_warranty_until": "2099-12-31"}), 403, "forbidden")
	booking := func(purchase any, extra ...string) map[string]any {
		m := washerBooking(purchase)
		m["appliance"] = "fridge"
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	if m := b.do("POST", "/v1/bookings", cust, booking(fridge)).json(t); m["tier"] != "paid" || m["warranty_verified"] != nil {
		t.Fatalf("out of warranty: tier %v, warranty_verified %v", m["tier"], m["warranty_verified"])
	}

	// Dates that have not happened yet, whoever sends them.
	for _, tok := range []string{cust, disp} {
		body := map[string]any{"customer_sub": "eve", "category": "fridge", "purchased_at": "2020-03-01", "delivered_at": "9999-12-31", "warranty_months": 24}
		wantProblem(t, b.do("POST", "/v1/purchases", tok, body), 400, "date_in_future")
		body["delivered_at"], body["purchased_at"] = "2026-11-19", "2026-11-21"
		wantProblem(t, b.do("POST", "/v1/purchases", tok, body), 400, "date_in_future")
	}
	// So the 2020 fridge's return window stays shut.
	wantProblem(t, b.do("POST", "/v1/bookings", cust, booking(fridge, "service_type", "return_pickup")), 422, "return_window_closed")

	// Staff record an extended warranty (a sales record); the next booking is a warranty one.
	wantProblem(t, b.do("POST", path, disp, map[string]any{"until": "2099-12-31"}), 400, "out_of_range") // 20 years at most from the purchase
	r := b.do("POST", path, disp, map[string]any{"until": "2027-06-30"})
	if r.Status != 200 || r.json(t)["in_warranty"] != true || r.json(t)["verified"] != false {
		t.Fatalf("staff's extended warranty: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", path, b.token(dispatch.RoleAdmin, "root"), map[string]any{"until": "2027-07-31"}); r.Status != 200 {
		t.Fatalf("admin's extended warranty: %d %s", r.Status, r.Body)
	}
	m := b.do("POST", "/v1/bookings", cust, booking(fridge)).json(t)
	if m["tier"] != "warranty" || m["warranty_verified"] != false {
		t.Fatalf("customer's own record: tier %v, warranty_verified %v", m["tier"], m["warranty_verified"])
	}
	// A product the shop registered (its sales record) is verified.
	r = b.do("POST", "/v1/purchases", disp, map[string]any{"customer_sub": "eve", "category": "fridge", "purchased_at": "2026-05-01", "warranty_months": 24})
	if r.Status != 201 || r.json(t)["verified"] != true {
		t.Fatalf("staff's purchase: %d %s", r.Status, r.Body)
	}
	if m := b.do("POST", "/v1/bookings", cust, booking(r.json(t)["id"])).json(t); m["tier"] != "warranty" || m["warranty_verified"] != true {
		t.Fatalf("sales record: tier %v, warranty_verified %v", m["tier"], m["warranty_verified"])
	}
}

// TestUnverifiedWarrantyIsConfirmedOnSite: a warranty booking on a purchase the customer
// registered is provisional. The technician confirms proof of purchase on site (proof_of_purchase
// in the status update): shown, the booking stays warranty and the purchase becomes verified; not
// shown, or the visit ends without it, the booking becomes paid: its SLA is the paid one, the
// customer is told, the KPIs count it as paid.
func TestUnverifiedWarrantyIsConfirmedOnSite(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "zoe")
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	t0 := b.clock.Now()
	visit := func(proof ...map[string]any) (booking map[string]any, jobID any) {
		t.Helper()
		washer := b.purchase("zoe", map[string]any{"category": "washer", "purchased_at": "2026-01-10", "warranty_months": 24})
		m := b.do("POST", "/v1/bookings", cust, washerBooking(washer)).json(t)
		if m["tier"] != "warranty" || m["warranty_verified"] != false {
			t.Fatalf("booking on the customer's record: tier %v, warranty_verified %v", m["tier"], m["warranty_verified"])
		}
		jobID = jobOf(t, m)["id"]
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", jobID), tech, nil); r.Status != 200 {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		items := b.do("GET", "/v1/technicians/me/jobs", tech, nil).json(t)["items"].([]any)
		if items[len(items)-1].(map[string]any)["warranty_verified"] != false {
			t.Fatalf("the technician's agenda does not say to check the proof: %v", items[len(items)-1])
		}
		wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%v/status", jobID), tech, map[string]any{"status": "en_route", "proof_of_purchase": true}), 400, "not_on_site")
		for _, body := range append([]map[string]any{{"status": "en_route"}}, proof...) {
			if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/status", jobID), tech, body); r.Status != 200 {
				t.Fatalf("%v: %d %s", body, r.Status, r.Body)
			}
		}
		return b.do("GET", fmt.Sprintf("/v1/bookings/%v", m["id"]), cust, nil).json(t), jobID
	}
	due := func(m map[string]any) time.Duration {
		created, _ := time.Parse(time.RFC3339Nano, m["created_at"].(string))
		d, _ := time.Parse(time.RFC3339Nano, m["sla_due_at"].(string))
		return d.Sub(created)
	}

	shown, _ := visit(map[string]any{"status": "on_site", "proof_of_purchase": true}, map[string]any{"status": "completed", "outcome": "fixed"})
	if shown["tier"] != "warranty" || shown["warranty_verified"] != true || due(shown) != 48*time.Hour {
		t.Fatalf("proof shown: tier %v, warranty_verified %v, due after %v", shown["tier"], shown["warranty_verified"], due(shown))
	}
	if items := b.do("GET", "/v1/purchases", cust, nil).json(t)["items"].([]any); items[0].(map[string]any)["verified"] != true {
		t.Fatalf("the purchase whose proof was shown is not verified: %v", items[0])
	}

	refused, _ := visit(map[string]any{"status": "on_site", "proof_of_purchase": false})
	if refused["tier"] != "paid" || refused["warranty_verified"] != false || due(refused) != 24*time.Hour {
		t.Fatalf("no proof: tier %v, warranty_verified %v, due after %v", refused["tier"], refused["warranty_verified"], due(refused))
	}
	told := 0
	for _, n := range b.do("GET", "/v1/customers/me/inbox", cust, nil).json(t)["items"].([]any) {
		if n := n.(map[string]any); n["kind"] == "tier_changed" && n["booking_id"] == refused["id"] {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("the customer was told %d times", told)
	}
	if n := b.auditCount("booking", refused["id"], "tier_changed"); n != 1 {
		t.Fatalf("tier change audited %d times", n)
	}

	// A visit that ends without the proof confirmed is paid too.
	silent, _ := visit(map[string]any{"status": "on_site"}, map[string]any{"status": "completed", "outcome": "fixed"})
	if silent["tier"] != "paid" || silent["warranty_verified"] != false {
		t.Fatalf("ended without proof: tier %v, warranty_verified %v", silent["tier"], silent["warranty_verified"])
	}

	q := url.Values{"from": {t0.Add(-time.Hour).Format(time.RFC3339)}, "to": {t0.Add(time.Hour).Format(time.RFC3339)}, "group_by": {"tier"}}
	rows := b.do("GET", "/v1/kpis?"+q.Encode(), b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["groups"].([]any)
	tiers := map[string]float64{}
	for _, r := range rows {
		tiers[r.(map[string]any)["group"].(string)] = r.(map[string]any)["bookings"].(float64)
	}
	if tiers["warranty"] != 1 || tiers["paid"] != 2 {
		t.Fatalf("KPIs by tier %v, want 1 warranty and 2 paid", tiers)
	}
}
