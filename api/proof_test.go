package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// visitOnSite books a washer repair for cust, which the only technician (sub) accepts and reaches:
// the visit's job id, on site.
func (b *testBundle) visitOnSite(sub, cust string) int64 {
	b.t.Helper()
	b.technician(sub, []string{"washer"}, 45.76, 4.84)
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, cust), washerBooking(nil))
	if bk.Status != http.StatusCreated {
		b.t.Fatalf("booking: %d %s", bk.Status, bk.Body)
	}
	id := int64(jobOf(b.t, bk.json(b.t))["id"].(float64))
	tech := b.token(dispatch.RoleTechnician, sub)
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/accept", id), tech, nil); r.Status != 200 {
		b.t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	for _, st := range []string{"en_route", "on_site"} {
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, map[string]any{"status": st}); r.Status != 200 {
			b.t.Fatalf("%s: %d %s", st, r.Status, r.Body)
		}
	}
	return id
}

// washerChecklist is the admin's template for washer repairs.
func (b *testBundle) washerChecklist() float64 {
	b.t.Helper()
	r := b.do("POST", "/v1/checklists", b.token(dispatch.RoleAdmin, "admin"), map[string]any{
		"name": "Washer repair", "service_type": "repair", "appliance": "washer",
		"items": []map[string]any{
			{"key": "drum_spins", "label": "Drum spins freely", "kind": "yes_no", "required": true},
			{"key": "motor_current", "label": "Motor current", "kind": "number", "unit": "A", "min": 0, "max": 20, "required": true},
			{"key": "error_code", "label": "Error code shown", "kind": "reading"},
			{"key": "remarks", "label": "Remarks", "kind": "text"},
		}})
	if r.Status != http.StatusCreated {
		b.t.Fatalf("checklist: %d %s", r.Status, r.Body)
	}
	return r.json(b.t)["id"].(float64)
}

