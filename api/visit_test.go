package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestVisitReadBack: what the technician reported on a visit (outcome, notes, parts, arrival and
// finish times) used to be written but never shown. GET /v1/jobs/{id} gives the whole visit to the
// dispatcher and its technician, and a customer-safe subset (no internal notes) to the booking's
// customer; the booking's visits show their outcome and times, and the audit keeps the report.
func TestVisitReadBack(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	jobID := jobOf(t, bk)["id"]
	path := fmt.Sprintf("/v1/jobs/%v", jobID)
	for _, s := range []map[string]any{nil, {"status": "en_route"}, {"status": "on_site"},
		{"status": "completed", "outcome": "fixed", "notes": "belt worn; customer overloads the drum",
			"parts_used": []any{map[string]any{"sku": "BELT-1200", "name": "drive belt", "quantity": 1}}}} {
		p, body := path+"/status", any(s)
		if s == nil {
			p, body = path+"/accept", nil
		}
		if r := b.do("POST", p, tech, body); r.Status != 200 {
			t.Fatalf("%s %v: %d %s", p, s, r.Status, r.Body)
		}
		b.clock.Set(b.clock.Now().Add(10 * time.Minute))
	}
	for _, who := range []struct {
		name, token string
		notes       bool
	}{{"dispatcher", disp, true}, {"technician", tech, true}, {"customer", cust, false}} {
		r := b.do("GET", path, who.token, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", who.name, r.Status, r.Body)
		}
		v := r.json(t)
		if v["status"] != "completed" || v["outcome"] != "fixed" || v["on_site_at"] == nil || v["finished_at"] == nil || v["en_route_at"] == nil {
			t.Fatalf("%s sees %s", who.name, r.Body)
		}
		parts, _ := v["parts_used"].([]any)
		if len(parts) != 1 || parts[0].(map[string]any)["sku"] != "BELT-1200" {
			t.Fatalf("%s sees parts %v", who.name, v["parts_used"])
		}
		if _, has := v["notes"]; has != who.notes || (who.notes && v["notes"] != "belt worn; customer overloads the drum") {
			t.Fatalf("%s sees notes %v (want shown: %v)", who.name, v["notes"], who.notes)
		}
		if bkv := v["booking"].(map[string]any); bkv["id"] != bk["id"] || bkv["appliance"] != "washer" || v["reference"] != fmt.Sprintf("B-%v/1", bk["id"]) {
			t.Fatalf("%s: booking part %v, reference %v", who.name, bkv, v["reference"])
		}
	}
	if v := b.do("GET", path, cust, nil).json(t); v["technician_name"] != "tech-a" {
		t.Fatalf("customer sees technician %v, want the first name", v["technician_name"])
	}
	wantProblem(t, b.do("GET", path, b.token(dispatch.RoleCustomer, "someone-else"), nil), 404, "job_not_found")
	wantProblem(t, b.do("GET", path, b.token(dispatch.RoleTechnician, "tech-b"), nil), 404, "job_not_found")
	wantProblem(t, b.do("GET", "/v1/jobs/999999", disp, nil), 404, "job_not_found")

	got := b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), cust, nil).json(t)
	visit := got["jobs"].([]any)[0].(map[string]any)
	if visit["outcome"] != "fixed" || visit["finished_at"] == nil || visit["on_site_at"] == nil {
		t.Fatalf("the booking's visit does not show its outcome: %v", visit)
	}
	var notes, sku string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT data->>'notes', data->'parts_used'->0->>'sku' FROM audit_events WHERE entity='job' AND entity_id=$1 AND action='completed'",
		jobID).Scan(&notes, &sku); err != nil || notes == "" || sku != "BELT-1200" {
		t.Fatalf("the audit of the completion: notes %q sku %q (%v)", notes, sku, err)
	}
}
