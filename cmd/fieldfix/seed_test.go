package main

import (
	"context"
	"io"
	"testing"

	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestSeedIsABelievableDay: the demo city's bookings mix warranty, paid, an extended warranty and
// a return pickup, and the day is under way: visits waiting for an answer, confirmed, on the way,
// on site and done, with a fresh ping for each technician on the way.
func TestSeedIsABelievableDay(t *testing.T) {
	s := dbtest.New(t)
	vars := env(map[string]string{"DATABASE_URL": s.URL, "FIELDFIX_TIME_ZONE": "Europe/Paris"})
	if err := run(context.Background(), []string{"seed"}, vars, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := s.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	warranty, paid := count(`SELECT count(*) FROM bookings WHERE tier = 'warranty'`), count(`SELECT count(*) FROM bookings WHERE tier = 'paid'`)
	if warranty < 5 || paid < 5 || warranty+paid != 15 {
		t.Errorf("%d warranty and %d paid bookings, want a mix of 15", warranty, paid)
	}
	if n := count(`SELECT count(*) FROM bookings b JOIN purchases p ON p.id = b.purchase_id WHERE b.tier = 'warranty' AND p.extended_warranty_until IS NOT NULL`); n < 1 {
		t.Error("no booking under an extended warranty")
	}
	if n := count(`SELECT count(*) FROM bookings WHERE service_type = 'return_pickup'`); n != 1 {
		t.Errorf("%d return pickups, want 1", n)
	}
	for status, want := range map[string]int{"completed": 2, "on_site": 2, "en_route": 3} {
		if n := count(`SELECT count(*) FROM jobs WHERE status = '` + status + `'`); n != want {
			t.Errorf("%d jobs %s, want %d", n, status, want)
		}
	}
	if n := count(`SELECT count(*) FROM jobs WHERE status IN ('accepted', 'offered')`); n < 5 {
		t.Errorf("%d jobs confirmed or waiting for an answer", n)
	}
	if n := count(`SELECT count(DISTINCT t.id) FROM technicians t JOIN jobs j ON j.technician_id = t.id WHERE j.status = 'en_route' AND t.last_seen_at IS NOT NULL`); n != 3 {
		t.Errorf("%d technicians on the way have a position", n)
	}
	if n := count(`SELECT count(*) FROM notifications WHERE kind = 'received'`); n != 15 {
		t.Errorf("%d bookings told received", n)
	}
}

// TestSeedALargeFleet: a fleet larger than one page of technicians (the load benchmark seeds
// 3,000) is seeded with its day under way: the offered technicians beyond the first page were
// not found and the seed crashed.
func TestSeedALargeFleet(t *testing.T) {
	s := dbtest.New(t)
	vars := env(map[string]string{"DATABASE_URL": s.URL, "FIELDFIX_TIME_ZONE": "Europe/Paris"})
	if err := run(context.Background(), []string{"seed", "--technicians", "450"}, vars, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var techs, accepted int
	_ = s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM technicians").Scan(&techs)
	_ = s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM jobs WHERE accepted_at IS NOT NULL").Scan(&accepted)
	if techs != 450 || accepted == 0 {
		t.Fatalf("%d technicians, %d visits accepted", techs, accepted)
	}
}