// TestChecklistGatesCompletion: a visit gets its appliance's checklist; completing it with required
// answers missing is a 409 that names them; answers out of range, of the wrong kind or for items
// the checklist lacks are refused whole; partial saves add up; once complete, the visit completes,
// and the checklist is closed with it.
func TestChecklistGatesCompletion(t *testing.T) {
	b := setup(t)
	tplID := b.washerChecklist()
	admin := b.token(dispatch.RoleAdmin, "admin")
	wantProblem(t, b.do("POST", "/v1/checklists", admin, map[string]any{"name": "Again", "service_type": "repair", "appliance": "washer",
		"items": []map[string]any{{"key": "x", "label": "X", "kind": "yes_no"}}}), 409, "template_exists")
	wantProblem(t, b.do("POST", "/v1/checklists", admin, map[string]any{"name": "Bad", "service_type": "repair",
		"items": []map[string]any{{"key": "x", "label": "X", "kind": "colour"}}}), 400, "invalid_item_kind")

	id := b.visitOnSite("tech-c", "cust-c")
	tech := b.token(dispatch.RoleTechnician, "tech-c")
	path := fmt.Sprintf("/v1/jobs/%d/checklist", id)
	c := b.do("GET", path, tech, nil).json(t)
	if c["template_id"] != tplID || len(c["items"].([]any)) != 4 || c["complete"] != false {
		t.Fatalf("the visit's checklist: %v", c)
	}
	done := map[string]any{"status": "completed", "notes": "belt replaced"}
	r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, done)
	wantProblem(t, r, 409, "checklist_incomplete")
	if m := r.json(t)["missing"].([]any); !slices.Equal(m, []any{"drum_spins", "motor_current"}) {
		t.Fatalf("missing %v", m)
	}

	// The admin changes the template: the visit keeps the checklist it got.
	if r := b.do("PATCH", fmt.Sprintf("/v1/checklists/%v", tplID), admin, map[string]any{"items": []map[string]any{
		{"key": "drum_spins", "label": "Drum spins", "kind": "yes_no", "required": true},
		{"key": "door_seal", "label": "Door seal intact", "kind": "yes_no", "required": true}}}, "If-Match", `"1"`); r.Status != 200 || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("patch template: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("PATCH", fmt.Sprintf("/v1/checklists/%v", tplID), admin, map[string]any{"active": false}, "If-Match", `"1"`), 409, "version_mismatch")

	bad := []struct {
		answers map[string]any
		code    string
	}{
		{map[string]any{"drum_spins": true, "motor_current": 25}, "answer_out_of_range"},
		{map[string]any{"drum_spins": "yes"}, "invalid_answer"},
		{map[string]any{"door_seal": true}, "unknown_item"},
		{map[string]any{"remarks": "   "}, "invalid_answer"},
		{map[string]any{"remarks": 3}, "invalid_answer"},
	}
	for _, x := range bad {
		wantProblem(t, b.do("PUT", path, tech, map[string]any{"answers": x.answers}), 400, x.code)
	}
	if c := b.do("GET", path, tech, nil).json(t); len(c["answers"].(map[string]any)) != 0 {
		t.Fatalf("a refused save kept answers: %v", c["answers"])
	}
	// Partial saves add up; the same save twice is the same checklist.
	for range 2 {
		r := b.do("PUT", path, tech, map[string]any{"answers": map[string]any{"drum_spins": true, "error_code": "E21"}})
		if r.Status != 200 {
			t.Fatalf("save: %d %s", r.Status, r.Body)
		}
		if m := r.json(t)["missing"].([]any); !slices.Equal(m, []any{"motor_current"}) {
			t.Fatalf("missing after a partial save: %v", m)
		}
	}
	// Another technician's visit does not exist for them; a customer cannot fill it.
	b.technician("tech-other", []string{"fridge"}, 45.7, 4.8)
	wantProblem(t, b.do("PUT", path, b.token(dispatch.RoleTechnician, "tech-other"), map[string]any{"answers": map[string]any{"drum_spins": false}}), 404, "job_not_found")
	wantProblem(t, b.do("GET", path, b.token(dispatch.RoleCustomer, "cust-x"), nil), 404, "job_not_found")

	r = b.do("PUT", path, tech, map[string]any{"answers": map[string]any{"motor_current": 4.2, "error_code": nil}})
	c = r.json(t)
	if r.Status != 200 || c["complete"] != true || c["answers"].(map[string]any)["error_code"] != nil {
		t.Fatalf("complete save: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, done); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("PUT", path, tech, map[string]any{"answers": map[string]any{"remarks": "late"}}), 409, "visit_closed")
	// The customer reads the checklist of their visit.
	if c := b.do("GET", path, b.token(dispatch.RoleCustomer, "cust-c"), nil).json(t); c["answers"].(map[string]any)["motor_current"] != 4.2 {
		t.Fatalf("customer's view: %v", c)
	}
}

// TestVisitWithoutTemplateCompletes: no template for the appliance, an empty checklist, no gate.
func TestVisitWithoutTemplateCompletes(t *testing.T) {
	b := setup(t)
	id := b.visitOnSite("tech-n", "cust-n")
	tech := b.token(dispatch.RoleTechnician, "tech-n")
	if c := b.do("GET", fmt.Sprintf("/v1/jobs/%d/checklist", id), tech, nil).json(t); c["template_id"] != nil || c["complete"] != true {
		t.Fatalf("checklist without template: %v", c)
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, map[string]any{"status": "completed"}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
}

// TestChecklistIsFixedWhenPlanned: a visit gets its checklist when it is planned (issue 23): the
// admin's change to the template after the booking was planned, before the technician ever opened
// the visit, does not reach it; a visit planned while no template existed gets the one made before
// it is first needed.
func TestChecklistIsFixedWhenPlanned(t *testing.T) {
	b := setup(t)
	admin := b.token(dispatch.RoleAdmin, "admin")
	b.technician("tech-p", []string{"washer"}, 45.76, 4.84)
	before := int64(num(jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust-0"), washerBooking(nil)).json(t)), "id"))
	tplID := b.washerChecklist()
	planned := int64(num(jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust-p"), washerBooking(nil)).json(t)), "id"))
	if n := b.count("SELECT count(*) FROM job_checklists WHERE job_id = $1 AND template_id = $2", planned, int64(tplID)); n != 1 {
		t.Fatal("the planned visit has no checklist yet")
	}
	if r := b.do("PATCH", fmt.Sprintf("/v1/checklists/%v", tplID), admin, map[string]any{"items": []map[string]any{
		{"key": "door_seal", "label": "Door seal intact", "kind": "yes_no", "required": true}}}, "If-Match", `"1"`); r.Status != 200 {
		t.Fatalf("patch template: %d %s", r.Status, r.Body)
	}
	tech := b.token(dispatch.RoleTechnician, "tech-p")
	if c := b.do("GET", fmt.Sprintf("/v1/jobs/%d/checklist", planned), tech, nil).json(t); len(c["items"].([]any)) != 4 {
		t.Fatalf("the visit planned before the change: %v", c["items"])
	}
	if c := b.do("GET", fmt.Sprintf("/v1/jobs/%d/checklist", before), tech, nil).json(t); len(c["items"].([]any)) != 1 || c["template_id"] != tplID {
		t.Fatalf("the visit planned before any template: %v", c)
	}
}
