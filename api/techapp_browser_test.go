package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/fieldfix/fieldfix/api/web"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/proof"
)

// TestTechAppWorksOffline is a technician's morning in the app at /tech on a phone (390×844, in
// headless Chromium): signed in, the phone loses its connection (DevTools' offline emulation);
// the technician accepts an offer, sets off, arrives, fills the checklist, takes a photo, has the
// customer sign on the screen and completes the visit, all queued on the phone; meanwhile a
// dispatcher gives their other visit to a colleague, and they set off for it too. Back online,
// the queue is replayed: the server has the visit completed with the phone's times beside its
// own, the photo answering the checklist and the signature; the other visit answers a conflict
// the app shows plainly. Screenshots in artifacts/.
func TestTechAppWorksOffline(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.svc.Proof.Policy.SignOff = proof.SignOffSignature
	admin := b.token(dispatch.RoleAdmin, "admin")
	if r := b.do("POST", "/v1/checklists", admin, map[string]any{"name": "Washer repair", "service_type": "repair", "appliance": "washer",
		"items": []map[string]any{
			{"key": "drum_spins", "label": "Drum spins freely", "kind": "yes_no", "required": true},
			{"key": "motor_current", "label": "Motor current", "kind": "number", "unit": "A", "min": 0, "max": 20, "required": true},
			{"key": "photo_after", "label": "Photo of the repair", "kind": "photo", "required": true},
		}}); r.Status != http.StatusCreated {
		t.Fatalf("checklist: %d %s", r.Status, r.Body)
	}
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "camille")
	offered := b.offeredTo("zoe")
	other := b.offeredTo("yann")
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", other["id"]), tech, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	colleague := b.technician("dominique", []string{"fridge"}, 45.75, 4.85)
	a, o := int64(offered["id"].(float64)), int64(other["id"].(float64))
	photo := filepath.Join(t.TempDir(), "repair.jpg")
	jpg := testJPEG(t)
	if err := os.WriteFile(photo, jpg, 0o644); err != nil {
		t.Fatal(err)
	}

	_, ctx := browser(t, bin)
	sel := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	waitJS := func(js string) chromedp.Action {
		return chromedp.Poll(js, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
	}
	stepIs := func(job int64, label string) chromedp.Action {
		return waitJS(fmt.Sprintf(`document.querySelector("#job-%d .step")?.textContent === %q`, job, label))
	}
	start := time.Now()
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(390, 844, 2, true),
		network.Enable(),
		chromedp.Navigate(b.srv.URL+"/tech/"),
		visible("#token"),
		chromedp.SendKeys("#token", tech, chromedp.ByID),
		tap("#signin button"),
		visible(sel("#offer-%d .accept", a)),
		stepIs(o, "On my way"),
		waitJS(`navigator.serviceWorker.controller !== null`), // the shell is cached
		// whole, under this release's name
		waitJS(fmt.Sprintf(`caches.keys().then((ks) => ks.includes("fieldfix-tech-shell-%s"))`, web.TechVersion())),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	phoneShot(t, ctx, "tech-agenda.png")
	var problems []*page.InstallabilityError
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) (err error) {
		problems, err = page.GetInstallabilityErrors().Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("Chromium would not install the app: %s %v", p.ErrorID, p.ErrorArguments)
	}

	// The connection goes.
	if err := chromedp.Run(ctx, network.EmulateNetworkConditions(true, 0, -1, -1), waitJS(`!navigator.onLine`)); err != nil {
		t.Fatal(err)
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/assign", o), disp, map[string]any{"technician_id": colleague, "reason": "closer"}); r.Status != 200 {
		t.Fatalf("reassign: %d %s", r.Status, r.Body)
	}
	var pad struct{ X, Y, W, H float64 }
	if err := chromedp.Run(ctx,
		tap(sel("#offer-%d .accept", a)),
		stepIs(a, "On my way"),
		tap(sel("#job-%d .step", o)), // the visit given away meanwhile
		tap(sel("#job-%d .step", a)),
		stepIs(a, "Arrived"),
		tap(sel("#job-%d .step", a)),
		waitJS(fmt.Sprintf(`document.querySelector("#job-%d .status")?.textContent === "on site"`, a)),
		tap(sel("#job-%d .open", a)),
		visible("#item-drum_spins"),
		fill("#item-drum_spins", "true"),
		fill("#item-motor_current", "4.5"),
		tap("#v-save-checklist"),
		chromedp.SetUploadFiles("#v-photo", []string{photo}, chromedp.ByID, chromedp.NodeReady),
		visible("#v-thumbs img"),
		chromedp.ScrollIntoView("#v-pad", chromedp.ByID),
		chromedp.Evaluate(`(() => { const r = document.getElementById("v-pad").getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, &pad),
	); err != nil {
		t.Fatalf("offline visit: %v", err)
	}
	if err := chromedp.Run(ctx, sign(pad.X, pad.Y, pad.W, pad.H),
		chromedp.SendKeys("#v-signer", "Zoé Martin", chromedp.ByID),
		tap("#v-save-signature"),
		visible("#v-signed"),
		chromedp.SendKeys("#v-notes", "Drive belt replaced", chromedp.ByID),
		tap("#v-add-part"),
		chromedp.SendKeys(".part .sku", "BELT-1", chromedp.ByQuery),
		chromedp.SendKeys(".part .name", "drive belt", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("sign-off: %v", err)
	}
	phoneShot(t, ctx, "tech-visit-offline.png")
	// The page is closed before the visit is finished (a call, the phone locks): the notes and the
	// part typed are still there when the visit is opened again.
	if err := chromedp.Run(ctx, chromedp.Reload(),
		tap(sel("#job-%d .open", a)),
		waitJS(`document.getElementById("v-notes").value === "Drive belt replaced" && document.querySelector(".part .sku")?.value === "BELT-1" &&
			document.querySelector(".part .name")?.value === "drive belt"`),
	); err != nil {
		t.Fatalf("the notes and parts typed were lost when the page closed: %v", err)
	}
	var waiting string
	if err := chromedp.Run(ctx,
		tap("#v-complete"),
		waitJS(fmt.Sprintf(`document.querySelector("#job-%d .status")?.textContent === "done"`, a)),
		chromedp.Evaluate(`document.getElementById("queue").textContent`, &waiting),
	); err != nil {
		t.Fatalf("complete: %v", err)
	}
	phoneShot(t, ctx, "tech-offline-queue.png")
	if waiting != "9 waiting" {
		t.Fatalf("the queue shows %q, want 9 waiting (accept, 4 statuses, checklist, the photo and its reference, signature)", waiting)
	}
	if s := b.jobStatus(a); s != "offered" {
		t.Fatalf("offline, yet the server has the visit %s", s)
	}
	// The phone restarts the app with no connection: the shell comes from the service worker,
	// the day and the queue from IndexedDB.
	if err := chromedp.Run(ctx, chromedp.Reload(),
		waitJS(fmt.Sprintf(`document.querySelector("#job-%d .status")?.textContent === "done" && document.getElementById("queue").textContent === "9 waiting"`, a)),
	); err != nil {
		t.Fatalf("offline restart: %v", err)
	}
	// A colleague's token opened on this phone meanwhile: camille's queue must not go out under
	// it, nor be dropped; the phone says why and stays camille's.
	b.technician("sacha", []string{"fridge"}, 45.75, 4.83)
	if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`location.hash = "token=%s"`, b.token(dispatch.RoleTechnician, "sacha")), nil),
		waitJS(`[...document.querySelectorAll(".conflict")].some((c) => c.textContent.includes("not sent yet"))`),
		waitJS(`document.getElementById("who").textContent === "camille Tech" && document.getElementById("queue").textContent === "9 waiting"`),
		tap(`.conflict button`), // read
	); err != nil {
		t.Fatalf("another technician's token over a queue not sent: %v", err)
	}

	// Back online five minutes later: the queue is replayed. The server fails the photo's upload
	// the first time (503): the photo stays queued, the phone says the sync did not go through,
	// and "Try again" sends the rest.
	b.clock.Set(b.clock.Now().Add(5 * time.Minute))
	var failed atomic.Int32
	chromedp.ListenTarget(ctx, func(ev any) {
		if p, ok := ev.(*fetch.EventRequestPaused); ok {
			go func() {
				if p.Request.Method == "POST" && failed.Add(1) == 1 {
					body := base64.StdEncoding.EncodeToString([]byte(`{"title":"Service Unavailable","status":503,"detail":"the database is not answering","code":"unavailable"}`))
					_ = chromedp.Run(ctx, fetch.FulfillRequest(p.RequestID, 503).WithBody(body).
						WithResponseHeaders([]*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/problem+json"}}))
					return
				}
				_ = chromedp.Run(ctx, fetch.ContinueRequest(p.RequestID))
			}()
		}
	})
	var conflict string
	if err := chromedp.Run(ctx, fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: "*/attachments"}}),
		network.EmulateNetworkConditions(false, 0, -1, -1),
		waitJS(`document.querySelector(".sync-error")?.textContent.includes("the database is not answering") === true`),
	); err != nil {
		t.Fatalf("a failed upload: %v", err)
	}
	phoneShot(t, ctx, "tech-sync-failed.png")
	var listed int
	if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll("#job-%d").length`, o), &listed)); err != nil || listed != 0 {
		t.Fatalf("the visit given away is still listed beside its conflict (%d, %v)", listed, err)
	}
	if err := chromedp.Run(ctx, tap(".sync-error button"),
		waitJS(`document.getElementById("queue").hidden && document.querySelector(".sync-error") === null && document.querySelector(".conflict") !== null`),
		chromedp.Evaluate(`document.querySelector(".conflict").textContent`, &conflict),
	); err != nil {
		t.Fatalf("replay: %v", err)
	}
	phoneShot(t, ctx, "tech-synced-conflict.png")
	t.Logf("the browser part took %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(conflict, "On my way: not applied") || !strings.Contains(conflict, "given to another technician") || !strings.Contains(conflict, "job_reassigned") {
		t.Fatalf("the conflict is not said plainly: %q", conflict)
	}

	r := b.do("GET", fmt.Sprintf("/v1/jobs/%d", a), disp, nil)
	var j struct {
		Status           string          `json:"status"`
		OnSiteAt         time.Time       `json:"on_site_at"`
		OnSiteDeviceAt   *time.Time      `json:"on_site_device_at"`
		FinishedAt       time.Time       `json:"finished_at"`
		FinishedDeviceAt *time.Time      `json:"finished_device_at"`
		SignOffMethod    string          `json:"signoff_method"`
		Notes            string          `json:"notes"`
		PartsUsed        []dispatch.Part `json:"parts_used"`
	}
	if err := json.Unmarshal(r.Body, &j); err != nil {
		t.Fatal(err)
	}
	offeredAt := b.clock.Now().Add(-5 * time.Minute)
	if j.Status != "completed" || j.SignOffMethod != "signature" || j.Notes != "Drive belt replaced" || len(j.PartsUsed) != 1 || j.PartsUsed[0].SKU != "BELT-1" {
		t.Fatalf("the server's visit: %s", r.Body)
	}
	if j.OnSiteDeviceAt == nil || j.FinishedDeviceAt == nil || !j.OnSiteDeviceAt.Before(j.OnSiteAt) || j.OnSiteDeviceAt.Before(offeredAt.Add(-time.Minute)) ||
		j.FinishedDeviceAt.Before(*j.OnSiteDeviceAt) || !j.FinishedDeviceAt.Before(j.FinishedAt) {
		t.Fatalf("the phone's times are not kept beside the server's: %s", r.Body)
	}
	atts := b.do("GET", fmt.Sprintf("/v1/jobs/%d/attachments", a), disp, nil).json(t)["items"].([]any)
	if len(atts) != 1 { // the photo (the signature's strokes are the sign-off's own)
		t.Fatalf("attachments: %v", atts)
	}
	cl := b.do("GET", fmt.Sprintf("/v1/jobs/%d/checklist", a), disp, nil).json(t)
	if ans := cl["answers"].(map[string]any); ans["drum_spins"] != true || ans["motor_current"] != 4.5 || ans["photo_after"] == nil {
		t.Fatalf("checklist: %v", cl)
	}
	var photoSHA string
	for _, x := range atts {
		if m := x.(map[string]any); m["kind"] == "after" {
			photoSHA = m["sha256"].(string)
			if m["id"] != answerOf(cl, "photo_after") {
				t.Fatalf("the photo does not answer the checklist's photo item: %v %v", m, cl["answers"])
			}
		}
	}
	if photoSHA != sha(jpg) {
		t.Fatalf("the photo on the server is not the one taken: %v", atts)
	}
	if s := b.jobStatus(o); s == "en_route" {
		t.Fatal("the visit given away was set off by the old technician")
	}
}

