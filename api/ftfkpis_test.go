package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestKPIsFirstTimeFixBySignOff: GET /v1/kpis tells first-time fix by the customer's sign-off
// beside the plain one: of the bookings closed with a sign-off, those closed by the first visit
// and not revisited within 30 days. Ana's visit is signed off and stays fixed; Ben's is signed off
// but he books the same washer again a week later; Cleo's completes without a sign-off (the
// business took none then), so it counts only in the plain rate.
func TestKPIsFirstTimeFixBySignOff(t *testing.T) {
	b := setup(t)
	b.svc.Proof.Policy.SignOff = "any"
	from := b.clock.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	sign := func(tech string, job int64, signer string) {
		t.Helper()
		r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/signoff", job), b.token(dispatch.RoleTechnician, tech), map[string]any{
			"method": "signature", "signer_name": signer, "strokes": [][][2]float64{{{0, 0}, {10, 10}}}})
		if r.Status != http.StatusCreated {
			t.Fatalf("signature: %d %s", r.Status, r.Body)
		}
	}
	complete := func(tech string, job int64) {
		t.Helper()
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", job), b.token(dispatch.RoleTechnician, tech), map[string]any{"status": "completed"}); r.Status != 200 {
			t.Fatalf("complete: %d %s", r.Status, r.Body)
		}
	}
	b.technician("tech-1", []string{"washer"}, 45.76, 4.84)
	onSite := func(cust string) int64 {
		t.Helper()
		bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, cust), washerBooking(nil))
		if bk.Status != http.StatusCreated {
			t.Fatalf("booking: %d %s", bk.Status, bk.Body)
		}
		id := int64(jobOf(t, bk.json(t))["id"].(float64))
		tech := b.token(dispatch.RoleTechnician, "tech-1")
		b.do("POST", fmt.Sprintf("/v1/jobs/%d/accept", id), tech, nil)
		b.step(b.clock.Now(), time.Minute, "tech-1", id, map[string]any{"status": "en_route"})
		b.step(b.clock.Now(), 20*time.Minute, "tech-1", id, map[string]any{"status": "on_site"})
		return id
	}
	ana := onSite("ana")
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", ana), b.token(dispatch.RoleTechnician, "tech-1"), map[string]any{"status": "completed"}); r.Status != http.StatusConflict {
		t.Fatalf("completed without the sign-off the business asks for: %d %s", r.Status, r.Body)
	}
	sign("tech-1", ana, "Ana")
	complete("tech-1", ana)
	ben := onSite("ben")
	sign("tech-1", ben, "Ben")
	complete("tech-1", ben)
	b.svc.Proof.Policy.SignOff = "none"
	cleo := onSite("cleo")
	complete("tech-1", cleo)

	b.clock.Set(b.clock.Now().Add(7 * 24 * time.Hour))
	if r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "ben"), washerBooking(nil)); r.Status != http.StatusCreated {
		t.Fatalf("Ben's washer again: %d %s", r.Status, r.Body)
	}
	groups := b.do("GET", "/v1/kpis?from="+from, b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["groups"].([]any)
	if len(groups) != 1 {
		t.Fatalf("groups %v", groups)
	}
	all := groups[0].(map[string]any)
	near(t, "bookings", all["bookings"], 4)
	near(t, "signed_off", all["signed_off"], 2)
	near(t, "signed_off_fixed_first_time", all["signed_off_fixed_first_time"], 1)
	near(t, "signed_off_first_time_fix_rate", all["signed_off_first_time_fix_rate"], 0.5)
	near(t, "first_time_fix_rate", all["first_time_fix_rate"], 1) // three closed, each by its first visit
	// The sign-off report counts the same two signed-off visits.
	rep := b.do("GET", "/v1/reports/signoffs?from="+from, b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)
	near(t, "the report's signed_off", rep["signed_off"], 2)
	near(t, "the report's rate", rep["first_time_fix_rate"], 0.5)

}
