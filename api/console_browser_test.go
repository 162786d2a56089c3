package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
)

// consoleDay is a Friday at 08:00 in Paris, the dispatchers' zone in these tests.
var consoleDay = time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC)

// TestConsoleOpensOnTheDispatchersNow: at 00:30 in Paris on the 21st (still the 20th in UTC, and
// in the browser's own zone, UTC) the console opens on the 21st, the dispatchers' day, with the
// visit under way on the Gantt and the now line drawn at 00:30.
func TestConsoleOpensOnTheDispatchersNow(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC))
	nina := b.technician("nina", []string{"washer"}, 45.76, 4.84)
	// A night shift, so that a visit is under way at 00:30.
	b.do("PATCH", fmt.Sprintf("/v1/technicians/%d", nina), b.token(dispatch.RoleAdmin, "admin"), map[string]any{"weekly_shifts": []map[string]string{
		{"day": "fri", "start": "20:00", "end": "23:59"}, {"day": "sat", "start": "00:00", "end": "06:00"}}})
	job := jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), washerBooking(nil)).json(t))
	tech := b.token(dispatch.RoleTechnician, "nina")
	path := fmt.Sprintf("/v1/jobs/%v", job["id"])
	b.do("POST", path+"/accept", tech, nil)
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "en_route"}); r.Status != 200 {
		t.Fatalf("en route: %d %s", r.Status, r.Body)
	}
	_, ctx := browser(t, bin)
	var day, title, clock string
	var lineLeft, laneLeft, laneWidth float64
	var enRoute int
	if err := chromedp.Run(ctx,
		emulation.SetTimezoneOverride("UTC"),
		signIn(b.srv.URL, b.token(dispatch.RoleDispatcher, "disp")),
		chromedp.Value("#day", &day, chromedp.ByQuery),
		chromedp.Text("#day-title", &title, chromedp.ByQuery),
		chromedp.Text("#clock", &clock, chromedp.ByQuery),
		evalf(&enRoute, `document.querySelectorAll('#gantt .g-row[data-tech="%d"] .visit.en_route[data-job="%v"]').length`, nina, job["id"]),
		chromedp.Evaluate(`document.querySelector("#gantt .nowline").getBoundingClientRect().left`, &lineLeft),
		chromedp.Evaluate(`document.querySelector("#gantt .g-rows .g-lane").getBoundingClientRect().left`, &laneLeft),
		chromedp.Evaluate(`document.querySelector("#gantt .g-rows .g-lane").getBoundingClientRect().width`, &laneWidth),
	); err != nil {
		failShot(t, ctx, "console-now", err)
	}
	if day != "2026-11-21" || !strings.Contains(title, "21 November") || !strings.Contains(clock, "00:30") {
		t.Fatalf("the console opens on %s (%q, clock %q), want the dispatchers' 2026-11-21 at 00:30", day, title, clock)
	}
	if enRoute != 1 {
		t.Fatalf("the visit under way is not on nina's row")
	}
	// The axis starts at 00:00 (the night shift): 00:30 is a little right of the lane's start.
	if lineLeft <= laneLeft || lineLeft > laneLeft+laneWidth/4 {
		t.Fatalf("now line at x=%v, lane %v + %v", lineLeft, laneLeft, laneWidth)
	}
}

