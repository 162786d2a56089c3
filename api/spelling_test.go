package api_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestOneSpellingPerIdea: the event stream said from/to where the audit says from_status and
// to_status; a bad purchase category answered unknown_appliance; a ping's error pointed at
// location.lat though the ping's lat is at the top level; GET /v1/audit?entity=bogus answered 200;
// accept and status answers had no technician_name; KPIs by technician had ids without names and
// raw floats. Each now says the one thing a reader expects.
func TestOneSpellingPerIdea(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := fmt.Sprintf("/v1/jobs/%v", jobOf(t, bk)["id"])

	var ev string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT event FROM audit_feed ORDER BY id DESC LIMIT 1").Scan(&ev); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(ev), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["to_status"]; !ok || m["to"] != nil || m["from"] != nil {
		t.Fatalf("the stream's event is not spelled as the audit: %s", ev)
	}

	r := b.do("POST", "/v1/purchases", cust, map[string]any{"category": "toaster", "brand": "X", "model": "Y", "purchased_at": "2026-01-10", "warranty_months": 24})
	wantProblem(t, r, 400, "invalid_category")
	if r.json(t)["field"] != "category" {
		t.Fatalf("field %v", r.json(t)["field"])
	}
	for body, field := range map[string]string{`{"lat": 95, "lng": 4.8}`: "lat", `{"lat": 45.7, "lng": 200}`: "lng", `{"lng": 4.8}`: "lat"} {
		r := b.do("PUT", "/v1/technicians/me/location", tech, body)
		wantProblem(t, r, 400, "invalid_location")
		if r.json(t)["field"] != field || strings.Contains(r.json(t)["detail"].(string), "location.") {
			t.Fatalf("%s: %s", body, r.Body)
		}
	}
	wantProblem(t, b.do("GET", "/v1/audit?entity=bogus", disp, nil), 400, "invalid_entity")
	wantProblem(t, b.do("GET", "/v1/audit?entitty=job", disp, nil), 400, "unknown_filter")
	if r := b.do("GET", "/v1/audit?entity=job", disp, nil); r.Status != 200 {
		t.Fatalf("audit of jobs: %d %s", r.Status, r.Body)
	}

	for _, step := range []struct {
		p    string
		body any
	}{{"/accept", nil}, {"/status", map[string]any{"status": "en_route"}}, {"/status", map[string]any{"status": "on_site"}},
		{"/status", map[string]any{"status": "completed", "outcome": "fixed"}}} {
		r := b.do("POST", path+step.p, tech, step.body)
		if r.Status != 200 || jobOf(t, r.json(t))["technician_name"] != "tech-a Tech" {
			t.Fatalf("%s %v: %d %s", step.p, step.body, r.Status, r.Body)
		}
		b.clock.Set(b.clock.Now().Add(7*time.Minute + 13*time.Second))
	}
	disp = b.token(dispatch.RoleDispatcher, "disp")
	k := b.do("GET", "/v1/kpis?group_by=technician", disp, nil)
	if k.Status != 200 {
		t.Fatalf("kpis: %d %s", k.Status, k.Body)
	}
	groups := k.json(t)["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["group_name"] != "tech-a Tech" {
		t.Fatalf("KPIs by technician without names: %s", k.Body)
	}
	if long := regexp.MustCompile(`[0-9]\.[0-9]{4,}|[0-9]e-?[0-9]`).FindString(string(k.Body)); long != "" {
		t.Fatalf("a figure nobody reads: %s in %s", long, k.Body)
	}
}
