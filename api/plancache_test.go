package api_test

import (
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/geo"
)

// TestPlansFollowChangesMadeElsewhere: a replica keeps its candidates' plans in memory between
// bookings. A change it did not make — another replica's booking, time off or a deactivation
// written straight into the database (no notification, so its geo index still lags) — is seen by
// its very next booking.
func TestPlansFollowChangesMadeElsewhere(t *testing.T) {
	b := setup(t)
	ctx := t.Context()
	near := b.technician("tech-near", []string{"washer"}, 45.764, 4.8357)
	far := b.technician("tech-far", []string{"washer"}, 45.70, 4.90)
	if err := b.svc.LoadIndex(ctx); err != nil { // the harness runs no LISTEN to fill it
		t.Fatal(err)
	}
	book := func(sub string) map[string]any {
		t.Helper()
		r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, sub), washerBooking(nil))
		if r.Status != 201 {
			t.Fatalf("booking: %d %s", r.Status, r.Body)
		}
		return jobOf(t, r.json(t))
	}
	span := func(j map[string]any) (int64, time.Time, time.Time) {
		t.Helper()
		tech, ok := j["technician_id"].(float64)
		if !ok {
			t.Fatalf("job not planned: %v", j)
		}
		st, _ := time.Parse(time.RFC3339, j["planned_start"].(string))
		en, _ := time.Parse(time.RFC3339, j["planned_end"].(string))
		return int64(tech), st, en
	}

	// The API's replica books, and holds tech-near's plan.
	t1, st1, end1 := span(book("c1"))
	if t1 != near {
		t.Fatalf("first booking went to %d, want the nearest %d", t1, near)
	}
	// Another replica books the gap right after it.
	other := dispatch.NewService(postgres.New(b.db.Pool), dispatch.DefaultRules(), b.clock, nil)
	other.Index = geo.NewIndex()
	if err := other.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	req := dispatch.BookingRequest{ServiceType: "repair", Appliance: "washer", Problem: "leaks", Address: "Lyon",
		Location: dispatch.Location{Lat: 45.764, Lng: 4.8357}, Channel: "app"}
	bk2, _, err := other.CreateBooking(ctx, dispatch.Actor{Subject: "c2", Role: dispatch.RoleCustomer}, req, "", "")
	if err != nil {
		t.Fatal(err)
	}
	j2 := bk2.Jobs[0]
	if j2.TechnicianID == nil || *j2.TechnicianID != near || j2.PlannedStart.Before(end1) {
		t.Fatalf("other replica's booking: %+v", j2)
	}
	// The API's next booking comes after both (a plan that missed the other replica's job would
	// collide with it on every retry and be refused).
	t3, st3, _ := span(book("c3"))
	if t3 != near || st3.Before(*j2.PlannedEnd) {
		t.Fatalf("third booking on %d at %s, overlapping the other replica's job (%s–%s)", t3, st3, j2.PlannedStart, j2.PlannedEnd)
	}

	// Time off written in the database: tech-near is away for the next four days.
	if _, err := b.db.Pool.Exec(ctx, `INSERT INTO technician_time_off (technician_id, starts_at, ends_at, reason) VALUES ($1, $2, $3, 'sick')`,
		near, b.clock.Now(), b.clock.Now().Add(96*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if t4, _, _ := span(book("c4")); t4 != far {
		t.Fatalf("booking during tech-near's time off went to %d, want %d", t4, far)
	}
	// The time off withdrawn and tech-far deactivated, both in the database behind the geo
	// index's back: tech-near is the only one left, and free again.
	if _, err := b.db.Pool.Exec(ctx, `DELETE FROM technician_time_off WHERE technician_id = $1`, near); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE technicians SET active = false WHERE id = $1`, far); err != nil {
		t.Fatal(err)
	}
	if t5, _, _ := span(book("c5")); t5 != near {
		t.Fatalf("booking after the time off was withdrawn went to %d, want %d", t5, near)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE technicians SET active = (id = $1)`, far); err != nil {
		t.Fatal(err)
	}
	if t6, _, _ := span(book("c6")); t6 != far {
		t.Fatalf("booking after tech-near was deactivated went to %d, want %d", t6, far)
	}

	// Every job of tech-near cancelled elsewhere: its first gap is offered again.
	if _, err := b.db.Pool.Exec(ctx, `UPDATE technicians SET active = true`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE jobs SET status = 'cancelled' WHERE technician_id = $1`, near); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE bookings SET status = 'cancelled' WHERE id IN (SELECT booking_id FROM jobs WHERE technician_id = $1)`, near); err != nil {
		t.Fatal(err)
	}
	t7, st7, _ := span(book("c7"))
	if t7 != near || st7.After(st1.Add(time.Minute)) {
		t.Fatalf("after every job of tech-near was cancelled the booking went to %d at %s, want the first gap (%s)", t7, st7, st1)
	}
}
