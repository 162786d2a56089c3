package api_test

import (
	"fmt"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestCoverageAndUnassignedReasons: an app can ask before the form whether an address is served
// and by which trades (GET /v1/coverage); a dispatcher may force a booking outside every service
// area into the queue with a reason (a customer may not); and every unassigned job on the board
// says why (reason_code): outside_areas for the forced one, no_skill for a trade nobody has,
// unassigned_by_dispatcher for one a dispatcher took off.
func TestCoverageAndUnassignedReasons(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer", "fridge"}, 45.76, 4.84)
	b.technician("tech-b", []string{"washer", "tv"}, 45.70, 4.90)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")

	lyon := b.do("GET", "/v1/coverage?lat=45.764&lng=4.8357", cust, nil)
	if lyon.Status != 200 || fmt.Sprint(lyon.json(t)["trades"]) != "[fridge tv washer]" || lyon.json(t)["served"] != true {
		t.Fatalf("Lyon's coverage: %d %s", lyon.Status, lyon.Body)
	}
	paris := b.do("GET", "/v1/coverage?lat=48.8566&lng=2.3522", cust, nil)
	if paris.Status != 200 || paris.json(t)["served"] != false || len(paris.json(t)["trades"].([]any)) != 0 {
		t.Fatalf("Paris's coverage: %d %s", paris.Status, paris.Body)
	}
	wantProblem(t, b.do("GET", "/v1/coverage?lat=95&lng=2", cust, nil), 400, "invalid_location")
	wantProblem(t, b.do("GET", "/v1/coverage?lat=north&lng=2", cust, nil), 400, "invalid_location")

	inParis := washerBooking(nil)
	inParis["location"] = map[string]any{"lat": 48.8566, "lng": 2.3522}
	inParis["address"] = "1 rue de Rivoli, Paris"
	wantProblem(t, b.do("POST", "/v1/bookings", cust, inParis), 422, "outside_service_area")
	inParis["force_reason"] = "moving to Lyon next week"
	wantProblem(t, b.do("POST", "/v1/bookings", cust, inParis), 403, "forbidden")
	inParis["customer_sub"] = "cust"
	forced := b.do("POST", "/v1/bookings", disp, inParis)
	if forced.Status != 201 || jobOf(t, forced.json(t))["status"] != "unassigned" || jobOf(t, forced.json(t))["technician_id"] != nil {
		t.Fatalf("forced booking: %d %s", forced.Status, forced.Body)
	}
	ac := washerBooking(nil)
	ac["appliance"] = "ac"
	noSkill := jobOf(t, b.do("POST", "/v1/bookings", cust, ac).json(t))
	taken := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/unassign", taken["id"]), disp, map[string]any{"reason": "customer called"}); r.Status != 200 {
		t.Fatalf("unassign: %d %s", r.Status, r.Body)
	}
	want := map[any]string{jobOf(t, forced.json(t))["id"]: "outside_areas", noSkill["id"]: "no_skill", taken["id"]: "unassigned_by_dispatcher"}
	un := b.do("GET", "/v1/board", disp, nil).json(t)["unassigned"].([]any)
	if len(un) != len(want) {
		t.Fatalf("unassigned on the board: %v", un)
	}
	for _, it := range un {
		it := it.(map[string]any)
		if it["reason_code"] != want[it["job_id"]] || it["reason_message"] == "" {
			t.Errorf("job %v: reason %v (%v), want %s", it["job_id"], it["reason_code"], it["reason_message"], want[it["job_id"]])
		}
	}
	var forcedReason string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT reason FROM audit_events WHERE entity='booking' AND entity_id=$1 AND action='created'",
		forced.json(t)["id"]).Scan(&forcedReason); err != nil || forcedReason != "moving to Lyon next week" {
		t.Fatalf("the forced booking's reason in the audit: %q (%v)", forcedReason, err)
	}
}