func answerOf(cl map[string]any, key string) any { return cl["answers"].(map[string]any)[key] }

func (b *testBundle) jobStatus(id int64) string {
	b.t.Helper()
	var s string
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT status FROM jobs WHERE id = $1", id).Scan(&s); err != nil {
		b.t.Fatal(err)
	}
	return s
}

// tap clicks the element sel names as it is when the click happens, once it is there and
// enabled. The app redraws its lists after every act and sync (replacing their nodes), so a node
// found a moment before may be gone by the click: chromedp.Click resolves the node first and
// then clicks it, which failed now and then with "Could not find node with given id". Here the
// query and the click are one turn of the page's event loop, which no redraw can split.
func tap(sel string) chromedp.Action {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e || e.disabled || !e.getClientRects().length) return false; e.click(); return true; })()`, sel)
	return chromedp.Poll(js, nil, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
}

// visible waits until the element sel names is shown, querying afresh each time (see tap).
func visible(sel string) chromedp.Action {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && !e.closest("[hidden]") && e.getClientRects().length > 0; })()`, sel)
	return chromedp.Poll(js, nil, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
}

// textOf reads the text of the element sel names once it has some, querying and reading in one
// turn of the page's event loop (see tap): chromedp.Text resolves the node first, and a redraw in
// between left it reading a detached node's "" (CI, TestTechAppShowsThePickup).
func textOf(sel string, out *string) chromedp.Action {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.innerText.trim() !== "" && e.innerText; })()`, sel)
	return chromedp.Poll(js, out, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
}

// fill sets the value of the field sel names as a person would leave it (input and change
// events), in one turn of the page's event loop like tap.
func fill(sel, value string) chromedp.Action {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e || e.disabled) return false; e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return e.value === %q; })()`, sel, value, value)
	return chromedp.Poll(js, nil, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
}

