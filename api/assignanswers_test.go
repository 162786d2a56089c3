package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestOverrideAnswersSayWhatHappened: a clash now names the job and the time it clashes with; an
// assignment without room says it of the technician asked for, not of "no technician"; a skill
// mismatch is a warning as SPEC says (no force needed); a start outside the customer's chosen
// windows is warned of (outside_customer_window).
func TestOverrideAnswersSayWhatHappened(t *testing.T) {
	b := setup(t)
	a := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	fridgeOnly := b.technician("tech-f", []string{"fridge"}, 45.75, 4.85)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	first := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	second := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))

	clash := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", second["id"]), disp, map[string]any{"technician_id": a, "planned_start": first["planned_start"]})
	wantProblem(t, clash, 409, "technician_double_booked")
	p := clash.json(t)
	ref := fmt.Sprintf("B-%v/1", first["booking_id"])
	if p["clashing_job_id"] != first["id"] || p["clashing_reference"] != ref || p["clashing_start"] == nil || !strings.Contains(p["detail"].(string), ref) {
		t.Fatalf("the clash does not name the job it clashes with: %s", clash.Body)
	}

	r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", second["id"]), disp, map[string]any{"technician_id": fridgeOnly})
	if r.Status != 200 {
		t.Fatalf("a skill mismatch is refused: %d %s", r.Status, r.Body)
	}
	if ws := r.json(t)["warnings"].([]any); len(ws) == 0 || ws[0].(map[string]any)["code"] != "skill_mismatch" || !strings.Contains(ws[0].(map[string]any)["message"].(string), "washer") {
		t.Fatalf("warnings %v", ws)
	}

	// The customer chose this afternoon; the dispatcher puts the visit in the morning.
	w := washerBooking(nil)
	aft := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	w["preferred_windows"] = []any{map[string]any{"start": aft.Format(time.RFC3339), "end": aft.Add(2 * time.Hour).Format(time.RFC3339)}}
	chosen := jobOf(t, b.do("POST", "/v1/bookings", cust, w).json(t))
	morning := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC).Format(time.RFC3339)
	r = b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", chosen["id"]), disp, map[string]any{"technician_id": fridgeOnly, "planned_start": morning})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"outside_customer_window"`) {
		t.Fatalf("assign outside the customer's window: %d %s", r.Status, r.Body)
	}

	// A technician whose shifts leave no room: the answer speaks of them.
	admin := b.token(dispatch.RoleAdmin, "admin")
	tr := b.do("POST", "/v1/technicians", admin, map[string]any{"subject": "tiny", "name": "Tina Tiny", "skills": []string{"washer"},
		"home": map[string]any{"lat": 45.76, "lng": 4.84}, "time_zone": "Europe/Paris", "weekly_shifts": []map[string]string{}})
	if tr.Status != 201 {
		t.Fatalf("technician: %d %s", tr.Status, tr.Body)
	}
	third := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	nr := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", third["id"]), disp, map[string]any{"technician_id": tr.json(t)["id"]})
	wantProblem(t, nr, 409, "no_room")
	if d := nr.json(t)["detail"].(string); !strings.Contains(d, "Tina Tiny") || strings.Contains(d, "every technician") {
		t.Fatalf("no room, said of whom? %s", d)
	}
}
