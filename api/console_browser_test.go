package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
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
	// Nina arrives: her visit turns on site live, drawn from the event before its read.
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "on_site"}); r.Status != 200 {
		t.Fatalf("on site: %d %s", r.Status, r.Body)
	}
	var quick bool
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible(fmt.Sprintf(`#gantt .g-row[data-tech="%d"] .visit.on_site[data-job="%v"]`, nina, job["id"]), chromedp.ByQuery),
		chromedp.Poll(`performance.getEntriesByName("sse-read").length > 0`, nil),
		chromedp.Evaluate(`performance.getEntriesByName("sse-from-event").length === 1`, &quick),
	); err != nil {
		failShot(t, ctx, "console-now-live", err)
	}
	if !quick {
		t.Fatal("the arrival waited for the visit's read to be drawn")
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
		// what the customer and the technicians were told
		chromedp.WaitVisible(`#panel .messages li[data-kind="received"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#panel .messages li[data-kind="cancellation"]`, chromedp.ByQuery),
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

	// The waiting visit dragged from the list onto carla's row at 15:00, confirmed.
	at := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	// The panel's closing reflows the page: the points are read once it is gone, and read again
	// for another try when a drag lands before a late live update moved the list.
	if err := chromedp.Run(ctx, chromedp.Click("#panel-close", chromedp.ByQuery), chromedp.WaitNotVisible("#panel", chromedp.ByQuery)); err != nil {
		failShot(t, ctx, "console-panel-close", err)
	}
	var dropErr error
	for try := 0; try < 3; try++ {
		var p []float64
		if err := chromedp.Run(ctx, evalf(&p, `(() => {
  const li = document.querySelector('#unassigned li[data-job="%v"]');
  li.scrollIntoView({block: "nearest"});
  const r = li.getBoundingClientRect();
  const lane = document.querySelector('#gantt .g-row[data-tech="%d"] .g-lane').getBoundingClientRect();
  const [t0, t1] = FF.range, t = Date.parse(%q);
  return [r.left + 20, r.top + r.height / 2, lane.left + (t - t0) / (t1 - t0) * lane.width + 4, lane.top + lane.height / 2];
})()`, job["id"], carla, at.Format(time.RFC3339))); err != nil {
			failShot(t, ctx, "console-list-drag", err)
		}
		wait, cancel := context.WithTimeout(ctx, 8*time.Second)
		dropErr = chromedp.Run(wait, drag(p[0], p[1], p[2], p[3]), chromedp.WaitVisible("#confirm", chromedp.ByQuery))
		cancel()
		if dropErr == nil {
			break
		}
	}
	if dropErr == nil {
		dropErr = chromedp.Run(ctx,
			chromedp.Evaluate(`document.getElementById("confirm-ok").click()`, nil),
			chromedp.WaitVisible(visit(carla), chromedp.ByQuery))
	}
	if dropErr != nil {
		failShot(t, ctx, "console-list-drop", dropErr)
	}
	screenshot(t, ctx, "console-list-dropped.png")
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, planned_start FROM jobs WHERE id = $1", job["id"]).Scan(&tech, &start); err != nil {
		t.Fatal(err)
	}
	if tech != carla || !start.Equal(at) {
		t.Fatalf("dropped from the list, the job is with %d at %s, want %d at %s", tech, start, carla, at)
	}
}

// lyonDay books five washer visits around Lyon for two technicians based there, anna and bruno;
// it returns anna's id.
func (b *testBundle) lyonDay() int64 {
	anna := b.technician("anna", []string{"washer"}, 45.76, 4.84)
	b.technician("bruno", []string{"washer"}, 45.74, 4.87)
	cust := b.token(dispatch.RoleCustomer, "cust")
	for i, at := range [][2]float64{{45.771, 4.83}, {45.745, 4.86}, {45.752, 4.842}, {45.766, 4.851}, {45.738, 4.88}} {
		req := washerBooking(nil)
		req["location"] = map[string]any{"lat": at[0], "lng": at[1]}
		req["address"] = fmt.Sprintf("%d rue de Lyon", i+1)
		if r := b.do("POST", "/v1/bookings", cust, req); r.Status != 201 {
			b.t.Fatalf("booking: %d %s", r.Status, r.Body)
		}
	}
	return anna
}