// sign draws a signature across the pad at (x, y, w, h) with the mouse.
func sign(x, y, w, h float64) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		pts := [][2]float64{}
		for i := 0; i <= 12; i++ {
			f := float64(i) / 12
			pts = append(pts, [2]float64{x + w*(0.1+0.8*f), y + h*(0.5+0.3*float64((i%4)-2)/2)})
		}
		if err := input.DispatchMouseEvent(input.MousePressed, pts[0][0], pts[0][1]).WithButton(input.Left).WithClickCount(1).Do(ctx); err != nil {
			return err
		}
		for _, p := range pts[1:] {
			if err := input.DispatchMouseEvent(input.MouseMoved, p[0], p[1]).WithButton(input.Left).WithButtons(1).Do(ctx); err != nil {
				return err
			}
		}
		last := pts[len(pts)-1]
		return input.DispatchMouseEvent(input.MouseReleased, last[0], last[1]).WithButton(input.Left).WithClickCount(1).Do(ctx)
	})
}

// phoneShot keeps a screenshot of the page in artifacts/.
func phoneShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "artifacts")
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testJPEG is a small photo.
func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTechAppSignsInWithALink: a dispatcher makes a one-time sign-in link for a technician in the
// console (the technician's panel); the technician's phone opens it (390×844) and is signed in, the code gone from the address, and
// sees the offer count down to expired; a second phone opening the same link is told plainly it
// was used.
func TestTechAppSignsInWithALink(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	id := b.technician("camille", []string{"washer"}, 45.76, 4.84)
	b.svc.Offers.Config.OfferTTL = 6 * time.Second // to see the countdown run out
	job := int64(b.offeredTo("zoe")["id"].(float64))

	// The dispatcher makes the link in the console, from the technician's row.
	_, first := browser(t, bin)
	var made string
	if err := chromedp.Run(first, signIn(b.srv.URL, b.token(dispatch.RoleDispatcher, "disp")),
		tap(fmt.Sprintf(`#gantt .g-row[data-tech="%d"] button.tech`, id)),
		tap(".signin-link button"),
		visible("#signin-url"),
		chromedp.Evaluate(`document.getElementById("signin-url").value`, &made),
	); err != nil {
		t.Fatalf("the console makes no sign-in link: %v", err)
	}
	phoneShot(t, first, "console-signin-link.png")
	link := made
	if code, ok := strings.CutPrefix(made, b.srv.URL+"/tech/#link="); !ok || len(code) < 26 {
		t.Fatalf("the console's link: %q", made)
	}
	waitJS := func(js string) chromedp.Action {
		return chromedp.Poll(js, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
	}
	waitLong := func(js string) chromedp.Action {
		return chromedp.Poll(js, nil, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second))
	}
	var where string
	// The technician opens it on their phone.
	if err := chromedp.Run(first, emulation.SetDeviceMetricsOverride(390, 844, 2, true),
		chromedp.Navigate(link),
		visible(fmt.Sprintf("#offer-%d .accept", job)),
		waitJS(`document.getElementById("who").textContent === "camille Tech"`),
		chromedp.Evaluate(`location.href`, &where),
	); err != nil {
		t.Fatalf("the link does not sign the phone in: %v", err)
	}
	phoneShot(t, first, "tech-signed-in-by-link.png")
	// The offer's countdown runs out on the server's clock: it says so and can no longer be answered.
	// (It ran from before the sign-in; a loaded machine may take seconds to answer the sync whose
	// clock the phone sets its countdown by, so this waits longer than the offer's 6 s.)
	if err := chromedp.Run(first, waitLong(fmt.Sprintf(`(() => { const o = document.getElementById("offer-%d");
		return o.querySelector(".countdown").textContent === "expired" && o.querySelector(".accept").disabled && o.querySelector(".decline").disabled; })()`, job)),
	); err != nil {
		t.Fatalf("the offer's countdown: %v", err)
	}
	if strings.Contains(where, "link=") {
		t.Fatalf("the used code stays in the address: %s", where)
	}
	// Another phone: nothing of the first one's (storage, service worker) is left in the browser.
	second := first
	var said string
	if err := chromedp.Run(second, chromedp.Navigate("about:blank"), storage.ClearDataForOrigin(b.srv.URL, "all"),
		chromedp.Navigate(link),
		visible("#token"),
		waitJS(`document.getElementById("signin-error").textContent !== ""`),
		chromedp.Evaluate(`document.getElementById("signin-error").textContent`, &said),
	); err != nil {
		t.Fatalf("second phone: %v", err)
	}
	phoneShot(t, second, "tech-link-used.png")
	if !strings.Contains(said, "used already") {
		t.Fatalf("the second phone is not told the link was used: %q", said)
	}
}
