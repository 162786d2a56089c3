package api_test

import (
	"fmt"
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
