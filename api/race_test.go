package api_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestConcurrentDispatchKeepsInvariants lets technicians accept and decline, dispatchers
// re-assign, unassign and pin, and the expiry sweep run, all at once on the same jobs; then
// checks in SQL that PostgreSQL kept the invariants: no technician double-booked, at most one
// open offer per job, offers and job states agree, every accept audited. No request may fail
// with a 5xx: losers get a clear 409/404/422.
func TestConcurrentDispatchKeepsInvariants(t *testing.T) {
	b := setup(t)
	var techIDs []int64
	for i := range 4 {
		techIDs = append(techIDs, b.technician(fmt.Sprintf("tech-%d", i), []string{"washer"}, 45.75+0.01*float64(i), 4.83))
	}
	cust := b.token(dispatch.RoleCustomer, "cust")
	var jobIDs []int64
	for range 12 {
		jobIDs = append(jobIDs, int64(jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))["id"].(float64)))
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	base := b.clock.Now().Add(3 * time.Hour).Truncate(time.Hour)

	var wg sync.WaitGroup
	statuses := make(chan int, 1000)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for range 12 {
				job := jobIDs[rng.IntN(len(jobIDs))]
				path := fmt.Sprintf("/v1/jobs/%d", job)
				var r response
				switch rng.IntN(6) {
				case 0, 1:
					r = b.do("POST", path+"/accept", b.token(dispatch.RoleTechnician, fmt.Sprintf("tech-%d", rng.IntN(4))), nil)
				case 2:
					// Several dispatchers aim at the same few slots: most collide.
					start := base.Add(time.Duration(rng.IntN(3)) * time.Hour).Format(time.RFC3339)
					r = b.do("POST", path+"/assign", disp, map[string]any{"technician_id": techIDs[rng.IntN(4)], "planned_start": start})
				case 3:
					r = b.do("POST", path+"/unassign", disp, nil)
				case 4:
					r = b.do("POST", path+"/decline", b.token(dispatch.RoleTechnician, fmt.Sprintf("tech-%d", rng.IntN(4))), map[string]any{"reason": "busy"})
				case 5:
					if _, err := b.svc.ExpireOffers(t.Context(), 5); err != nil {
						t.Errorf("expire: %v", err)
					}
					r = b.do("POST", path+"/pin", disp, nil)
				}
				statuses <- r.Status
				if r.Status >= 500 {
					t.Errorf("%s: %d %s", path, r.Status, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	t.Logf("statuses: %v", counts)
	if counts[200] == 0 || counts[409] == 0 {
		t.Fatalf("the race did not exercise both winners and losers: %v", counts)
	}

	q := func(name, sql string) {
		t.Helper()
		var n int
		if err := b.db.Pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != 0 {
			t.Errorf("%s: %d violations", name, n)
		}
	}
	live := "('unassigned','offered','accepted','en_route','on_site')"
	q("overlapping jobs", `SELECT count(*) FROM jobs a JOIN jobs b ON a.technician_id = b.technician_id AND a.id < b.id
		WHERE a.status IN `+live+` AND b.status IN `+live+`
		  AND tstzrange(a.planned_start, a.planned_end) && tstzrange(b.planned_start, b.planned_end)`)
	q("two open offers", `SELECT count(*) FROM (SELECT job_id FROM offers WHERE status = 'open' GROUP BY job_id HAVING count(*) > 1) x`)
	q("offered without an open offer to its technician", `SELECT count(*) FROM jobs j WHERE j.status = 'offered'
		AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.job_id = j.id AND o.status = 'open' AND o.technician_id = j.technician_id)`)
	q("open offer on a job not offered", `SELECT count(*) FROM offers o JOIN jobs j ON j.id = o.job_id WHERE o.status = 'open' AND j.status <> 'offered'`)
	q("accepted offer without its audit event", `SELECT count(*) FROM offers o WHERE o.status = 'accepted' AND NOT EXISTS
		(SELECT 1 FROM audit_events e WHERE e.entity = 'job' AND e.entity_id = o.job_id AND e.action = 'accepted')`)
	q("offer without its audit event", `SELECT (SELECT count(*) FROM offers) - (SELECT count(*) FROM audit_events WHERE action = 'offered')`)
	q("declines not audited", `SELECT (SELECT count(*) FROM offers WHERE status = 'declined') - (SELECT count(*) FROM audit_events WHERE action = 'declined')`)
}

// TestConcurrentBookingsShareOneTechnician: 24 bookings arrive at once for a single technician;
// each gets its own gap (the planner sees the others' pending picks), none is refused, none overlaps.
func TestConcurrentBookingsShareOneTechnician(t *testing.T) {
	b := setup(t)
	b.technician("solo", []string{"washer"}, 45.76, 4.84)
	var wg sync.WaitGroup
	codes := make(chan int, 24)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, fmt.Sprintf("c%d", i)), washerBooking(nil))
			codes <- r.Status
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 201 {
			t.Fatalf("a booking got %d", c)
		}
	}
	var planned, overlaps int
	if err := b.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM jobs WHERE technician_id IS NOT NULL`).Scan(&planned); err != nil {
		t.Fatal(err)
	}
	if err := b.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM jobs a JOIN jobs b ON a.id < b.id AND a.technician_id = b.technician_id
		AND tstzrange(a.planned_start, a.planned_end) && tstzrange(b.planned_start, b.planned_end)`).Scan(&overlaps); err != nil {
		t.Fatal(err)
	}
	if planned != 24 || overlaps != 0 {
		t.Fatalf("%d planned, %d overlaps", planned, overlaps)
	}
}
