package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestReoptimizeLeavesTheGroupABookingChanged: two pairs of technicians, each with its two jobs
// crossed by a dispatcher. While the solver runs, the plan of one technician of the first pair
// changes (as a booking would change it); the run writes the second pair's fix, leaves the first
// pair as it is and says so, and the next run fixes it.
func TestReoptimizeLeavesTheGroupABookingChanged(t *testing.T) {
	b := setup(t)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	type pair struct {
		west, east int64
		jw, je     any // job ids, booked next to west and east, then crossed
	}
	var pairs []pair
	for i, lat := range []float64{45.70, 45.90} {
		p := pair{west: b.technician(fmt.Sprintf("west-%d", i), []string{"washer"}, lat, 4.78),
			east: b.technician(fmt.Sprintf("east-%d", i), []string{"washer"}, lat, 4.92)}
		at := func(lng float64) map[string]any {
			m := washerBooking(nil)
			m["location"] = map[string]any{"lat": lat, "lng": lng}
			return m
		}
		jw := jobOf(t, b.do("POST", "/v1/bookings", cust, at(4.775)).json(t))
		je := jobOf(t, b.do("POST", "/v1/bookings", cust, at(4.925)).json(t))
		if jw["technician_id"] != float64(p.west) || je["technician_id"] != float64(p.east) {
			t.Fatalf("pair %d booked to %v and %v", i, jw["technician_id"], je["technician_id"])
		}
		p.jw, p.je = jw["id"], je["id"]
		for _, x := range []struct {
			job  any
			tech int64
		}{{p.jw, p.east}, {p.je, p.west}} {
			if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", x.job), disp, map[string]any{"technician_id": x.tech, "pin": false}); r.Status != 200 {
				t.Fatalf("assign: %d %s", r.Status, r.Body)
			}
		}
		pairs = append(pairs, p)
	}
	techOf := func(job any) int64 {
		var tech int64
		if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id FROM jobs WHERE id = $1", job).Scan(&tech); err != nil {
			t.Fatal(err)
		}
		return tech
	}

	var once sync.Once
	changed := pairs[0].west
	// Inside the transaction of the group that holds it, as it is about to lock its technicians:
	// the change lands between the solver's read and the write.
	svc := b.hookedService(hookedStore{beforeLockPlans: func(techs []int64) {
		if slices.Contains(techs, changed) {
			once.Do(func() {
				if _, err := b.db.Pool.Exec(context.Background(), "UPDATE technicians SET plan_version = plan_version + 1 WHERE id = $1", changed); err != nil {
					t.Error(err)
				}
			})
		}
	}})
	res, err := svc.Optimize.Reoptimize(t.Context(), dispatch.Actor{Subject: "disp", Role: dispatch.RoleDispatcher}, "", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 2 || len(res.Moved) != 2 {
		t.Fatalf("want the second pair's 2 jobs moved and the first pair's 2 left: %+v", res)
	}
	if techOf(pairs[1].jw) != pairs[1].west || techOf(pairs[1].je) != pairs[1].east {
		t.Fatal("the second pair was not uncrossed")
	}
	if techOf(pairs[0].jw) != pairs[0].east || techOf(pairs[0].je) != pairs[0].west {
		t.Fatal("the first pair changed although its plan moved under the solver")
	}
	// The next run (the server's own service) takes the first pair up.
	r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 2000})
	if again := r.json(t); r.Status != 200 || len(again["moved"].([]any)) != 2 || again["skipped_changed_meanwhile"] != float64(0) {
		t.Fatalf("second run: %d %s", r.Status, r.Body)
	}
	if techOf(pairs[0].jw) != pairs[0].west || techOf(pairs[0].je) != pairs[0].east {
		t.Fatal("the first pair is still crossed")
	}
}