// TestConsoleMapAndPhone: each technician's route on the map runs from home through the visits
// in the plan's order; at 390×844 the console is one column without horizontal scroll.
func TestConsoleMapAndPhone(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	anna := b.lyonDay()
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

	// The service areas layer, asked for: two technicians without an area, two reaches drawn.
	var areas int
	if err := chromedp.Run(ctx, chromedp.Click("#l-areas", chromedp.ByQuery), chromedp.WaitVisible("body[data-areas]", chromedp.ByQuery),
		chromedp.Evaluate(`Number(document.body.dataset.areas)`, &areas)); err != nil || areas != 2 {
		failShot(t, ctx, "console-areas", fmt.Errorf("%d areas drawn: %v", areas, err))
	}

	// A ping arrives live: the technician's dot moves, and nothing is read or redrawn for it.
	b.livePositions()
	if err := chromedp.Run(ctx, evalf(nil, `window.gantt = document.querySelector("#gantt .g-rows"); window.loadedAt = document.body.dataset.loaded; window.reads = performance.getEntriesByType("resource").length`)); err != nil {
		t.Fatal(err)
	}
	if r := b.do("PUT", "/v1/technicians/me/location", b.token(dispatch.RoleTechnician, "anna"), map[string]any{"lat": 45.7712, "lng": 4.8291}); r.Status != 200 {
		t.Fatalf("ping: %d %s", r.Status, r.Body)
	}
	var quiet bool
	if err := chromedp.Run(ctx,
		chromedp.Poll(fmt.Sprintf(`JSON.stringify(MapView.drawnPosition(%d)) === "[45.7712,4.8291]"`, anna), nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`window.gantt === document.querySelector("#gantt .g-rows") && window.loadedAt === document.body.dataset.loaded && performance.getEntriesByType("resource").length === window.reads`, &quiet),
	); err != nil {
		failShot(t, ctx, "console-ping", err)
	}
	if !quiet {
		t.Fatal("a ping made the console read or redraw more than the technician's dot")
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

	// A technician picked: their day comes under the map, above everyone's, still one column.
	var order []float64
	if err := chromedp.Run(ctx,
		evalf(nil, `document.querySelector('#gantt .g-row[data-tech="%d"] .tech').click()`, anna),
		chromedp.WaitVisible(fmt.Sprintf(`#panel .tech-panel[data-tech="%d"] .visits li`, anna), chromedp.ByQuery),
		chromedp.Evaluate(`[document.querySelector("#map-box").getBoundingClientRect().bottom, document.querySelector("#panel").getBoundingClientRect().top,
  document.querySelector("#panel").getBoundingClientRect().bottom, document.querySelector("#day-view").getBoundingClientRect().top,
  Math.max(document.documentElement.scrollWidth, document.body.scrollWidth), document.querySelector("#panel").getBoundingClientRect().top]`, &order),
	); err != nil {
		failShot(t, ctx, "console-phone-technician", err)
	}
	if !(order[0] <= order[1] && order[2] <= order[3]) || order[4] > 390 {
		t.Fatalf("on the phone: map ends at %v, the technician's day spans %v–%v, everyone's day starts at %v, page %v px wide", order[0], order[1], order[2], order[3], order[4])
	}
	if order[5] < -1 || order[5] > 844 {
		t.Fatalf("the technician's day is not in view (top at %v)", order[5])
	}
	screenshot(t, ctx, "console-technician-phone.png")
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

// TestConsoleFiltersCapacityAndTimeOff: the lists filter by tier and trade and search by
// reference, customer or technician; the 7-day capacity strip shows booked against available
// hours per day (and per trade under the trade filter) and opens a day; a technician is marked
// unavailable after a confirmation, and the message's Undo withdraws the time off.
func TestConsoleFiltersCapacityAndTimeOff(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay) // Friday 2026-11-20, 08:00 in Paris
	anna := b.technician("anna", []string{"washer"}, 45.76, 4.84)
	bruno := b.technician("bruno", []string{"fridge"}, 45.75, 4.85)
	cust := b.token(dispatch.RoleCustomer, "cust")
	washer := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	// Two visits nobody can do (no ac or tv technician): one under warranty, one paid.
	ac := b.salesRecord("kim", map[string]any{"category": "ac", "purchased_at": "2026-06-01", "warranty_months": 24})
	req := washerBooking(ac)
	req["appliance"], req["contact_name"] = "ac", "Zoé Martin"
	acJob := jobOf(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "kim"), req).json(t))
	req = washerBooking(nil)
	req["appliance"], req["contact_name"] = "tv", "Paul Petit"
	tvJob := jobOf(t, b.do("POST", "/v1/bookings", cust, req).json(t))
	disp := b.token(dispatch.RoleDispatcher, "disp")
	_, ctx := browser(t, bin)
	var got []float64
	listIs := func(step string, want ...any) {
		t.Helper()
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		js := fmt.Sprintf(`JSON.stringify([...document.querySelectorAll("#unassigned li")].map((li) => Number(li.dataset.job)).sort()) === JSON.stringify(%s)`, sortedJSON(want))
		if err := chromedp.Run(wait, chromedp.Poll(js, nil, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			_ = chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll("#unassigned li")].map((li) => Number(li.dataset.job))`, &got))
			t.Fatalf("%s: the unassigned list shows %v, want %v", step, got, want)
		}
	}
	pick := func(sel, value string) chromedp.Action {
		return evalf(nil, `(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event(s.type === "search" ? "input" : "change")); })()`, sel, value)
	}
	if err := chromedp.Run(ctx, emulation.SetDeviceMetricsOverride(1440, 900, 1, false), signIn(b.srv.URL, disp)); err != nil {
		failShot(t, ctx, "console-filters", err)
	}
	listIs("no filter", acJob["id"], tvJob["id"])
	steps := []struct {
		sel, value, step string
		want             []any
	}{
		{"#f-tier", "warranty", "tier warranty", []any{acJob["id"]}},
		{"#f-tier", "paid", "tier paid", []any{tvJob["id"]}},
		{"#f-tier", "", "every tier", []any{acJob["id"], tvJob["id"]}},
		{"#f-trade", "ac", "trade ac", []any{acJob["id"]}},
		{"#f-trade", "", "every trade", []any{acJob["id"], tvJob["id"]}},
		{"#search", "petit", "search a customer", []any{tvJob["id"]}},
		{"#search", strings.ToLower(acJob["reference"].(string)), "search a reference", []any{acJob["id"]}},
		{"#search", "", "no search", []any{acJob["id"], tvJob["id"]}},
	}
	for _, s := range steps {
		if err := chromedp.Run(ctx, pick(s.sel, s.value)); err != nil {
			t.Fatal(err)
		}
		listIs(s.step, s.want...)
	}
	// Searching a technician's name keeps only their row in the Gantt.
	var rows []float64
	if err := chromedp.Run(ctx, pick("#search", "anna"), chromedp.Poll(`document.querySelectorAll("#gantt .g-rows .g-row").length === 1`, nil),
		chromedp.Evaluate(`[...document.querySelectorAll("#gantt .g-rows .g-row")].map((r) => Number(r.dataset.tech))`, &rows), pick("#search", "")); err != nil || len(rows) != 1 || rows[0] != float64(anna) {
		t.Fatalf("searching anna leaves rows %v (%v)", rows, err)
	}

	// The strip: seven days from today; Friday's total, and the washer row under the trade filter.
	start, _ := time.Parse(time.RFC3339, washer["planned_start"].(string))
	end, _ := time.Parse(time.RFC3339, washer["planned_end"].(string))
	visit := fmt.Sprintf("%g", end.Sub(start).Hours())
	var days []string
	var total, washerRow string
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible("#capacity tr.total td", chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("#capacity thead th[data-day]")].map((th) => th.dataset.day)`, &days),
		chromedp.Text("#capacity tr.total td", &total, chromedp.ByQuery),
		pick("#f-trade", "washer"),
		chromedp.WaitVisible(`#capacity tr[data-trade="washer"] td`, chromedp.ByQuery),
		chromedp.Text(`#capacity tr[data-trade="washer"] td`, &washerRow, chromedp.ByQuery),
		pick("#f-trade", ""),
	); err != nil {
		failShot(t, ctx, "console-capacity", err)
	}
	if len(days) != 7 || days[0] != "2026-11-20" || days[6] != "2026-11-26" {
		t.Fatalf("the strip's days %v", days)
	}
	if total != visit+"/24" || washerRow != visit+"/12" {
		t.Fatalf("friday reads %q in total and %q for washers, want %s/24 and %s/12", total, washerRow, visit, visit)
	}
	var day string
	if err := chromedp.Run(ctx,
		chromedp.Click(`#capacity th[data-day="2026-11-21"] button`, chromedp.ByQuery),
		chromedp.Poll(`FF.day === "2026-11-21" && document.querySelector('#capacity th.sel').dataset.day === "2026-11-21"`, nil),
		chromedp.Value("#day", &day, chromedp.ByQuery),
		chromedp.Click(`#day-today`, chromedp.ByQuery),
		chromedp.Poll(`FF.day === "2026-11-20"`, nil),
	); err != nil || day != "2026-11-21" {
		failShot(t, ctx, "console-capacity-day", fmt.Errorf("day %q: %v", day, err))
	}

	// Anna unavailable from now for 24 h, confirmed: her visit goes; the strip loses her day.
	offs := func() (n int) {
		if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM technician_time_off WHERE technician_id = $1", anna).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(wait,
		chromedp.Click(fmt.Sprintf(`#gantt .g-row[data-tech="%d"] .tech`, anna), chromedp.ByQuery),
		chromedp.WaitVisible(fmt.Sprintf(`#panel .tech-panel[data-tech="%d"]`, anna), chromedp.ByQuery),
		chromedp.Click(`#panel .off-form button.danger`, chromedp.ByQuery),
		chromedp.WaitVisible("#confirm", chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-unavailable", err)
	}
	if offs() != 0 {
		t.Fatal("time off written before the dispatcher confirmed")
	}
	if err := chromedp.Run(wait,
		chromedp.Evaluate(`document.getElementById("confirm-reason").value = "van broke down"; document.getElementById("confirm-ok").click()`, nil),
		chromedp.WaitVisible(`#messages .warn button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#panel .time-off li[data-time-off]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(fmt.Sprintf(`#gantt .visit[data-job="%v"]`, washer["id"]), chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#capacity tr.total td").textContent === "0/12"`, nil),
	); err != nil {
		failShot(t, ctx, "console-unavailable-confirm", err)
	}
	if offs() != 1 {
		t.Fatal("no time off after confirming")
	}
	screenshot(t, ctx, "console-technician-panel.png")
	if err := chromedp.Run(wait,
		chromedp.Click(`#messages .warn button`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#panel .time-off li[data-time-off]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#capacity tr.total td").textContent.endsWith("/24")`, nil),
	); err != nil {
		failShot(t, ctx, "console-undo", err)
	}
	if offs() != 0 {
		t.Fatal("Undo left the time off in place")
	}

	// From the keyboard, the waiting tv visit goes from the list to the second row (bruno's), at
	// the quarter hour after now (08:00), past the warning that he lacks the trade.
	if err := chromedp.Run(wait,
		chromedp.Focus(fmt.Sprintf(`#unassigned li[data-job="%v"]`, tvJob["id"]), chromedp.ByQuery),
		chromedp.KeyEvent("m"),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`#confirm li[data-code="skill_mismatch"]`, chromedp.ByQuery),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitNotPresent(fmt.Sprintf(`#unassigned li[data-job="%v"]`, tvJob["id"]), chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-list-keyboard", err)
	}
	var tech int64
	var at time.Time
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, planned_start FROM jobs WHERE id = $1", tvJob["id"]).Scan(&tech, &at); err != nil {
		t.Fatal(err)
	}
	if tech != bruno || at.Before(consoleDay) || at.After(consoleDay.Add(15*time.Minute)) {
		t.Fatalf("moved from the list by keyboard, the tv visit is with %d at %s, want bruno %d at the quarter hour after %s", tech, at, bruno, consoleDay)
	}
}

// sortedJSON is the ids as a sorted JSON array, as the page's sort() leaves numbers of one length.
func sortedJSON(ids []any) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	slices.Sort(s)
	return "[" + strings.Join(s, ",") + "]"
}

