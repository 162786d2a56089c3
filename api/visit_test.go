package api_test

import (
	"fmt"
	"strings"
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

// TestJobStatesSayWhatIsTrue: a job with a technician and a planned start used to be called
// unassigned (planned beyond the offer horizon, or after its offer was withdrawn), so the board
// counted no unassigned job while its at-risk list said "unassigned". Such a job is planned
// everywhere people read it; the board's unassigned list holds exactly the jobs without a
// technician.
func TestJobStatesSayWhatIsTrue(t *testing.T) {
	b := setup(t)
	techID := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	// Two days ahead, past the offer horizon and past the paid SLA: planned, at risk, not offered.
	w := washerBooking(nil)
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	w["preferred_windows"] = []any{map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(2 * time.Hour).Format(time.RFC3339)}}
	planned := jobOf(t, b.do("POST", "/v1/bookings", cust, w).json(t))
	if planned["status"] != "planned" || planned["technician_id"] != float64(techID) {
		t.Fatalf("a job planned beyond the horizon: %v", planned)
	}
	// A fridge nobody repairs: no technician.
	f := washerBooking(nil)
	f["appliance"] = "fridge"
	alone := jobOf(t, b.do("POST", "/v1/bookings", cust, f).json(t))
	if alone["status"] != "unassigned" || alone["technician_id"] != nil {
		t.Fatalf("a job nobody can take: %v", alone)
	}
	if j := b.do("GET", fmt.Sprintf("/v1/jobs/%v", planned["id"]), disp, nil).json(t); j["status"] != "planned" {
		t.Fatalf("GET job says %v", j["status"])
	}
	board := b.do("GET", "/v1/board", disp, nil).json(t)
	un := board["unassigned"].([]any)
	if len(un) != 1 || un[0].(map[string]any)["job_id"] != alone["id"] {
		t.Fatalf("the board's unassigned list is not exactly the job without a technician: %v", un)
	}
	found := false
	for _, it := range board["at_risk"].([]any) {
		it := it.(map[string]any)
		if it["job_id"] == planned["id"] {
			found = true
			if it["status"] != "planned" {
				t.Fatalf("the at-risk list calls a planned job %v", it["status"])
			}
		}
		if it["status"] == "unassigned" && it["technician_id"] != nil {
			t.Fatalf("an at-risk job with a technician is called unassigned: %v", it)
		}
	}
	_ = found // the customer chose a window after the due time: customer-deferred, not at risk (item 3)
	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM audit_events WHERE entity='job' AND entity_id=$1 AND action='planned' AND to_status='planned'",
		planned["id"]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the audit's planned event: %d (%v)", n, err)
	}
}

// TestVisitReferences: after a revisit, job and booking numbers drift apart (booking 1's second
// visit is job 3) and the console showed only job numbers. Every job a person reads carries its
// reference, B-<booking>/<visit>: the booking, the visit, the board and its routes, and the
// console shows it.
func TestVisitReferences(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	first := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	b.do("POST", "/v1/bookings", cust, washerBooking(nil))
	path := fmt.Sprintf("/v1/jobs/%v", jobOf(t, first)["id"])
	for _, s := range []map[string]any{nil, {"status": "en_route"}, {"status": "on_site"}, {"status": "incomplete", "outcome": "needs_parts"}} {
		p, body := path+"/status", any(s)
		if s == nil {
			p, body = path+"/accept", nil
		}
		if r := b.do("POST", p, tech, body); r.Status != 200 {
			t.Fatalf("%s %v: %d %s", p, s, r.Status, r.Body)
		}
	}
	got := b.do("GET", fmt.Sprintf("/v1/bookings/%v", first["id"]), disp, nil).json(t)
	revisit := jobOf(t, got)
	want := fmt.Sprintf("B-%v/2", first["id"])
	if revisit["reference"] != want || revisit["id"] == first["id"] {
		t.Fatalf("the revisit: %v, want reference %s", revisit, want)
	}
	if j := b.do("GET", fmt.Sprintf("/v1/jobs/%v", revisit["id"]), disp, nil).json(t); j["reference"] != want {
		t.Fatalf("GET job reference %v", j["reference"])
	}
	board := b.do("GET", "/v1/board", disp, nil)
	if !strings.Contains(string(board.Body), `"reference":"`+want+`"`) {
		t.Fatalf("the board does not name the revisit %s: %s", want, board.Body)
	}
	for _, it := range append(board.json(t)["unassigned"].([]any), board.json(t)["at_risk"].([]any)...) {
		if it.(map[string]any)["reference"] == nil {
			t.Fatalf("a board item without its reference: %v", it)
		}
	}
	// The console's list rows and Gantt bars are labelled by reference
	// (the browser test drives them; this guards the asset itself).
	for _, asset := range []string{"/console/app.js", "/console/gantt.js"} {
		js := b.do("GET", asset, "", nil)
		if js.Status != 200 || !strings.Contains(string(js.Body), "j.reference") {
			t.Fatalf("the console's %s does not show references: %d", asset, js.Status)
		}
	}
}
