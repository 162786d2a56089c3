package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
)

// chromium finds Debian's Chromium; in CI (CI=true) its absence fails the test, elsewhere it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not installed: apt-get install chromium")
	return ""
}

// browser starts headless Chromium for one test and returns its allocator's context (for more
// tabs) and a tab's context that times out after 60 s; both end with the test.
func browser(t *testing.T, bin string) (actx, ctx context.Context) {
	t.Helper()
	// Chromium may still be writing its profile as it exits: remove it after the browser is gone
	// (cleanups run last in, first out), and do not fail on leftovers (t.TempDir would).
	profile, err := os.MkdirTemp("", "fieldfix-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	return actx, ctx
}

// TestConsoleDefaultDayIsLocal opens the console in Paris at 00:30 on 21 November 2026, when it
// is still 20 November in UTC: the day the board opens on is the dispatcher's own, the 21st.
func TestConsoleDefaultDayIsLocal(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	now := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC) // 00:30 CET on the 21st
	b.clock.Set(now)
	_, ctx := browser(t, bin)

	// The page's clock starts at now and runs on from there; the time zone is the browser's own.
	clock := fmt.Sprintf(`(() => {
  const Real = Date, shift = %d - Real.now();
  class Shifted extends Real {
    constructor(...a) { if (a.length === 0) super(Real.now() + shift); else super(...a); }
    static now() { return Real.now() + shift; }
  }
  globalThis.Date = Shifted;
})();`, now.UnixMilli())
	var zone, utcDay, day string
	if err := chromedp.Run(ctx,
		emulation.SetTimezoneOverride("Europe/Paris"),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(clock).Do(ctx)
			return err
		}),
		chromedp.Navigate(b.srv.URL+"/console"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.Evaluate(`Intl.DateTimeFormat().resolvedOptions().timeZone`, &zone),
		chromedp.Evaluate(`new Date().toISOString().slice(0, 10)`, &utcDay),
		chromedp.Value("#day", &day, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("loading the console: %v", err)
	}
	// The page really is just past midnight east of UTC, or the test proves nothing.
	if zone != "Europe/Paris" || utcDay != "2026-11-20" {
		t.Fatalf("the page runs in %q on UTC day %s, want Europe/Paris on 2026-11-20", zone, utcDay)
	}
	if day != "2026-11-21" {
		t.Fatalf("the console opens on %s, want the local day 2026-11-21 (not the UTC day %s)", day, utcDay)
	}
}