// consoleWithTiles serves the API with tmpl as FIELDFIX_MAP_TILES and credit as
// FIELDFIX_MAP_ATTRIBUTION, and checks that the console's CSP has csp in it.
func (b *testBundle) consoleWithTiles(tmpl, credit, csp string) *httptest.Server {
	srv := httptest.NewServer(api.NewServer(api.Deps{Services: b.svc, JWTSecret: secret, Ready: b.db.Pool.Ping, Now: b.clock.Now, Events: b.hub,
		BookingsPerMinute: 1000, ComplaintsPerMinute: 1000, MapTiles: tmpl, MapAttribution: credit}))
	b.t.Cleanup(srv.Close) // after the tab's cleanup, which ends its live stream
	res, err := http.Get(srv.URL + "/console")
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Content-Security-Policy"); !strings.Contains(got, csp) {
		b.t.Fatalf("the console's CSP %q does not let the tiles in (%q)", got, csp)
	}
	return srv
}

// TestConsoleDrawsConfiguredTiles: with FIELDFIX_MAP_TILES the map fetches its street tiles from
// that template (and the page's CSP lets images come from that origin alone), credits the source,
// and no longer says it has no tiles.
func TestConsoleDrawsConfiguredTiles(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	b.technician("anna", []string{"washer"}, 45.76, 4.84)
	b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), washerBooking(nil))
	var tile bytes.Buffer
	_ = png.Encode(&tile, image.NewGray(image.Rect(0, 0, 256, 256)))
	var asked atomic.Int64
	tiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var z, x, y int
		if _, err := fmt.Sscanf(r.URL.Path, "/%d/%d/%d.png", &z, &x, &y); err != nil || z < 0 || z > 19 {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(tile.Bytes())
	}))
	t.Cleanup(tiles.Close)
	srv := b.consoleWithTiles(tiles.URL+"/{z}/{x}/{y}.png", "© Test Tiles", "img-src 'self' data: "+tiles.URL+";")
	_, ctx := browser(t, bin)
	var note, credit string
	var drawn int
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(1440, 900, 1, false),
		signIn(srv.URL, b.token(dispatch.RoleDispatcher, "disp")),
		chromedp.Poll(`document.querySelectorAll("#map img.leaflet-tile-loaded").length > 0`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(`document.querySelectorAll("#map img.leaflet-tile-loaded").length`, &drawn),
		chromedp.Text("#map-note", &note, chromedp.ByQuery),
		chromedp.Text("#map .leaflet-control-attribution", &credit, chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-tiles", err)
	}
	if asked.Load() == 0 || drawn == 0 {
		t.Fatalf("%d tiles asked for, %d drawn", asked.Load(), drawn)
	}
	if strings.Contains(note, "No street tiles") || !strings.Contains(credit, "© Test Tiles") {
		t.Fatalf("with tiles the map says %q and credits %q", note, credit)
	}
}

