package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestTimeOffSeenAndWithdrawn: POST /v1/technicians/{id}/unavailable could be neither seen nor
// undone. The time off is listed (GET .../time-off), shown on the board's route, and withdrawn
// (DELETE .../time-off/{id}), which plans again the jobs it moved that can still move: here the
// job goes back to the nearer technician. Assigning to a technician who is off says so.
func TestTimeOffSeenAndWithdrawn(t *testing.T) {
	b := setup(t)
	a := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	c := b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if job["technician_id"] != float64(a) {
		t.Fatalf("planned to %v", job["technician_id"])
	}
	until := b.clock.Now().Add(6 * time.Hour)
	r := b.do("POST", fmt.Sprintf("/v1/technicians/%d/unavailable", a), disp, map[string]any{"reason": "van broke down", "until": until.Format(time.RFC3339)})
	if r.Status != 200 {
		t.Fatalf("unavailable: %d %s", r.Status, r.Body)
	}
	off := r.json(t)["time_off"].(map[string]any)
	if off["id"] == nil || off["reason"] != "van broke down" || fmt.Sprint(off["moved_job_ids"]) != fmt.Sprintf("[%v]", job["id"]) {
		t.Fatalf("the answer's time off: %v", off)
	}
	list := b.do("GET", fmt.Sprintf("/v1/technicians/%d/time-off", a), disp, nil)
	if items := list.json(t)["items"].([]any); list.Status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != off["id"] {
		t.Fatalf("time off listed: %d %s", list.Status, list.Body)
	}
	board := b.do("GET", "/v1/board", disp, nil).json(t)
	shown := false
	for _, rt := range board["routes"].([]any) {
		rt := rt.(map[string]any)
		if rt["technician"].(map[string]any)["id"] == float64(a) {
			offs := rt["time_off"].([]any)
			shown = len(offs) == 1 && offs[0].(map[string]any)["reason"] == "van broke down"
		}
	}
	if !shown {
		t.Fatalf("the board does not show the time off: %v", board["routes"])
	}
	// Assigning to the absent technician without a time: planned after the time off, and said.
	other := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	ar := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", other["id"]), disp, map[string]any{"technician_id": a})
	if ar.Status != 200 || !strings.Contains(string(ar.Body), `"technician_unavailable"`) {
		t.Fatalf("assign to an absent technician: %d %s", ar.Status, ar.Body)
	}
	if start, _ := time.Parse(time.RFC3339, jobOf(t, ar.json(t))["planned_start"].(string)); start.Before(until) {
		t.Fatalf("planned at %v, inside the time off", start)
	}
	// Withdrawn: the job moved to tech-b (offered, not accepted) comes back to tech-a.
	path := fmt.Sprintf("/v1/technicians/%d/time-off/%v", a, off["id"])
	wantProblem(t, b.do("DELETE", fmt.Sprintf("/v1/technicians/%d/time-off/%v", c, off["id"]), disp, nil), 404, "time_off_not_found")
	wr := b.do("DELETE", path, disp, nil)
	if wr.Status != 200 {
		t.Fatalf("withdraw: %d %s", wr.Status, wr.Body)
	}
	re := wr.json(t)["replanned"].([]any)
	if len(re) != 1 || re[0].(map[string]any)["to_technician_id"] != float64(a) || re[0].(map[string]any)["from_technician_id"] != float64(c) {
		t.Fatalf("replanned %v", re)
	}
	if j := b.do("GET", fmt.Sprintf("/v1/jobs/%v", job["id"]), disp, nil).json(t); j["technician_id"] != float64(a) {
		t.Fatalf("the job is with %v after the time off was withdrawn", j["technician_id"])
	}
	if items := b.do("GET", fmt.Sprintf("/v1/technicians/%d/time-off", a), disp, nil).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("time off left: %v", items)
	}
	wantProblem(t, b.do("DELETE", path, disp, nil), 404, "time_off_not_found")
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/technicians/%d/time-off", a), cust, nil), 403, "forbidden_role")
}