// TestConsoleDragReassigns: a visit dragged onto a colleague's visit is refused with what it
// clashes with (409); dragged to a free time it shows the warning (the colleague lacks the
// trade) before confirming, and once confirmed the job is theirs in the database. Screenshots of
// the board at 1440×900 are kept.
func TestConsoleDragReassigns(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	anna, bruno, washer, fridge := b.washerAndFridge()
	_, ctx := browser(t, bin)
	visit := fmt.Sprintf(`#gantt .g-row[data-tech="%d"] .visit[data-job="%v"]`, anna, washer["id"])
	// Where to grab the visit and where to drop it for a start at a time on bruno's row.
	points := func(start string) string {
		return fmt.Sprintf(`(() => {
  const v = document.querySelector(%q).getBoundingClientRect();
  const lane = document.querySelector('#gantt .g-row[data-tech="%d"] .g-lane').getBoundingClientRect();
  const [t0, t1] = FF.range, t = Date.parse(%q);
  return [v.left + 4, v.top + v.height / 2, lane.left + (t - t0) / (t1 - t0) * lane.width + 4, lane.top + lane.height / 2];
})()`, visit, bruno, start)
	}
	var p []float64
	var conflict string
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(1440, 900, 1, false),
		signIn(b.srv.URL, b.token(dispatch.RoleDispatcher, "disp")),
		chromedp.WaitVisible(visit, chromedp.ByQuery),
		chromedp.Evaluate(points(fridge["planned_start"].(string)), &p),
	); err != nil {
		failShot(t, ctx, "console-drag", err)
	}
	screenshot(t, ctx, "console-board-desktop.png")
	if err := chromedp.Run(ctx,
		drag(p[0], p[1], p[2], p[3]),
		chromedp.WaitVisible("#confirm .conflict", chromedp.ByQuery),
		chromedp.Text("#confirm .conflict", &conflict, chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-drag-409", err)
	}
	if !strings.Contains(conflict, "Clashes with "+fridge["reference"].(string)) {
		t.Fatalf("the 409 reads %q, want the clash with %v", conflict, fridge["reference"])
	}
	free := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	var warning string
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(wait,
		// the dialog is in the top layer: its buttons are clicked in the page
		chromedp.Evaluate(`document.getElementById("confirm-cancel").click()`, nil),
		chromedp.WaitNotVisible("#confirm", chromedp.ByQuery),
		chromedp.Evaluate(points(free.Format(time.RFC3339)), &p),
	); err != nil {
		failShot(t, ctx, "console-drag-cancel", err)
	}
	if err := chromedp.Run(wait,
		drag(p[0], p[1], p[2], p[3]), // p as just read: the action takes its values when it is made
		chromedp.WaitVisible(`#confirm li[data-code="skill_mismatch"]`, chromedp.ByQuery),
		chromedp.Text(`#confirm li[data-code="skill_mismatch"]`, &warning, chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-drag-warning", err)
	}
	if !strings.Contains(warning, "lacks washer") {
		t.Fatalf("the warning reads %q", warning)
	}
	// Nothing is written before the dispatcher confirms.
	var tech int64
	var start time.Time
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id FROM jobs WHERE id = $1", washer["id"]).Scan(&tech); err != nil || tech != anna {
		t.Fatalf("before confirming the job is with %d (%v)", tech, err)
	}
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(`document.getElementById("confirm-reason").value = "bruno knows this model"; document.getElementById("confirm-ok").click()`, nil),
		chromedp.WaitVisible(fmt.Sprintf(`#gantt .g-row[data-tech="%d"] .visit[data-job="%v"]`, bruno, washer["id"]), chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-drag-confirm", err)
	}
	var pinned bool
	var reason string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, planned_start, pinned FROM jobs WHERE id = $1", washer["id"]).Scan(&tech, &start, &pinned); err != nil {
		t.Fatal(err)
	}
	if tech != bruno || !start.Equal(free) || !pinned {
		t.Fatalf("in the database the job is with %d at %s pinned %v, want %d at %s pinned", tech, start, pinned, bruno, free)
	}
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT reason FROM audit_events WHERE entity = 'job' AND entity_id = $1 AND action = 'assigned' ORDER BY id DESC LIMIT 1", washer["id"]).Scan(&reason); err != nil || reason != "bruno knows this model" {
		t.Fatalf("audited reason %q (%v)", reason, err)
	}
}