// TestConsoleReassignsAJob drives the console in headless Chromium: it loads the seeded board,
// a dispatcher re-assigns a job by hand, and the change shows through the API and in the page
// (via the live event stream). A screenshot is kept under artifacts/.
func TestConsoleReassignsAJob(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	first := b.technician("anna", []string{"washer"}, 45.76, 4.84)
	second := b.technician("bruno", []string{"washer", "fridge"}, 45.75, 4.85)
	b.clock.Set(time.Now().UTC()) // the page counts down against the browser's clock
	cust := b.token(dispatch.RoleCustomer, "cust")
	booking := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	job := jobOf(t, booking)
	if job["technician_id"] != float64(first) {
		t.Fatalf("planned to %v", job["technician_id"])
	}
	fridge := washerBooking(nil)
	fridge["appliance"] = "tv" // nobody repairs TVs: it stays unassigned on the board
	b.do("POST", "/v1/bookings", cust, fridge)

	actx, ctx := browser(t, bin)

	token := b.token(dispatch.RoleDispatcher, "disp")
	start, err := time.Parse(time.RFC3339, job["planned_start"].(string))
	if err != nil {
		t.Fatalf("planned_start %v: %v", job["planned_start"], err)
	}
	plannedDay := start.UTC().Format("2006-01-02")
	jobSel := fmt.Sprintf(`.route[data-tech="%d"] .job[data-job="%v"]`, first, job["id"])
	var unassignedRows int
	if err := chromedp.Run(ctx,
		chromedp.Navigate(b.srv.URL+"/console"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", token, chromedp.ByQuery),
		chromedp.Click("#signin button", chromedp.ByQuery),
		// Late in the day the job is planned for tomorrow: show the day it is planned on.
		chromedp.SetValue("#day", plannedDay, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("day").dispatchEvent(new Event("change"))`, nil),
		chromedp.WaitVisible(jobSel, chromedp.ByQuery),
		chromedp.WaitVisible("#map polygon", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#unassigned tbody tr").length`, &unassignedRows),
	); err != nil {
		shot(t, actx, b.srv.URL, token)
		t.Fatalf("loading the board: %v", err)
	}
	if unassignedRows != 1 {
		t.Fatalf("%d unassigned rows on the page, want 1", unassignedRows)
	}
	// Re-assign the job to Bruno by hand. The board redraws its routes on every live change, so
	// the job's element can be replaced between finding it and clicking it (chromedp.Click then
	// fails with "Could not find node"): the click is made in the page, on the element there now.
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).click()`, jobSel), nil),
		chromedp.WaitVisible("#selected", chromedp.ByQuery),
		chromedp.SetValue("#sel-tech", fmt.Sprint(second), chromedp.ByQuery),
		chromedp.Click("#sel-assign", chromedp.ByQuery),
		chromedp.WaitVisible(fmt.Sprintf(`.route[data-tech="%d"] .job[data-job="%v"]`, second, job["id"]), chromedp.ByQuery),
	); err != nil {
		t.Fatalf("re-assigning in the page: %v", err)
	}
	got := jobOf(t, b.do("GET", fmt.Sprintf("/v1/bookings/%v", booking["id"]), token, nil).json(t))
	if got["technician_id"] != float64(second) || got["pinned"] != true {
		t.Fatalf("the booking shows technician %v pinned %v, want %d pinned", got["technician_id"], got["pinned"], second)
	}
	var tech int64
	var pinned bool
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, pinned FROM jobs WHERE id = $1", job["id"]).Scan(&tech, &pinned); err != nil || tech != second || !pinned {
		t.Fatalf("in the database: technician %d pinned %v (%v), want %d pinned", tech, pinned, err, second)
	}
	var message string
	if err := chromedp.Run(ctx, chromedp.Text("#messages", &message, chromedp.ByQuery)); err != nil || !strings.Contains(message, "bruno") {
		t.Fatalf("the page did not report the assignment: %q %v", message, err)
	}

	// A change made elsewhere (another dispatcher, through the API) reaches the page live.
	other := b.do("POST", fmt.Sprintf("/v1/jobs/%v/unassign", job["id"]), token, nil)
	if other.Status != 200 {
		t.Fatalf("unassign: %d", other.Status)
	}
	if err := chromedp.Run(ctx, chromedp.WaitVisible(fmt.Sprintf(`#unassigned tr[data-job="%v"]`, job["id"]), chromedp.ByQuery)); err != nil {
		t.Fatalf("the page missed the live change: %v", err)
	}

	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "artifacts")
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "console.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
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

// shot loads the console in a fresh tab and saves what it shows, to see why a wait failed.
func shot(t *testing.T, actx context.Context, base, token string) {
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 20*time.Second)
	defer cancelT()
	var png []byte
	var html string
	_ = chromedp.Run(ctx, chromedp.Navigate(base+"/console"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", token, chromedp.ByQuery), chromedp.Click("#signin button", chromedp.ByQuery),
		chromedp.Sleep(3*time.Second), chromedp.OuterHTML("body", &html, chromedp.ByQuery), chromedp.FullScreenshot(&png, 100))
	_ = os.MkdirAll(filepath.Join("..", "artifacts"), 0o755)
	_ = os.WriteFile(filepath.Join("..", "artifacts", "console-failure.png"), png, 0o644)
	t.Logf("page body: %.3000s", html)
}
