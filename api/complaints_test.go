package api_test

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
)

// TestComplaintRateLimit: one customer filed 200 complaints in 0.4 s. Complaints are limited per
// subject like bookings: a burst of 5, then FIELDFIX_COMPLAINTS_PER_MINUTE, then 429.
func TestComplaintRateLimit(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "grumpy")
	var bookings []any
	for range 7 {
		bookings = append(bookings, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)["id"])
	}
	limited := httptest.NewServer(api.NewServer(api.Deps{Services: b.svc, JWTSecret: secret, Now: b.clock.Now, ComplaintsPerMinute: 6}))
	defer limited.Close()
	b.srv = limited
	b.wantBurstThen429(5, 2, func(i int) response {
		return b.do("POST", "/v1/complaints", cust, map[string]any{"booking_id": bookings[i], "category": "other", "description": "again"})
	})
	// Bookings are limited apart, and other customers not at all.
	if r := b.do("POST", "/v1/bookings", cust, washerBooking(nil)); r.Status != 201 {
		t.Fatalf("a booking after the complaints: %d %s", r.Status, r.Body)
	}
	calm := b.token(dispatch.RoleCustomer, "calm")
	mine := b.do("POST", "/v1/bookings", calm, washerBooking(nil)).json(t)["id"]
	if r := b.do("POST", "/v1/complaints", calm, map[string]any{"booking_id": mine, "category": "other", "description": "once"}); r.Status != 201 {
		t.Fatalf("other subject: %d %s", r.Status, r.Body)
	}
}

// TestOneOpenComplaintPerBookingAndCategory: a second complaint of the same category on a booking
// is 409 complaint_exists while the first is open or acknowledged, even when ten arrive at once;
// another category, or the same once the first is resolved, is a new complaint.
func TestOneOpenComplaintPerBookingAndCategory(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "ann")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	file := func(category string) response {
		return b.do("POST", "/v1/complaints", cust, map[string]any{"booking_id": bk["id"], "category": category, "description": "it leaks"})
	}
	var wg sync.WaitGroup
	codes := make(chan response, 10)
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- file("quality") }()
	}
	wg.Wait()
	close(codes)
	var first any
	n := map[int]int{}
	for r := range codes {
		n[r.Status]++
		if r.Status == 201 {
			first = r.json(t)["id"]
		} else {
			wantProblem(t, r, 409, "complaint_exists")
		}
	}
	if n[201] != 1 || n[409] != 9 {
		t.Fatalf("ten at once: %v, want one complaint", n)
	}
	if r := file("lateness"); r.Status != 201 {
		t.Fatalf("another category: %d %s", r.Status, r.Body)
	}
	path := fmt.Sprintf("/v1/complaints/%v", first)
	if r := b.do("PATCH", path, disp, map[string]any{"status": "acknowledged"}); r.Status != 200 {
		t.Fatalf("acknowledge: %d %s", r.Status, r.Body)
	}
	wantProblem(t, file("quality"), 409, "complaint_exists")
	if r := b.do("PATCH", path, disp, map[string]any{"status": "resolved", "resolution": "new hose"}); r.Status != 200 {
		t.Fatalf("resolve: %d %s", r.Status, r.Body)
	}
	if r := file("quality"); r.Status != 201 {
		t.Fatalf("after the first was resolved: %d %s", r.Status, r.Body)
	}
}

// TestComplaintAttributedToTheVisitingTechnician: a complaint is charged to the technician who
// made the booking's last visit, none when nobody came. It used to go to whoever was planned,
// so a technician who never visited took every complaint (complaint rate 15.4).
func TestComplaintAttributedToTheVisitingTechnician(t *testing.T) {
	b := setup(t)
	a := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "cid")
	complain := func(booking any, category string) any {
		t.Helper()
		r := b.do("POST", "/v1/complaints", cust, map[string]any{"booking_id": booking, "category": category, "description": "unhappy"})
		if r.Status != 201 {
			t.Fatalf("complaint: %d %s", r.Status, r.Body)
		}
		return r.json(t)["technician_id"]
	}
	planned := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	if jobOf(t, planned)["technician_id"] != float64(a) {
		t.Fatalf("planned to %v", jobOf(t, planned)["technician_id"])
	}
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	path := fmt.Sprintf("/v1/jobs/%v", jobOf(t, planned)["id"])
	b.do("POST", path+"/accept", tech, nil)
	b.do("POST", path+"/status", tech, map[string]any{"status": "en_route"})
	if got := complain(planned["id"], "lateness"); got != nil {
		t.Fatalf("no visit yet, but charged to %v", got)
	}
	b.do("POST", path+"/status", tech, map[string]any{"status": "on_site"})
	// A's visit ends incomplete; a dispatcher gives the revisit to B, who has not come yet: A made
	// the last visit.
	other := b.technician("tech-b", []string{"washer"}, 45.761, 4.841)
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "incomplete", "outcome": "needs_parts"}); r.Status != 200 {
		t.Fatalf("incomplete: %d %s", r.Status, r.Body)
	}
	jobs := b.do("GET", fmt.Sprintf("/v1/bookings/%v", planned["id"]), cust, nil).json(t)["jobs"].([]any)
	revisit := jobs[len(jobs)-1].(map[string]any)["id"]
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", revisit), b.token(dispatch.RoleDispatcher, "disp"), map[string]any{"technician_id": other}); r.Status != 200 {
		t.Fatalf("assign the revisit: %d %s", r.Status, r.Body)
	}
	if got := complain(planned["id"], "quality"); got != float64(a) {
		t.Fatalf("charged to %v, want the visiting technician %d", got, a)
	}
}