// TestConsoleKeyboardAndLive: a visit is moved to another technician from the keyboard alone;
// a change made elsewhere (another dispatcher through the API) arrives live and redraws only
// the rows it touches; the job panel shows the visit and only the actions its state allows.
func TestConsoleKeyboardAndLive(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	anna := b.technician("anna", []string{"washer"}, 45.76, 4.84)
	bruno := b.technician("bruno", []string{"washer"}, 45.70, 4.90)
	carla := b.technician("carla", []string{"washer"}, 45.80, 4.80)
	cust := b.token(dispatch.RoleCustomer, "cust")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if job["technician_id"] != float64(anna) {
		t.Fatalf("planned to %v", job["technician_id"])
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	_, ctx := browser(t, bin)
	visit := func(tech int64) string {
		return fmt.Sprintf(`#gantt .g-row[data-tech="%d"] .visit[data-job="%v"]`, tech, job["id"])
	}
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(1440, 900, 1, false),
		signIn(b.srv.URL, disp),
		chromedp.WaitVisible(visit(anna), chromedp.ByQuery),
		chromedp.Focus(visit(anna), chromedp.ByQuery),
		chromedp.KeyEvent("m"),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.ArrowRight), // a quarter of an hour later
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible("#confirm", chromedp.ByQuery),
		chromedp.KeyEvent(kb.Enter), // the confirm button has the focus
		chromedp.WaitVisible(visit(bruno), chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-keyboard", err)
	}
	var tech int64
	var start time.Time
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, planned_start FROM jobs WHERE id = $1", job["id"]).Scan(&tech, &start); err != nil {
		t.Fatal(err)
	}
	was, _ := time.Parse(time.RFC3339, job["planned_start"].(string))
	if tech != bruno || !start.Equal(was.Add(15*time.Minute)) {
		t.Fatalf("after the keyboard move the job is with %d at %s, want %d about %s", tech, start, bruno, was.Add(15*time.Minute))
	}

	// Live: another dispatcher takes the visit off bruno through the API.
	if err := chromedp.Run(ctx, evalf(nil, `window.carlaRow = document.querySelector('#gantt .g-row[data-tech="%d"]'); window.gantt = document.querySelector("#gantt .g-rows"); window.loadedAt = document.body.dataset.loaded`, carla)); err != nil {
		t.Fatal(err)
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/unassign", job["id"]), disp, map[string]any{"reason": "customer called"}); r.Status != 200 {
		t.Fatalf("unassign: %d %s", r.Status, r.Body)
	}
	var kept bool
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(wait,
		chromedp.WaitVisible(fmt.Sprintf(`#unassigned li[data-job="%v"]`, job["id"]), chromedp.ByQuery),
		chromedp.WaitNotPresent(visit(bruno), chromedp.ByQuery),
		evalf(&kept, `window.carlaRow === document.querySelector('#gantt .g-row[data-tech="%d"]') && window.gantt === document.querySelector("#gantt .g-rows") && window.loadedAt === document.body.dataset.loaded`, carla),
	); err != nil {
		failShot(t, ctx, "console-live", err)
	}
	if !kept {
		t.Fatal("the live change redrew the whole board, not only what changed")
	}

	// The panel of the now unassigned visit: its facts, Assign, and no Unassign or Pin.
	var facts string
	var buttons []string
	if err := chromedp.Run(ctx,
		chromedp.Click(fmt.Sprintf(`#unassigned li[data-job="%v"]`, job["id"]), chromedp.ByQuery),
		chromedp.WaitVisible(fmt.Sprintf(`#panel .job-panel[data-job="%v"]`, job["id"]), chromedp.ByQuery),
		chromedp.Text("#panel .facts", &facts, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("#panel .actions button")].map((b) => b.textContent)`, &buttons),
		chromedp.WaitVisible("#panel .history li", chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-panel", err)
	}
	for _, want := range []string{"12 rue de la République", "the drum does not spin", "paid", "SLA due", "unassigned_by_dispatcher: customer called"} {
		if !strings.Contains(facts, want) {
			t.Fatalf("the panel lacks %q: %s", want, facts)
		}
	}
	if fmt.Sprint(buttons) != "[Assign…]" {
		t.Fatalf("an unassigned visit offers %v, want only Assign…", buttons)
	}
	screenshot(t, ctx, "console-job-panel.png")
}

// TestConsoleMapAndPhone: each technician's route on the map runs from home through the visits
// in the plan's order; at 390×844 the console is one column without horizontal scroll.
func TestConsoleMapAndPhone(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	b.technician("anna", []string{"washer"}, 45.76, 4.84)
	b.technician("bruno", []string{"washer"}, 45.74, 4.87)
	cust := b.token(dispatch.RoleCustomer, "cust")
	for i, at := range [][2]float64{{45.771, 4.83}, {45.745, 4.86}, {45.752, 4.842}, {45.766, 4.851}, {45.738, 4.88}} {
		req := washerBooking(nil)
		req["location"] = map[string]any{"lat": at[0], "lng": at[1]}
		req["address"] = fmt.Sprintf("%d rue de Lyon", i+1)
		if r := b.do("POST", "/v1/bookings", cust, req); r.Status != 201 {
			t.Fatalf("booking: %d %s", r.Status, r.Body)
		}
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	board := b.do("GET", "/v1/board", disp, nil).json(t)
	_, ctx := browser(t, bin)
	if err := chromedp.Run(ctx, signIn(b.srv.URL, disp), chromedp.Poll(`MapView.drawnRoute(FF.routes.keys().next().value) !== null`, nil)); err != nil {
		failShot(t, ctx, "console-map", err)
	}
	routes := 0
	for _, r := range board["routes"].([]any) {
		route := r.(map[string]any)
		tech := route["technician"].(map[string]any)
		home := tech["home"].(map[string]any)
		want := [][]float64{{home["lat"].(float64), home["lng"].(float64)}}
		for _, j := range route["jobs"].([]any) { // the board lists them by planned start: the visit order
			l := j.(map[string]any)["location"].(map[string]any)
			want = append(want, []float64{l["lat"].(float64), l["lng"].(float64)})
		}
		var got [][]float64
		if err := chromedp.Run(ctx, evalf(&got, `MapView.drawnRoute(%v) || []`, tech["id"])); err != nil {
			t.Fatal(err)
		}
		if len(want) == 1 {
			continue
		}
		routes++
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s's route on the map %v, want home then the visits in order %v", tech["name"], got, want)
		}
	}
	if routes == 0 {
		t.Fatal("no route to compare")
	}

	var width, client int
	var note string
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(390, 844, 1, true),
		chromedp.Reload(),
		chromedp.WaitVisible("body[data-loaded]", chromedp.ByQuery),
		chromedp.Evaluate(`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`, &width),
		chromedp.Evaluate(`document.documentElement.clientWidth`, &client),
		chromedp.Text("#map-note", &note, chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-phone", err)
	}
	if width > 390 || client != 390 {
		t.Fatalf("at 390 px the page is %d px wide (viewport %d): it scrolls sideways", width, client)
	}
	if !strings.Contains(note, "FIELDFIX_MAP_TILES") {
		t.Fatalf("without tiles the map says %q", note)
	}
	screenshot(t, ctx, "console-board-phone.png")
}

// TestConsoleAsksForAFreshTokenWhenItExpires: the server ends the live stream when the token
// expires (issue 19); the console then signs out and says why, rather than retrying a dead token.
func TestConsoleAsksForAFreshTokenWhenItExpires(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	_, ctx := browser(t, bin)
	token, err := api.IssueToken(secret, dispatch.RoleDispatcher, "disp", b.clock.Now(), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx,
		chromedp.Navigate(b.srv.URL+"/console"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", token, chromedp.ByQuery),
		chromedp.Click("#signin button", chromedp.ByQuery),
		chromedp.WaitVisible("#live.on", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var message, stored string
	if err := chromedp.Run(wait,
		chromedp.WaitVisible("#signin", chromedp.ByQuery),
		chromedp.Text("#messages", &message, chromedp.ByQuery),
		chromedp.Evaluate(`sessionStorage.getItem("fieldfix.token") || ""`, &stored),
	); err != nil {
		t.Fatalf("the console stayed signed in past the token's expiry: %v", err)
	}
	if !strings.Contains(message, "expired") || stored != "" {
		t.Fatalf("after expiry the page says %q and keeps the token %q", message, stored)
	}
}
