package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// TestPickupStopInTheLiveRoute: a job requires a part no van holds but a warehouse does. The
// planner sends a technician past the warehouse first: the job names it, the part is reserved
// there in the same transaction, and the route (board), the technician's day and the ETA show the
// pick-up with its time — the drive to the warehouse, ten minutes there, the drive on, every leg
// at its hour. Visits booked afterwards fit around it without overlapping its drives. The
// technician's pick-up moves the part to the van (a transfer on the ledger) in one transaction,
// once; the stop then leaves the route.
func TestPickupStopInTheLiveRoute(t *testing.T) {
	b := setup(t)
	techID, wh, first := b.pickupScenario()
	home, whPoint := geo.Point{Lat: 45.76, Lng: 4.84}, geo.Point{Lat: 45.70, Lng: 4.90}
	cust := b.token(dispatch.RoleCustomer, "cust")
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	directStart := timeOf(t, first["planned_start"])

	r := b.requireParts(first["id"], map[string]any{"sku": "PMP-7", "quantity": 1})
	if r.Status != 200 {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	job := r.json(t)["job"].(map[string]any)
	if num(job, "technician_id") != techID || num(job, "pickup_location_id") != wh {
		t.Fatalf("the job should go to the technician past the warehouse %d: %v", wh, job)
	}
	if on, res := b.onHand(fmt.Sprint(wh), "PMP-7"); on != 1 || res != 1 {
		t.Fatalf("the warehouse holds %d, reserved %d; want 1 reserved for the job", on, res)
	}
	// It stayed its technician's: moved, not withdrawn and offered to them again.
	var offers int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM offers WHERE job_id = $1", num(first, "id")).Scan(&offers); err != nil || offers != 1 {
		t.Fatalf("%d offers of the job (%v), want the one it had", offers, err)
	}
	for _, n := range b.do("GET", "/v1/technicians/me/inbox", tech, nil).json(t)["items"].([]any) {
		if n := n.(map[string]any); n["kind"] == "cancellation" {
			t.Fatalf("the technician was told the visit was taken away: %v", n)
		}
	}
	model := geo.DefaultTravelModel()
	customer := geo.Point{Lat: 45.764, Lng: 4.8357}
	start := timeOf(t, job["planned_start"])
	now := b.clock.Now()
	viaWarehouse := now.Add(model.Duration(home, whPoint, now))
	viaWarehouse = viaWarehouse.Add(dispatch.PickupDuration)
	viaWarehouse = viaWarehouse.Add(model.Duration(whPoint, customer, viaWarehouse))
	if start.Before(viaWarehouse.Add(-time.Minute)) || !start.After(directStart) {
		t.Fatalf("planned start %s: not after the drive past the warehouse (%s), or not later than straight there (%s)", start, viaWarehouse, directStart)
	}

	// Three more visits for the same technician, booked after it: none may sit in the pick-up's drives.
	for range 3 {
		if r := b.do("POST", "/v1/bookings", cust, washerBooking(nil)); r.Status != 201 {
			t.Fatalf("booking: %d %s", r.Status, r.Body)
		}
	}
	route := b.boardRoute(techID)
	var pickup map[string]any
	type stop struct {
		at         geo.Point
		start, end time.Time
	}
	stops := []stop{{home, now, now}}
	for _, it := range route {
		v := it.(map[string]any)
		if p, ok := v["pickup"].(map[string]any); ok {
			if v["id"] != first["id"] {
				t.Fatalf("a pick-up on another visit: %v", v)
			}
			pickup = p
			loc := p["location"].(map[string]any)
			stops = append(stops, stop{geo.Point{Lat: loc["lat"].(float64), Lng: loc["lng"].(float64)}, timeOf(t, p["start"]), timeOf(t, p["end"])})
		}
		loc := v["location"].(map[string]any)
		stops = append(stops, stop{geo.Point{Lat: loc["lat"].(float64), Lng: loc["lng"].(float64)}, timeOf(t, v["planned_start"]), timeOf(t, v["planned_end"])})
	}
	if pickup == nil || num(pickup, "location_id") != wh || pickup["name"] != "Dépôt Vénissieux" {
		t.Fatalf("the route shows no pick-up at the warehouse: %v", route)
	}
	if ps, pe := timeOf(t, pickup["start"]), timeOf(t, pickup["end"]); pe.Sub(ps) != dispatch.PickupDuration || pe.After(start) {
		t.Fatalf("pick-up %s–%s before the visit at %s", ps, pe, start)
	}
	if len(stops) != 6 {
		t.Fatalf("%d stops on the route, want home, the pick-up and four visits: %v", len(stops), route)
	}
	for i := 1; i < len(stops); i++ {
		prev, s := stops[i-1], stops[i]
		if arrive := prev.end.Add(model.Duration(prev.at, s.at, prev.end)); s.start.Before(arrive.Add(-time.Minute)) {
			t.Fatalf("stop %d starts at %s, before the drive from the one before can arrive (%s): %v", i, s.start, arrive, route)
		}
	}

	// The technician's day shows the pick-up; before the visit is accepted it cannot be made.
	var agendaPickup any
	for _, it := range b.do("GET", "/v1/technicians/me/jobs", tech, nil).json(t)["items"].([]any) {
		if it := it.(map[string]any); it["job"].(map[string]any)["id"] == first["id"] {
			agendaPickup = it["pickup"]
		}
	}
	if p, ok := agendaPickup.(map[string]any); !ok || num(p, "location_id") != wh {
		t.Fatalf("the technician's day shows no pick-up: %v", agendaPickup)
	}
	path := fmt.Sprintf("/v1/jobs/%v", first["id"])
	wantProblem(t, b.do("POST", path+"/pickup", tech, nil), 409, "not_accepted")
	if r := b.do("POST", path+"/accept", tech, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "en_route", "location": map[string]any{"lat": home.Lat, "lng": home.Lng}}); r.Status != 200 {
		t.Fatalf("en route: %d %s", r.Status, r.Body)
	}
	eta := func() time.Time {
		return timeOf(t, b.do("GET", fmt.Sprintf("/v1/bookings/%v", first["booking_id"]), cust, nil).json(t)["eta"])
	}
	if got := eta(); got.Before(viaWarehouse.Add(-time.Minute)) {
		t.Fatalf("en route with the pick-up to make, the ETA %s is before the drive past the warehouse %s", got, viaWarehouse)
	}

	// Another technician cannot pick it up; its own technician does, once.
	b.technician("tech-b", []string{"washer"}, 45.75, 4.85)
	wantProblem(t, b.do("POST", path+"/pickup", b.token(dispatch.RoleTechnician, "tech-b"), nil), 404, "job_not_found")
	r = b.do("POST", path+"/pickup", tech, nil)
	if r.Status != 200 {
		t.Fatalf("pick-up: %d %s", r.Status, r.Body)
	}
	if got := r.json(t)["job"].(map[string]any); got["picked_up_at"] == nil {
		t.Fatalf("picked up, the job says %v", got)
	}
	wantProblem(t, b.do("POST", path+"/pickup", tech, nil), 409, "no_pickup")
	if on, res := b.onHand(fmt.Sprint(wh), "PMP-7"); on != 0 || res != 0 {
		t.Fatalf("after the pick-up the warehouse holds %d (reserved %d)", on, res)
	}
	if on, res := b.onHand(fmt.Sprintf("van:%d", techID), "PMP-7"); on != 1 || res != 1 {
		t.Fatalf("after the pick-up the van holds %d (reserved %d), want 1 for the visit", on, res)
	}
	var transfers int
	if err := b.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM stock_moves WHERE kind = 'transfer' AND job_id = $1
		AND from_location = $2 AND to_location = (SELECT id FROM stock_locations WHERE technician_id = $3)`,
		num(first, "id"), wh, techID).Scan(&transfers); err != nil || transfers != 1 {
		t.Fatalf("%d transfers for the job on the ledger, want 1", transfers)
	}
	direct := b.clock.Now().Add(model.Duration(home, customer, b.clock.Now()))
	if got := eta(); got.After(direct.Add(time.Minute)) {
		t.Fatalf("picked up, the ETA %s still counts the warehouse (straight there: %s)", got, direct)
	}
	for _, it := range b.boardRoute(techID) {
		if _, ok := it.(map[string]any)["pickup"]; ok {
			t.Fatalf("a pick-up made is still on the route: %v", it)
		}
	}
}

// boardRoute is technician id's visits on today's board.
func (b *testBundle) boardRoute(id int64) []any {
	b.t.Helper()
	r := b.do("GET", "/v1/board", b.token(dispatch.RoleDispatcher, "disp"), nil)
	if r.Status != 200 {
		b.t.Fatalf("board: %d %s", r.Status, r.Body)
	}
	for _, rt := range r.json(b.t)["routes"].([]any) {
		rt := rt.(map[string]any)
		if num(rt["technician"].(map[string]any), "id") == id {
			return rt["jobs"].([]any)
		}
	}
	b.t.Fatalf("no route for technician %d", id)
	return nil
}

// pickupScenario: technician tech-a at home (45.76, 4.84), a warehouse some 8 km south-east of
// the customer holding the only PMP-7, and a booking placed on tech-a before it needs the part.
func (b *testBundle) pickupScenario() (techID, wh int64, first map[string]any) {
	b.t.Helper()
	b.catalogued(false, map[string]int64{"PMP-7": 3100})
	techID = b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	wh = b.warehouse("Dépôt Vénissieux", 45.70, 4.90)
	if r := b.move(dispatch.RoleDispatcher, "disp", map[string]any{"kind": "receive", "sku": "PMP-7", "quantity": 1, "to": fmt.Sprint(wh)}); r.Status != 201 {
		b.t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	return techID, wh, jobOf(b.t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), washerBooking(nil)).json(b.t))
}

// TestConsoleDrawsThePickup: the dispatcher's Gantt draws a pick-up stop before its visit, with
// the warehouse and its time (screenshot artifacts/console-pickup.png).
func TestConsoleDrawsThePickup(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	techID, _, first := b.pickupScenario()
	if r := b.requireParts(first["id"], map[string]any{"sku": "PMP-7", "quantity": 1}); r.Status != 200 {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	_, ctx := browser(t, bin)
	sel := fmt.Sprintf(`#gantt .g-row[data-tech="%d"] .pickup[data-pickup="%v"]`, techID, first["id"])
	var title string
	var order bool
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(1440, 900, 1, false),
		signIn(b.srv.URL, b.token(dispatch.RoleDispatcher, "disp")),
		chromedp.WaitVisible(sel, chromedp.ByQuery),
		chromedp.AttributeValue(sel, "title", &title, nil, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).getBoundingClientRect().right <=
			document.querySelector('#gantt .visit[data-job="%v"]').getBoundingClientRect().left + 1`, sel, first["id"]), &order),
	); err != nil {
		failShot(t, ctx, "console-pickup", err)
	}
	screenshot(t, ctx, "console-pickup.png")
	if !strings.Contains(title, "Dépôt Vénissieux") || !strings.Contains(title, first["reference"].(string)) {
		t.Fatalf("the pick-up reads %q", title)
	}
	if !order {
		t.Fatal("the pick-up is not drawn before its visit")
	}
}

// TestTwoJobsRaceForTheWarehousesLastUnit: two visits need the part only one warehouse holds, one
// unit; set at once, one is planned past the warehouse with the unit reserved there and the
// other waits (parts_unavailable): never both, never a negative or over-reserved stock.
func TestTwoJobsRaceForTheWarehousesLastUnit(t *testing.T) {
	b := setup(t)
	_, wh, first := b.pickupScenario()
	b.technician("tech-b", []string{"washer"}, 45.75, 4.85)
	second := jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust2"), washerBooking(nil)).json(t))
	answers := make(chan response, 2)
	for _, j := range []map[string]any{first, second} {
		go func() {
			answers <- b.do("PUT", fmt.Sprintf("/v1/jobs/%v/parts", j["id"]), b.token(dispatch.RoleDispatcher, "disp"),
				map[string]any{"parts": []any{map[string]any{"sku": "PMP-7", "quantity": 1}}})
		}()
	}
	withPickup, waiting := 0, 0
	for range 2 {
		r := <-answers
		if r.Status != 200 {
			t.Fatalf("require: %d %s", r.Status, r.Body)
		}
		job := r.json(t)["job"].(map[string]any)
		switch {
		case num(job, "pickup_location_id") == wh && job["technician_id"] != nil:
			withPickup++
		case job["technician_id"] == nil:
			waiting++
		default:
			t.Fatalf("a job neither past the warehouse nor waiting: %v", job)
		}
	}
	if withPickup != 1 || waiting != 1 {
		t.Fatalf("%d planned past the warehouse, %d waiting; want one each", withPickup, waiting)
	}
	if on, res := b.onHand(fmt.Sprint(wh), "PMP-7"); on != 1 || res != 1 {
		t.Fatalf("the warehouse holds %d, reserved %d; want its one unit reserved once", on, res)
	}
}

// TestTechAppPicksUpTheParts: the technician's app pulls a visit with its pick-up stop (the
// warehouse, where, when) and reports the pick-up as a queued act; sent again (a phone that lost
// the answer) it is already applied, and the part is in the van once.
func TestTechAppPicksUpTheParts(t *testing.T) {
	b := setup(t)
	techID, wh, first := b.pickupScenario()
	if r := b.requireParts(first["id"], map[string]any{"sku": "PMP-7", "quantity": 1}); r.Status != 200 {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	var pickup map[string]any
	for _, j := range b.pull(tech, "")["upserts"].(map[string]any)["jobs"].([]any) {
		if j := j.(map[string]any); j["id"] == first["id"] {
			pickup, _ = j["pickup"].(map[string]any)
		}
	}
	if pickup == nil || num(pickup, "location_id") != wh || pickup["name"] != "Dépôt Vénissieux" || pickup["start"] == nil {
		t.Fatalf("the app's visit has no pick-up: %v", pickup)
	}
	now := b.clock.Now()
	act := map[string]any{"key": "pick-1", "kind": "pickup", "job_id": first["id"], "occurred_at": now.Format(time.RFC3339)}
	res := b.syncPush(tech, now, map[string]any{"key": "acc-1", "kind": "accept", "job_id": first["id"]}, act)
	if res["acc-1"]["outcome"] != "applied" || res["pick-1"]["outcome"] != "applied" {
		t.Fatalf("accept and pick up: %v", res)
	}
	if again := b.syncPush(tech, now, act); again["pick-1"]["outcome"] != "already_applied" {
		t.Fatalf("the pick-up sent again: %v", again["pick-1"])
	}
	if on, res := b.onHand(fmt.Sprintf("van:%d", techID), "PMP-7"); on != 1 || res != 1 {
		t.Fatalf("the van holds %d (reserved %d) after the pick-up, want 1", on, res)
	}
	for _, j := range b.pull(tech, "")["upserts"].(map[string]any)["jobs"].([]any) {
		if j := j.(map[string]any); j["id"] == first["id"] && (j["pickup"] != nil || j["picked_up_at"] == nil) {
			t.Fatalf("picked up, the app's visit still shows the stop or no time: %v", j)
		}
	}
}

// TestTechAppShowsThePickup: at 390 px the technician's app shows the warehouse to pass before
// the visit, and its "Picked up" button moves the part to the van (screenshot
// artifacts/tech-pickup.png).
func TestTechAppShowsThePickup(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	techID, _, first := b.pickupScenario()
	if r := b.requireParts(first["id"], map[string]any{"sku": "PMP-7", "quantity": 1}); r.Status != 200 {
		t.Fatalf("require: %d %s", r.Status, r.Body)
	}
	_, ctx := browser(t, bin)
	id := num(first, "id")
	var line string
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(390, 844, 2, true),
		chromedp.Navigate(b.srv.URL+"/tech/"),
		visible("#token"),
		chromedp.SendKeys("#token", b.token(dispatch.RoleTechnician, "tech-a"), chromedp.ByID),
		tap("#signin button"),
		tap(fmt.Sprintf("#offer-%d .accept", id)),
		visible(fmt.Sprintf("#job-%d .pickup .picked", id)),
		textOf(fmt.Sprintf("#job-%d .pickup", id), &line),
	); err != nil {
		failShot(t, ctx, "tech-pickup", err)
	}
	phoneShot(t, ctx, "tech-pickup.png")
	if !strings.Contains(line, "Pick up parts at Dépôt Vénissieux") {
		t.Fatalf("the visit's pick-up reads %q", line)
	}
	if err := chromedp.Run(ctx, tap(fmt.Sprintf("#job-%d .pickup .picked", id))); err != nil {
		failShot(t, ctx, "tech-pickup-tap", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		on, res := b.onHand(fmt.Sprintf("van:%d", techID), "PMP-7")
		if on == 1 && res == 1 {
			break
		}
		if time.Now().After(deadline) {
			failShot(t, ctx, "tech-pickup-sent", fmt.Errorf("the van holds %d (reserved %d) 10 s after the tap", on, res))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
