package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestETAFollowsTheTechnician: once en route, GET /v1/bookings/{id} gave the planned start while
// the push said another time. The ETA is one figure everywhere: now plus the travel from the
// technician's latest ping, moving as pings arrive.
func TestETAFollowsTheTechnician(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	cust := b.token(dispatch.RoleCustomer, "cust")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := fmt.Sprintf("/v1/jobs/%v", jobOf(t, bk)["id"])
	if r := b.do("POST", path+"/accept", tech, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	// 25 km north of the customer when setting off.
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "en_route", "location": map[string]any{"lat": 45.99, "lng": 4.84}}); r.Status != 200 {
		t.Fatalf("en route: %d %s", r.Status, r.Body)
	}
	var pushed string
	for _, n := range b.do("GET", "/v1/customers/me/inbox", cust, nil).json(t)["items"].([]any) {
		if n := n.(map[string]any); n["kind"] == "on_the_way" {
			pushed = n["data"].(map[string]any)["eta"].(string)
		}
	}
	eta := func() time.Time {
		t.Helper()
		s, _ := b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), cust, nil).json(t)["eta"].(string)
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("eta %q: %v", s, err)
		}
		return v
	}
	first := eta()
	if p, _ := time.Parse(time.RFC3339, pushed); !p.Equal(first) {
		t.Fatalf("the push said %s, the booking says %s", pushed, first.Format(time.RFC3339))
	}
	planned, _ := time.Parse(time.RFC3339, jobOf(t, bk)["planned_start"].(string))
	if !first.After(planned) {
		t.Fatalf("25 km away, the ETA %s is not after the planned start %s", first, planned)
	}
	// Ten minutes on, two streets away: the ETA moves with the ping.
	b.clock.Set(b.clock.Now().Add(10 * time.Minute))
	tech = b.token(dispatch.RoleTechnician, "tech-a")
	cust = b.token(dispatch.RoleCustomer, "cust")
	if r := b.do("PUT", "/v1/technicians/me/location", tech, map[string]any{"lat": 45.766, "lng": 4.837}); r.Status != 200 {
		t.Fatalf("ping: %d %s", r.Status, r.Body)
	}
	if second := eta(); !second.Before(first) || second.Sub(b.clock.Now()) > 5*time.Minute {
		t.Fatalf("after a ping two streets away the ETA is %s (was %s, now %s)", second, first, b.clock.Now())
	}
}

// TestAgendaKeepsTheDay: a completed job left the technician's agenda. The day's finished visits
// stay on it, marked done, and every item gives the SLA due time and the planned start in the
// technician's time zone (Europe/Paris: +01:00 in November).
func TestAgendaKeepsTheDay(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	cust := b.token(dispatch.RoleCustomer, "cust")
	// Who to ask for at the door comes with the booking: the customer's account holds no phone.
	w := washerBooking(nil)
	w["contact_name"], w["contact_phone"] = "Chloé Martin", "+33 6 12 34 56 78"
	done := b.do("POST", "/v1/bookings", cust, w).json(t)
	if done["contact_name"] != "Chloé Martin" || done["contact_phone"] != "+33 6 12 34 56 78" {
		t.Fatalf("the booking's contact: %v %v", done["contact_name"], done["contact_phone"])
	}
	bad := washerBooking(nil)
	bad["contact_phone"] = "call me maybe"
	wantProblem(t, b.do("POST", "/v1/bookings", cust, bad), 400, "invalid_phone")
	next := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := fmt.Sprintf("/v1/jobs/%v", jobOf(t, done)["id"])
	for _, s := range []map[string]any{nil, {"status": "en_route"}, {"status": "on_site"}, {"status": "completed", "outcome": "fixed"}} {
		p, body := path+"/status", any(s)
		if s == nil {
			p, body = path+"/accept", nil
		}
		if r := b.do("POST", p, tech, body); r.Status != 200 {
			t.Fatalf("%s %v: %d %s", p, s, r.Status, r.Body)
		}
	}
	items := b.do("GET", "/v1/technicians/me/jobs", tech, nil).json(t)["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("the agenda holds %d items, want the done job and the next: %v", len(items), items)
	}
	first, second := items[0].(map[string]any), items[1].(map[string]any)
	if first["booking_id"] != done["id"] || first["done"] != true || first["job"].(map[string]any)["status"] != "completed" ||
		first["customer_name"] != "Chloé Martin" || first["customer_phone"] != "+33 6 12 34 56 78" {
		t.Fatalf("the day's done job: %v", first)
	}
	if second["booking_id"] != next["id"] || second["done"] != false || second["eta"] == nil {
		t.Fatalf("the next job: %v", second)
	}
	for _, it := range items {
		it := it.(map[string]any)
		local, _ := it["sla_due_local"].(string)
		if it["time_zone"] != "Europe/Paris" || !strings.HasSuffix(local, "+01:00") || it["address"] == "" || it["problem"] == "" || it["tier"] == "" {
			t.Fatalf("an agenda item a technician reads: %v", it)
		}
		if due, _ := time.Parse(time.RFC3339, it["sla_due_at"].(string)); !strings.HasPrefix(local, due.In(time.FixedZone("", 3600)).Format("2006-01-02T15:04")) {
			t.Fatalf("sla_due_local %s is not sla_due_at %v in Paris", local, it["sla_due_at"])
		}
	}
	// Tomorrow, yesterday's work is gone.
	b.clock.Set(b.clock.Now().Add(24 * time.Hour))
	for _, it := range b.do("GET", "/v1/technicians/me/jobs", b.token(dispatch.RoleTechnician, "tech-a"), nil).json(t)["items"].([]any) {
		if it.(map[string]any)["done"] == true {
			t.Fatalf("yesterday's done job is still on the agenda: %v", it)
		}
	}
}
