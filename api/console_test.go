package api_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/fieldfix/fieldfix/dispatch/postgres"
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

// One headless Chromium serves every browser test of the package (a tab each): starting one
// per test cost a second or two of the machine each time. TestMain stops it.
var shared struct {
	once    sync.Once
	actx    context.Context
	cancel  context.CancelFunc
	profile string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
		os.RemoveAll(shared.profile)
	}
	os.Exit(code)
}

// browser returns the shared Chromium's allocator context (for more tabs) and a new tab's
// context that times out after 60 s; the tab closes with the test.
func browser(t *testing.T, bin string) (actx, ctx context.Context) {
	t.Helper()
	shared.once.Do(func() {
		profile, err := os.MkdirTemp("", "fieldfix-chromium-")
		if err != nil {
			t.Fatal(err)
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless,
			chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			// Tabs of parallel tests are in the background: their timers must not be throttled.
			chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
			chromedp.UserDataDir(profile), chromedp.WindowSize(1440, 900))
		shared.profile = profile
		shared.actx, shared.cancel = chromedp.NewExecAllocator(context.Background(), opts...)
		// The browser itself starts with a first tab that lives as long as the allocator.
		first, _ := chromedp.NewContext(shared.actx, chromedp.WithErrorf(quietErrorf))
		if err := chromedp.Run(first); err != nil {
			t.Fatalf("starting chromium: %v", err)
		}
		shared.actx = first
	})
	if shared.actx == nil {
		t.Fatal("chromium did not start")
	}
	ctx, cancel := chromedp.NewContext(shared.actx) // a tab of the browser: its options are the browser's
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	return shared.actx, ctx
}

// quietErrorf drops chromedp's complaints about CDP events it does not know (Chromium's modal
// dialogs send "top layer" events its version has no handler for) and logs the rest.
func quietErrorf(format string, args ...any) {
	if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unhandled") {
		log.Print(msg)
	}
}

// signIn opens the console in the tab and signs in with token; it waits for the first drawing.
func signIn(base, token string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/console"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", token, chromedp.ByQuery),
		chromedp.Click("#signin button", chromedp.ByQuery),
		chromedp.WaitVisible("body[data-loaded]", chromedp.ByQuery),
	}
}

// drag presses the mouse at (x1, y1), moves it in steps to (x2, y2) and releases it there.
func drag(x1, y1, x2, y2 float64) chromedp.ActionFunc {
	return func(ctx context.Context) error {
		if err := input.DispatchMouseEvent(input.MousePressed, x1, y1).WithButton(input.Left).WithButtons(1).WithClickCount(1).Do(ctx); err != nil {
			return err
		}
		for i := 1; i <= 8; i++ {
			x, y := x1+(x2-x1)*float64(i)/8, y1+(y2-y1)*float64(i)/8
			if err := input.DispatchMouseEvent(input.MouseMoved, x, y).WithButton(input.Left).WithButtons(1).Do(ctx); err != nil {
				return err
			}
		}
		return input.DispatchMouseEvent(input.MouseReleased, x2, y2).WithButton(input.Left).WithButtons(0).WithClickCount(1).Do(ctx)
	}
}

// screenshot keeps what the tab shows under artifacts/ (gitignored).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "artifacts")
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// failShot keeps the tab's screenshot and its body when a wait failed, to see why.
func failShot(t *testing.T, ctx context.Context, name string, err error) {
	t.Helper()
	var html string
	shot, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = chromedp.Run(shot, chromedp.OuterHTML("body", &html, chromedp.ByQuery))
	var png []byte
	if chromedp.Run(shot, chromedp.CaptureScreenshot(&png)) == nil {
		_ = os.MkdirAll(filepath.Join("..", "artifacts"), 0o755)
		_ = os.WriteFile(filepath.Join("..", "artifacts", name+"-failure.png"), png, 0o644)
	}
	t.Fatalf("%s: %v\npage body: %.3000s", name, err, html)
}

// evalf evaluates a JavaScript expression built with fmt.Sprintf into out.
func evalf(out any, format string, args ...any) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(format, args...), out)
}

// livePositions sends each technician change to the bundle's feed as serve does (LISTEN, the geo
// index, a technician event), once listening.
func (b *testBundle) livePositions() {
	listening := make(chan struct{})
	var once sync.Once
	ctx, stop := context.WithCancel(context.Background())
	b.t.Cleanup(stop)
	go postgres.New(b.db.Pool).ListenTechnicians(ctx, func(id int64) {
		if tech, ok := b.svc.Planner.SyncTechnician(ctx, id); ok {
			b.hub.Technician(tech)
		}
	}, func() { once.Do(func() { close(listening) }) })
	<-listening
}
