package api_test

import (
	"fmt"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestCommonFaultsSuggestParts: the admin keeps a small table of common faults per appliance and
// the parts they need; a booking whose problem mentions one (any case, any language) has those
// parts suggested on its job until they are required; bad rows are refused.
func TestCommonFaultsSuggestParts(t *testing.T) {
	b := setup(t)
	b.catalogued(false, map[string]int64{"BELT-1": 1500, "MOT-2": 9000, "TH-9": 4500})
	admin := b.token(dispatch.RoleAdmin, "admin")
	add := func(category, fault, sku string) response {
		return b.do("POST", "/v1/parts/faults", admin, map[string]any{"category": category, "fault": fault, "sku": sku})
	}
	var ids []float64
	for _, f := range [][3]string{{"washer", "does not spin", "BELT-1"}, {"washer", "不转", "MOT-2"}, {"washer", "does not spin", "MOT-2"}, {"fridge", "not cold", "TH-9"}} {
		r := add(f[0], f[1], f[2])
		if r.Status != 201 || r.json(t)["quantity"] != 1.0 {
			t.Fatalf("fault %v: %d %s", f, r.Status, r.Body)
		}
		ids = append(ids, r.json(t)["id"].(float64))
	}
	wantProblem(t, add("spaceship", "does not fly", "BELT-1"), 400, "unknown_appliance")
	wantProblem(t, add("washer", " ", "BELT-1"), 400, "invalid_fault")
	wantProblem(t, add("washer", "leaks", "NOPE"), 400, "unknown_sku")
	wantProblem(t, add("washer", "does not spin", "BELT-1"), 409, "fault_exists")
	wantProblem(t, b.do("POST", "/v1/parts/faults", b.token(dispatch.RoleDispatcher, "disp"), map[string]any{"category": "washer", "fault": "leaks", "sku": "BELT-1"}), 403, "forbidden_role")
	if items := b.do("GET", "/v1/parts/faults?category=washer", b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["items"].([]any); len(items) != 3 {
		t.Fatalf("washer faults %v", items)
	}

	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	book := washerBooking(nil)
	book["problem"] = "The drum DOES NOT SPIN since Monday"
	job := int64(num(jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "ana"), book).json(t)), "id"))
	suggested := func(token string, jobID int64) []string {
		t.Helper()
		r := b.do("GET", fmt.Sprintf("/v1/jobs/%d/parts", jobID), token, nil)
		if r.Status != 200 {
			t.Fatalf("job parts: %d %s", r.Status, r.Body)
		}
		var skus []string
		for _, s := range r.json(t)["suggested"].([]any) {
			skus = append(skus, s.(map[string]any)["sku"].(string))
		}
		return skus
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	if got := fmt.Sprint(suggested(disp, job)); got != "[BELT-1 MOT-2]" {
		t.Fatalf("suggested %s", got)
	}
	if got := fmt.Sprint(suggested(b.token(dispatch.RoleTechnician, "tech-a"), job)); got != "[BELT-1 MOT-2]" {
		t.Fatalf("the technician is suggested %s", got)
	}
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/jobs/%d/parts", job), b.token(dispatch.RoleTechnician, "tech-z"), nil), 404, "job_not_found")
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/jobs/%d/parts", job), b.token(dispatch.RoleCustomer, "ana"), nil), 403, "forbidden_role")
	// Required, a part is no longer suggested.
	b.stockVan(int64(b.count("SELECT technician_id FROM jobs WHERE id = $1", job)), "BELT-1", 1)
	if r := b.requireParts(job, map[string]any{"sku": "BELT-1", "quantity": 1}); r.Status != 200 {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	if got := fmt.Sprint(suggested(disp, job)); got != "[MOT-2]" {
		t.Fatalf("suggested after requiring BELT-1: %s", got)
	}
	// Chinese: the fault's words inside the problem.
	book["problem"] = "洗衣机滚筒不转了"
	job2 := int64(num(jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "wang"), book).json(t)), "id"))
	if got := fmt.Sprint(suggested(disp, job2)); got != "[MOT-2]" {
		t.Fatalf("suggested for the Chinese problem: %s", got)
	}
	if r := b.do("DELETE", fmt.Sprintf("/v1/parts/faults/%d", int64(ids[1])), admin, nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("DELETE", fmt.Sprintf("/v1/parts/faults/%d", int64(ids[1])), admin, nil), 404, "part_fault_not_found")
	if got := suggested(disp, job2); len(got) != 0 {
		t.Fatalf("suggested after the fault was deleted: %v", got)
	}
}
