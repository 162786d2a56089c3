package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// TestBoardCarriesWhatTheConsoleDraws: the board says its zone and clock, each route its shifts
// for the day and each visit its booking's tier, SLA due time, place, customer and the drive
// before it; a list item its customer, trades and slack.
func TestBoardCarriesWhatTheConsoleDraws(t *testing.T) {
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC)) // 08:00 in Paris, a Friday
	anna := b.technician("anna", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "cust")
	req := washerBooking(nil)
	req["contact_name"] = "Zoé Martin"
	first := jobOf(t, b.do("POST", "/v1/bookings", cust, req).json(t))
	second := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	tv := washerBooking(nil)
	tv["appliance"] = "tv"
	tv["contact_name"] = "Paul Petit"
	b.do("POST", "/v1/bookings", cust, tv)

	disp := b.token(dispatch.RoleDispatcher, "disp")
	r := b.do("GET", "/v1/board", disp, nil)
	if r.Status != 200 {
		t.Fatalf("board: %d %s", r.Status, r.Body)
	}
	board := r.json(t)
	if board["time_zone"] != "Europe/Paris" || board["now"] != "2026-11-20T07:00:00Z" || board["day"] != "2026-11-20" {
		t.Fatalf("board zone %v now %v day %v", board["time_zone"], board["now"], board["day"])
	}
	route := board["routes"].([]any)[0].(map[string]any)
	if route["technician"].(map[string]any)["id"] != float64(anna) {
		t.Fatalf("first route is %v", route["technician"])
	}
	shifts := route["shifts"].([]any)
	if len(shifts) != 1 || shifts[0].(map[string]any)["start"] != "2026-11-20T07:00:00Z" || shifts[0].(map[string]any)["end"] != "2026-11-20T19:00:00Z" {
		t.Fatalf("shifts %v, want 08:00–20:00 Paris", shifts)
	}
	jobs := route["jobs"].([]any)
	if len(jobs) != 2 {
		t.Fatalf("%d visits on anna's route, want 2: %v", len(jobs), jobs)
	}
	v1, v2 := jobs[0].(map[string]any), jobs[1].(map[string]any)
	if v1["id"] != first["id"] || v2["id"] != second["id"] {
		t.Fatalf("route order %v, %v; want %v then %v", v1["id"], v2["id"], first["id"], second["id"])
	}
	if v1["customer_name"] != "Zoé Martin" || v1["tier"] != "paid" || v1["appliance"] != "washer" || v1["sla_due_at"] == nil ||
		v1["location"].(map[string]any)["lat"] != 45.764 || fmt.Sprint(v1["required_skills"]) != "[washer]" {
		t.Fatalf("first visit %v", v1)
	}
	// From home (45.76, 4.84) to 45.764, 4.8357: a few minutes; the second is at the same address.
	if m := v1["travel_minutes"].(float64); m < 1 || m > 30 {
		t.Fatalf("drive to the first visit %v min", m)
	}
	if v2["travel_minutes"] != float64(0) {
		t.Fatalf("drive between two visits at one address %v min", v2["travel_minutes"])
	}
	un := board["unassigned"].([]any)
	if len(un) != 1 {
		t.Fatalf("unassigned %v", un)
	}
	item := un[0].(map[string]any)
	due, _ := time.Parse(time.RFC3339, item["sla_due_at"].(string))
	if item["customer_name"] != "Paul Petit" || fmt.Sprint(item["required_skills"]) != "[tv]" || item["slack_minutes"] != float64(int(due.Sub(b.clock.Now())/time.Minute)) {
		t.Fatalf("unassigned item %v", item)
	}
}

