package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

func TestDispatcherOverrides(t *testing.T) {
	b := setup(t)
	a := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	fridgeOnly := b.technician("tech-f", []string{"fridge"}, 45.76, 4.84)
	other := b.technician("tech-o", []string{"washer"}, 45.74, 4.86)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	path := fmt.Sprintf("/v1/jobs/%v", job["id"])
	if job["technician_id"] != float64(a) {
		t.Fatalf("planned to %v", job["technician_id"])
	}

	// A skill mismatch is a warning (SPEC), with or without force.
	r := b.do("POST", path+"/assign", disp, map[string]any{"technician_id": fridgeOnly, "reason": "trainee shadowing"})
	if r.Status != 200 {
		t.Fatalf("forced assign: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	if jobOf(t, m)["technician_id"] != float64(fridgeOnly) || jobOf(t, m)["pinned"] != true {
		t.Fatalf("forced assign: %v", m)
	}
	if ws := m["warnings"].([]any); len(ws) == 0 || ws[0].(map[string]any)["code"] != "skill_mismatch" {
		t.Fatalf("warnings %v", ws)
	}
	etag := r.Header.Get("ETag")
	// A stale version is refused.
	wantProblem(t, b.do("POST", path+"/assign", disp, map[string]any{"technician_id": other}, "If-Match", `"1"`), 409, "version_mismatch")

	// A time clash with another job of the technician is a 409.
	job2 := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	start := jobOf(t, m)["planned_start"].(string)
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", job2["id"]), disp, map[string]any{"technician_id": fridgeOnly, "force": true, "planned_start": start}), 409, "technician_double_booked")

	// An SLA risk comes back as a warning.
	late := b.clock.Now().Add(72 * time.Hour).Format(time.RFC3339)
	r = b.do("POST", path+"/assign", disp, map[string]any{"technician_id": other, "planned_start": late}, "If-Match", etag)
	if r.Status != 200 {
		t.Fatalf("late assign: %d %s", r.Status, r.Body)
	}
	found := false
	for _, w := range r.json(t)["warnings"].([]any) {
		found = found || w.(map[string]any)["code"] == "sla_will_be_missed"
	}
	if !found {
		t.Fatalf("no SLA warning: %s", r.Body)
	}
	if r := b.do("POST", path+"/unpin", disp, nil); r.Status != 200 || jobOf(t, r.json(t))["pinned"] != false {
		t.Fatalf("unpin: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", path+"/unassign", disp, map[string]any{"reason": "customer asked to wait"}); r.Status != 200 || jobOf(t, r.json(t))["technician_id"] != nil {
		t.Fatalf("unassign: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", path+"/pin", disp, nil), 409, "not_assigned")
	// The technician who lost the job was told.
	inbox := b.do("GET", "/v1/technicians/me/inbox", b.token(dispatch.RoleTechnician, "tech-o"), nil).json(t)["items"].([]any)
	if len(inbox) == 0 || inbox[0].(map[string]any)["kind"] != "cancellation" {
		t.Fatalf("tech-o inbox %v", inbox)
	}
	evs := b.do("GET", fmt.Sprintf("/v1/audit?entity=job&entity_id=%v", job["id"]), disp, nil).json(t)["items"].([]any)
	if len(evs) < 6 {
		t.Fatalf("audit trail too short: %d events", len(evs))
	}
}

func TestTechnicianUnavailable(t *testing.T) {
	b := setup(t)
	a := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	c := b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if job["technician_id"] != float64(a) {
		t.Fatalf("planned to %v", job["technician_id"])
	}
	r := b.do("POST", fmt.Sprintf("/v1/technicians/%d/unavailable", a), disp, map[string]any{"reason": "sick"})
	if r.Status != 200 {
		t.Fatalf("unavailable: %d %s", r.Status, r.Body)
	}
	moved := r.json(t)["redispatched"].([]any)
	if len(moved) != 1 || moved[0].(map[string]any)["to_technician_id"] != float64(c) {
		t.Fatalf("moved %v", moved)
	}
	// New bookings avoid the unavailable technician too.
	job2 := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if job2["technician_id"] != float64(c) {
		t.Fatalf("new booking went to %v", job2["technician_id"])
	}
}