// TestConsoleRegionsRemembered: the dispatcher picks one region, then two; the board shows their
// technicians only, and the choice survives a reload of the page.
func TestConsoleRegionsRemembered(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	lyon := b.technician("anna", []string{"washer"}, 45.76, 4.84)
	paris := b.technician("pierre", []string{"washer"}, 48.85, 2.35)
	marseille := b.technician("marius", []string{"washer"}, 43.30, 5.37)
	regionOf := func(lat, lng float64) string {
		c, err := geo.RegionOf(geo.Point{Lat: lat, Lng: lng})
		if err != nil {
			t.Fatal(err)
		}
		return c.String()
	}
	_, ctx := browser(t, bin)
	rows := func() []float64 {
		var ids []float64
		if err := chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll("#gantt .g-rows .g-row")].map((r) => Number(r.dataset.tech))`, &ids)); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	pick := func(region string) chromedp.Action {
		return evalf(nil, `document.querySelector('#region-list input[value="%s"]').click()`, region)
	}
	if err := chromedp.Run(ctx, signIn(b.srv.URL, b.token(dispatch.RoleDispatcher, "disp"))); err != nil {
		failShot(t, ctx, "console-regions", err)
	}
	if got := rows(); len(got) != 3 {
		t.Fatalf("every region: rows %v", got)
	}
	if err := chromedp.Run(ctx, chromedp.Click("#regions summary", chromedp.ByQuery), pick(regionOf(48.85, 2.35)),
		chromedp.Poll(`document.querySelectorAll("#gantt .g-rows .g-row").length === 1`, nil)); err != nil {
		failShot(t, ctx, "console-regions-one", err)
	}
	if got := rows(); fmt.Sprint(got) != fmt.Sprint([]float64{float64(paris)}) {
		t.Fatalf("Paris's region: rows %v, want pierre's %d", got, paris)
	}
	var label string
	if err := chromedp.Run(ctx, pick(regionOf(43.30, 5.37)), chromedp.Poll(`document.querySelectorAll("#gantt .g-rows .g-row").length === 2`, nil),
		chromedp.Reload(), chromedp.WaitVisible("body[data-loaded]", chromedp.ByQuery), chromedp.Text("#regions-label", &label, chromedp.ByQuery)); err != nil {
		failShot(t, ctx, "console-regions-two", err)
	}
	if got := rows(); fmt.Sprint(got) != fmt.Sprint([]float64{float64(paris), float64(marseille)}) || label != "2 regions" {
		t.Fatalf("after a reload with two regions picked: rows %v (%q), want pierre's and marius's, not anna's %d", got, label, lyon)
	}
}