// TestAssignDryRun: a dry run answers the assignment's warnings, or its conflict, and changes nothing.
func TestAssignDryRun(t *testing.T) {
	b := setup(t)
	b.clock.Set(time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC))
	anna, bruno, washer, fridge := b.washerAndFridge()
	disp := b.token(dispatch.RoleDispatcher, "disp")
	path := fmt.Sprintf("/v1/jobs/%v/assign", washer["id"])
	before := b.auditCount("job", washer["id"], "assigned")

	clash := b.do("POST", path, disp, map[string]any{"technician_id": bruno, "planned_start": fridge["planned_start"], "dry_run": true})
	wantProblem(t, clash, 409, "technician_double_booked")
	if clash.json(t)["clashing_job_id"] != fridge["id"] {
		t.Fatalf("the clash names %v, want the fridge visit %v", clash.json(t)["clashing_job_id"], fridge["id"])
	}
	later := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC).Format(time.RFC3339)
	r := b.do("POST", path, disp, map[string]any{"technician_id": bruno, "planned_start": later, "dry_run": true})
	if r.Status != 200 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	ans := r.json(t)
	if j := ans["job"].(map[string]any); j["technician_id"] != float64(bruno) || j["planned_start"] != later {
		t.Fatalf("the dry run proposes %v", j)
	}
	if ws := ans["warnings"].([]any); len(ws) == 0 || ws[0].(map[string]any)["code"] != "skill_mismatch" {
		t.Fatalf("warnings %v, want skill_mismatch first", ws)
	}
	var tech int64
	var start time.Time
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, planned_start FROM jobs WHERE id = $1", washer["id"]).Scan(&tech, &start); err != nil {
		t.Fatal(err)
	}
	if tech != anna || start.UTC().Format(time.RFC3339) != washer["planned_start"] || b.auditCount("job", washer["id"], "assigned") != before {
		t.Fatalf("after dry runs the job is with %d at %s (%d assignments audited, %d before)", tech, start, b.auditCount("job", washer["id"], "assigned"), before)
	}
	// The same call without dry_run makes it.
	r = b.do("POST", path, disp, map[string]any{"technician_id": bruno, "planned_start": later})
	if r.Status != 200 || jobOf(t, r.json(t))["technician_id"] != float64(bruno) {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
}

// washerAndFridge makes anna (washer) and bruno (fridge only) and books a visit of each trade:
// the washer visit is planned to anna, the fridge one to bruno.
func (b *testBundle) washerAndFridge() (anna, bruno int64, washer, fridge map[string]any) {
	b.t.Helper()
	anna = b.technician("anna", []string{"washer"}, 45.76, 4.84)
	bruno = b.technician("bruno", []string{"fridge"}, 45.75, 4.85)
	cust := b.token(dispatch.RoleCustomer, "cust")
	washer = jobOf(b.t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(b.t))
	req := washerBooking(nil)
	req["appliance"] = "fridge"
	fridge = jobOf(b.t, b.do("POST", "/v1/bookings", cust, req).json(b.t))
	if washer["technician_id"] != float64(anna) || fridge["technician_id"] != float64(bruno) {
		b.t.Fatalf("planned to %v and %v", washer["technician_id"], fridge["technician_id"])
	}
	return anna, bruno, washer, fridge
}

