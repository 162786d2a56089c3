package api_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestExpiryPlansAgainWhenABookingTakesTheGap: an offer lapses and its job is planned again on
// routes read without a lock; before the write, another job takes the chosen gap (a booking on
// another connection). PostgreSQL's no-overlap constraint refuses the write: the expiry plans
// again on fresh routes instead of failing (it failed every such offer under load, and the
// watchdog its whole run).
func TestExpiryPlansAgainWhenABookingTakesTheGap(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	c := b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	cust := b.token(dispatch.RoleCustomer, "cust")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	jobID := int64(job["id"].(float64))
	tv := washerBooking(nil)
	tv["appliance"] = "tv" // nobody repairs TVs: its job has no technician until the race gives it one
	other := jobOf(t, b.do("POST", "/v1/bookings", cust, tv).json(t))
	if other["technician_id"] != nil {
		t.Fatalf("the tv job was planned: %v", other)
	}

	b.clock.Set(b.clock.Now().Add(11 * time.Minute)) // tech-a lets the offer lapse
	var (
		once  sync.Once
		taken [2]time.Time
	)
	// Inside the expiry's transaction, as it is about to write the job's new place.
	svc := b.hookedService(hookedStore{beforeUpdateJob: func(j dispatch.Job) {
		if j.ID != jobID || j.TechnicianID == nil || *j.TechnicianID != c {
			return
		}
		once.Do(func() {
			taken = [2]time.Time{*j.PlannedStart, *j.PlannedEnd}
			if _, err := b.db.Pool.Exec(context.Background(), "UPDATE jobs SET technician_id = $1, planned_start = $2, planned_end = $3 WHERE id = $4",
				c, taken[0], taken[1], other["id"]); err != nil {
				t.Error(err)
			}
		})
	}})
	n, err := svc.Offers.ExpireOffers(t.Context(), 10)
	if err != nil || n != 1 {
		t.Fatalf("expired %d offers: %v", n, err)
	}
	if taken[0].IsZero() {
		t.Fatal("the race did not happen: the job was not planned on tech-b")
	}
	var (
		tech       int64
		status     string
		start, end time.Time
	)
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, status, planned_start, planned_end FROM jobs WHERE id = $1", jobID).
		Scan(&tech, &status, &start, &end); err != nil {
		t.Fatal(err)
	}
	if tech != c || status != "offered" || (start.Before(taken[1]) && taken[0].Before(end)) {
		t.Fatalf("after the expiry: technician %d, %s, %s–%s; want tech-b (%d) offered outside the taken %s–%s",
			tech, status, start, end, c, taken[0], taken[1])
	}
	if n := b.auditCount("job", jobID, "expired"); n != 1 {
		t.Fatalf("%d expiry audit events, want 1", n)
	}
}

// TestExpiryGoesOnPastAJobThatCannotBePlanned: planning one expired offer's job again fails every
// time (here reading who refused it fails). Its offer still expires and the job goes back to the
// queue, the failure audited; the offers behind it expire and are planned again as usual. Before,
// the lifecycle loop failed on that offer every tick and no other offer ever expired.
func TestExpiryGoesOnPastAJobThatCannotBePlanned(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	cust := b.token(dispatch.RoleCustomer, "cust")
	first := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	b.clock.Set(b.clock.Now().Add(time.Second)) // the first offer lapses first
	second := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	bad, good := jobOf(t, first), jobOf(t, second)
	if bad["status"] != "offered" || good["status"] != "offered" {
		t.Fatalf("not both offered: %v %v", bad, good)
	}

	b.clock.Set(b.clock.Now().Add(11 * time.Minute))
	svc := b.hookedService(hookedStore{failRefused: int64(bad["id"].(float64))})
	n, err := svc.Offers.ExpireOffers(t.Context(), 10)
	if err != nil || n != 2 {
		t.Fatalf("expired %d offers: %v", n, err)
	}
	var (
		tech    *int64
		status  string
		booking string
	)
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT j.technician_id, j.status, b.status FROM jobs j JOIN bookings b ON b.id = j.booking_id WHERE j.id = $1",
		bad["id"]).Scan(&tech, &status, &booking); err != nil {
		t.Fatal(err)
	}
	if tech != nil || status != "unassigned" || booking != "open" {
		t.Fatalf("the failing job: technician %v, %s, booking %s; want no technician, unassigned, open", tech, status, booking)
	}
	var code string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT data->>'reason_code' FROM audit_events WHERE entity = 'job' AND entity_id = $1 AND action = 'unassigned'",
		bad["id"]).Scan(&code); err != nil || code != "redispatch_failed" {
		t.Fatalf("the failure was not audited: %q %v", code, err)
	}
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, status FROM jobs WHERE id = $1", good["id"]).Scan(&tech, &status); err != nil {
		t.Fatal(err)
	}
	if tech == nil || float64(*tech) == good["technician_id"] || status != "offered" {
		t.Fatalf("the other job: technician %v, %s; want offered to the other technician", tech, status)
	}
	for _, j := range []map[string]any{bad, good} {
		if n := b.auditCount("job", j["id"], "expired"); n != 1 {
			t.Fatalf("job %v: %d expiry events, want 1", j["id"], n)
		}
	}
}
