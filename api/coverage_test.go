package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// TestBookingsOutsideEveryServiceAreaRefused: bookings at a pole, on the antimeridian or in a city
// nobody serves used to be accepted (201) and sit unassignable forever. An address is served when
// an active technician covers it: inside their service area, or, without one, within the
// candidate search's reach (60 km) of where they are. Elsewhere the booking is refused, 422
// outside_service_area, and nothing is written.
func TestBookingsOutsideEveryServiceAreaRefused(t *testing.T) {
	b := setup(t)
	b.technician("lyon", []string{"washer"}, 45.76, 4.84)
	admin := b.token(dispatch.RoleAdmin, "admin")
	// A technician living in Lyon who covers one district of Marseille, by its H3 cells.
	marseille, err := geo.CellOf(geo.Point{Lat: 43.2965, Lng: 5.3698}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if r := b.do("POST", "/v1/technicians", admin, map[string]any{"subject": "south", "name": "Sud Tech", "skills": []string{"washer"},
		"home": map[string]any{"lat": 45.75, "lng": 4.85}, "time_zone": "Europe/Paris", "service_area": []string{marseille.String()}}); r.Status != 201 {
		t.Fatalf("technician with an area: %d %s", r.Status, r.Body)
	}
	// An inactive one in Paris serves nobody.
	if r := b.do("POST", "/v1/technicians", admin, map[string]any{"name": "Paris Tech", "skills": []string{"washer"}, "active": false,
		"home": map[string]any{"lat": 48.86, "lng": 2.35}, "time_zone": "Europe/Paris"}); r.Status != 201 {
		t.Fatalf("inactive technician: %d %s", r.Status, r.Body)
	}
	cust := b.token(dispatch.RoleCustomer, "pole")
	at := func(lat, lng float64) map[string]any {
		m := washerBooking(nil)
		m["location"] = map[string]any{"lat": lat, "lng": lng}
		return m
	}
	for _, p := range []struct {
		name     string
		lat, lng float64
	}{{"north pole", 90, 0}, {"south pole", -90, 45}, {"antimeridian", -17.8, 180}, {"antimeridian west", 52.0, -180},
		{"Paris, whose technician is inactive", 48.8566, 2.3522}, {"Marseille outside the covered district", 43.33, 5.42},
		{"80 km from Lyon", 45.76, 5.86}} {
		r := b.do("POST", "/v1/bookings", cust, at(p.lat, p.lng))
		wantProblem(t, r, 422, "outside_service_area")
		if !strings.Contains(string(r.Body), "service area") {
			t.Errorf("%s: the refusal does not say why: %s", p.name, r.Body)
		}
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	body := at(90, 0)
	body["customer_sub"] = "pole"
	wantProblem(t, b.do("POST", "/v1/bookings", disp, body), 422, "outside_service_area")
	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM bookings").Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused bookings wrote %d rows (%v)", n, err)
	}
	for _, p := range []struct {
		name     string
		lat, lng float64
	}{{"Lyon", 45.764, 4.8357}, {"40 km from Lyon", 45.76, 5.35}, {"the covered district of Marseille", 43.2965, 5.3698}} {
		if r := b.do("POST", "/v1/bookings", cust, at(p.lat, p.lng)); r.Status != 201 {
			t.Fatalf("%s: %d %s", p.name, r.Status, r.Body)
		}
	}
	// Across the antimeridian: a technician in Fiji serves the island on the other side of it.
	if r := b.do("POST", "/v1/technicians", admin, map[string]any{"name": "Fiji Tech", "skills": []string{"washer"},
		"home": map[string]any{"lat": -16.8, "lng": 179.95}, "time_zone": "Pacific/Fiji"}); r.Status != 201 {
		t.Fatalf("Fiji technician: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/v1/bookings", cust, at(-16.8, -179.9)); r.Status != 201 {
		t.Fatalf("across the antimeridian: %d %s", r.Status, r.Body)
	}
}

// TestListLengthsCapped: parts_used took 30,000 entries. Lists are capped: 100 parts (and a sku
// of at most 100 characters), 100 weekly shifts, 50 skills; beyond, 400 with the list's code.
func TestListLengthsCapped(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	job := jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "c"), washerBooking(nil)).json(t))
	path := fmt.Sprintf("/v1/jobs/%v", job["id"])
	for _, s := range []string{"accept", "status:en_route", "status:on_site"} {
		verb, status, _ := strings.Cut(s, ":")
		var body any
		if status != "" {
			body = map[string]any{"status": status}
		}
		if r := b.do("POST", path+"/"+verb, tech, body); r.Status != 200 {
			t.Fatalf("%s: %d %s", s, r.Status, r.Body)
		}
	}
	parts := func(n int, sku string) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"sku": sku, "quantity": 1}
		}
		return out
	}
	done := func(ps []any) map[string]any {
		return map[string]any{"status": "completed", "outcome": "fixed", "parts_used": ps}
	}
	wantProblem(t, b.do("POST", path+"/status", tech, done(parts(30000, "BELT"))), 400, "too_many_parts")
	wantProblem(t, b.do("POST", path+"/status", tech, done(parts(101, "BELT"))), 400, "too_many_parts")
	wantProblem(t, b.do("POST", path+"/status", tech, done(parts(1, strings.Repeat("S", 101)))), 400, "invalid_part")
	if r := b.do("POST", path+"/status", tech, done(parts(100, "BELT"))); r.Status != 200 {
		t.Fatalf("100 parts: %d %s", r.Status, r.Body)
	}

	admin := b.token(dispatch.RoleAdmin, "admin")
	shifts := make([]any, 101)
	for i := range shifts {
		shifts[i] = map[string]any{"day": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}[i%7], "start": fmt.Sprintf("%02d:00", i/7), "end": fmt.Sprintf("%02d:30", i/7)}
	}
	tb := map[string]any{"name": "Many Shifts", "skills": []string{"washer"}, "home": map[string]any{"lat": 45.76, "lng": 4.84},
		"time_zone": "Europe/Paris", "weekly_shifts": shifts}
	wantProblem(t, b.do("POST", "/v1/technicians", admin, tb), 400, "too_many_shifts")
	skills := make([]string, 51)
	for i := range skills {
		skills[i] = "washer"
	}
	tb["weekly_shifts"], tb["skills"] = shifts[:7], skills
	wantProblem(t, b.do("POST", "/v1/technicians", admin, tb), 400, "too_many_skills")
}