// TestCapacityPerDayAndTrade: GET /v1/capacity counts each day's shift hours less time off, per
// trade (a technician with two trades in both) and in total (once), against the visits' planned
// hours on the routes, per the trade they need; bad input is a problem, not a 500.
func TestCapacityPerDayAndTrade(t *testing.T) {
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay) // Friday 2026-11-20, 08:00 in Paris
	b.technician("anna", []string{"washer"}, 45.76, 4.84)
	b.technician("bruno", []string{"fridge"}, 45.75, 4.85)
	carla := b.technician("carla", []string{"fridge", "washer"}, 45.77, 4.83)
	cust := b.token(dispatch.RoleCustomer, "cust")
	washer := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	start, _ := time.Parse(time.RFC3339, washer["planned_start"].(string))
	end, _ := time.Parse(time.RFC3339, washer["planned_end"].(string))
	visit := end.Sub(start).Hours()
	disp := b.token(dispatch.RoleDispatcher, "disp")
	// Carla is off on Saturday from 12:00 to 16:00 in Paris.
	if r := b.do("POST", fmt.Sprintf("/v1/technicians/%d/unavailable", carla), disp, map[string]any{
		"from": "2026-11-21T11:00:00Z", "until": "2026-11-21T15:00:00Z", "reason": "dentist"}); r.Status != 200 {
		t.Fatalf("unavailable: %d %s", r.Status, r.Body)
	}
	r := b.do("GET", "/v1/capacity", disp, nil)
	if r.Status != 200 {
		t.Fatalf("capacity: %d %s", r.Status, r.Body)
	}
	days := r.json(t)["days"].([]any)
	if len(days) != 7 {
		t.Fatalf("%d days, want 7", len(days))
	}
	type tr struct {
		avail, booked float64
		techs, visits float64
	}
	read := func(i int) (string, tr, map[string]tr) {
		d := days[i].(map[string]any)
		trades := map[string]tr{}
		for _, x := range d["trades"].([]any) {
			m := x.(map[string]any)
			trades[m["trade"].(string)] = tr{m["available_hours"].(float64), m["booked_hours"].(float64), m["technicians"].(float64), m["visits"].(float64)}
		}
		return d["day"].(string), tr{d["available_hours"].(float64), d["booked_hours"].(float64), d["technicians"].(float64), d["visits"].(float64)}, trades
	}
	day, total, trades := read(0)
	if day != "2026-11-20" || total != (tr{36, visit, 3, 1}) {
		t.Fatalf("friday %s: %+v, want 36 h available, %v booked, 3 technicians, 1 visit", day, total, visit)
	}
	if trades["washer"] != (tr{24, visit, 2, 1}) || trades["fridge"] != (tr{24, 0, 2, 0}) {
		t.Fatalf("friday's trades %+v", trades)
	}
	day, total, trades = read(1)
	if day != "2026-11-21" || total != (tr{32, 0, 3, 0}) || trades["washer"] != (tr{20, 0, 2, 0}) || trades["fridge"] != (tr{20, 0, 2, 0}) {
		t.Fatalf("saturday %s: %+v %+v, want carla's 4 h off out of both her trades", day, total, trades)
	}
	if d, _, _ := read(6); d != "2026-11-26" {
		t.Fatalf("the seventh day is %s", d)
	}
	if r := b.do("GET", "/v1/capacity?from=2026-11-21&days=1", disp, nil); len(r.json(t)["days"].([]any)) != 1 {
		t.Fatalf("one day from saturday: %s", r.Body)
	}
	wantProblem(t, b.do("GET", "/v1/capacity?days=0", disp, nil), 400, "out_of_range")
	wantProblem(t, b.do("GET", "/v1/capacity?days=32", disp, nil), 400, "out_of_range")
	wantProblem(t, b.do("GET", "/v1/capacity?from=21/11/2026", disp, nil), 400, "invalid_date")
	wantProblem(t, b.do("GET", "/v1/capacity?region=lyon", disp, nil), 400, "invalid_region")
	wantProblem(t, b.do("GET", "/v1/capacity?trade=washer", disp, nil), 400, "unknown_filter")
	wantProblem(t, b.do("GET", "/v1/capacity", cust, nil), 403, "forbidden_role")
}

// TestBookingMessagesForTheJobPanel: GET /v1/bookings/{id}/messages lists what the booking's
// customer and technician were told, newest first, and nothing about other bookings.
func TestBookingMessagesForTheJobPanel(t *testing.T) {
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	b.technician("anna", []string{"washer"}, 45.76, 4.84)
	b.technician("bruno", []string{"fridge"}, 45.75, 4.85)
	booking := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), washerBooking(nil)).json(t)
	other := washerBooking(nil)
	other["appliance"] = "fridge"
	b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "kim"), other)
	disp := b.token(dispatch.RoleDispatcher, "disp")
	path := fmt.Sprintf("/v1/bookings/%v/messages", booking["id"])
	r := b.do("GET", path, disp, nil)
	if r.Status != 200 {
		t.Fatalf("messages: %d %s", r.Status, r.Body)
	}
	items := r.json(t)["items"].([]any)
	to := map[string]bool{}
	lastID := 1e18
	for _, x := range items {
		m := x.(map[string]any)
		if m["booking_id"] != booking["id"] {
			t.Fatalf("a message about booking %v: %v", m["booking_id"], m)
		}
		if id := m["id"].(float64); id >= lastID {
			t.Fatalf("not newest first: %v after %v", id, lastID)
		} else {
			lastID = id
		}
		to[fmt.Sprint(m["recipient_kind"], ":", m["recipient_subject"], ":", m["kind"])] = true
		if _, ok := m["pushes"].(map[string]any)["delivered"]; !ok {
			t.Fatalf("no push counts: %v", m)
		}
	}
	if !to["customer:cust:received"] || !to["technician:anna:offer"] || len(to) != len(items) {
		t.Fatalf("messages %v, want the customer's received and anna's offer", to)
	}
	wantProblem(t, b.do("GET", "/v1/bookings/999999/messages", disp, nil), 404, "booking_not_found")
	wantProblem(t, b.do("GET", path+"?kind=offer", disp, nil), 400, "unknown_filter")
	wantProblem(t, b.do("GET", path, b.token(dispatch.RoleCustomer, "cust"), nil), 403, "forbidden_role")
}

// TestServiceAreasLayer: GET /v1/geo/areas draws a technician's service area by its cells (each
// once, with whose it is) and, for one without an area, the reach around where they are; it
// keeps to the region's technicians.
func TestServiceAreasLayer(t *testing.T) {
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	admin := b.token(dispatch.RoleAdmin, "admin")
	bruno := b.technician("bruno", []string{"fridge"}, 45.761, 4.841)
	east, _ := geo.CellOf(geo.Point{Lat: 45.76, Lng: 4.90}, 7)
	west, _ := geo.CellOf(geo.Point{Lat: 45.76, Lng: 4.80}, 7)
	area := func(sub string, cells ...geo.Cell) float64 {
		ids := []string{}
		for _, c := range cells {
			ids = append(ids, c.String())
		}
		r := b.do("POST", "/v1/technicians", admin, map[string]any{"subject": sub, "name": sub, "skills": []string{"washer"},
			"home": map[string]any{"lat": 45.76, "lng": 4.84}, "time_zone": "Europe/Paris", "service_area": ids})
		if r.Status != 201 {
			t.Fatalf("technician %s: %d %s", sub, r.Status, r.Body)
		}
		return r.json(t)["id"].(float64)
	}
	anna := area("anna", east, west)
	carla := area("carla", east)
	paris := b.technician("paris", []string{"washer"}, 48.85, 2.35)
	lyon, _ := geo.RegionOf(geo.Point{Lat: 45.76, Lng: 4.84}) // the region of anna's, carla's and bruno's homes
	disp := b.token(dispatch.RoleDispatcher, "disp")
	r := b.do("GET", "/v1/geo/areas?region="+lyon.String(), disp, nil)
	if r.Status != 200 {
		t.Fatalf("areas: %d %s", r.Status, r.Body)
	}
	got := map[string]string{}
	for _, x := range r.json(t)["features"].([]any) {
		f := x.(map[string]any)
		p, g := f["properties"].(map[string]any), f["geometry"].(map[string]any)
		key := fmt.Sprint(p["cell"])
		if g["type"] == "Point" {
			key = fmt.Sprint("reach ", p["technician_ids"])
		}
		got[key] = fmt.Sprint(g["type"], " ", p["technician_ids"], " ", p["radius_km"])
		if g["type"] == "Point" && fmt.Sprint(g["coordinates"]) != "[4.841 45.761]" {
			t.Fatalf("bruno's reach is around %v, want his home [4.841 45.761]", g["coordinates"])
		}
	}
	want := map[string]string{
		east.String():                     fmt.Sprintf("Polygon [%v %v] <nil>", anna, carla),
		west.String():                     fmt.Sprintf("Polygon [%v] <nil>", anna),
		fmt.Sprint("reach [", bruno, "]"): fmt.Sprintf("Point [%v] 60", bruno),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("areas %v, want %v (not paris %d, based elsewhere)", got, want, paris)
	}
	wantProblem(t, b.do("GET", "/v1/geo/areas?region=lyon", disp, nil), 400, "invalid_region")
	wantProblem(t, b.do("GET", "/v1/board?region="+lyon.String()+",lyon", disp, nil), 400, "invalid_region")
	// Two regions: Paris's technician joins (without an area: his reach).
	parisRegion, _ := geo.RegionOf(geo.Point{Lat: 48.85, Lng: 2.35})
	if n := len(b.do("GET", "/v1/geo/areas?region="+lyon.String()+","+parisRegion.String(), disp, nil).json(t)["features"].([]any)); n != 4 {
		t.Fatalf("two regions: %d features, want 4", n)
	}
	wantProblem(t, b.do("GET", "/v1/geo/areas?near=1", disp, nil), 400, "unknown_filter")
	wantProblem(t, b.do("GET", "/v1/geo/areas", b.token(dispatch.RoleTechnician, "anna"), nil), 403, "forbidden_role")
}
