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
	"github.com/chromedp/chromedp"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestTrackingPageOnAPhone opens the customer's tracking link in Chromium at a phone's size
// (390×844): the visit on the way, the technician's first name, the ETA and the technician on the
// little map; a new ping moves the technician on the page without a reload; changes are closed
// with the reason. The screenshot is kept in artifacts/.
func TestTrackingPageOnAPhone(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	cust, tech := b.token(dispatch.RoleCustomer, "zoe"), b.token(dispatch.RoleTechnician, "camille")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	path := fmt.Sprintf("/v1/jobs/%v", job["id"])
	b.do("POST", path+"/accept", tech, nil)
	b.do("PUT", "/v1/technicians/me/location", tech, map[string]any{"lat": 45.745, "lng": 4.86})
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "en_route"}); r.Status != 200 {
		t.Fatalf("en route: %d %s", r.Status, r.Body)
	}
	link := b.trackingPath("zoe")

	_, ctx := browser(t, bin)
	var state, who, eta, cutoff, firstX, laterX string
	var disabled bool
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(390, 844, 3, true),
		chromedp.Navigate(b.srv.URL+link),
		chromedp.WaitVisible("#tech-dot", chromedp.ByQuery),
		chromedp.Text("#state", &state, chromedp.ByQuery),
		chromedp.Text("#tech", &who, chromedp.ByQuery),
		chromedp.Text("#eta", &eta, chromedp.ByQuery),
		chromedp.Text("#cutoff", &cutoff, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("reschedule").disabled && document.getElementById("cancel").disabled`, &disabled),
		chromedp.AttributeValue("#tech-dot", "cx", &firstX, nil, chromedp.ByQuery),
		chromedp.Evaluate(`window.stillThisPage = true`, nil),
	); err != nil {
		t.Fatal(err)
	}
	if state != "On the way" || !strings.Contains(who, "camille") || !strings.HasPrefix(eta, "Expected at ") || !disabled || cutoff != "The technician is on the way." {
		t.Fatalf("page shows state %q, %q, %q, buttons disabled %v, %q", state, who, eta, disabled, cutoff)
	}
	b.clock.Set(b.clock.Now().Add(3 * time.Minute))
	b.do("PUT", "/v1/technicians/me/location", tech, map[string]any{"lat": 45.758, "lng": 4.842})
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var same bool
	if err := chromedp.Run(wait,
		chromedp.Poll(fmt.Sprintf(`document.getElementById("tech-dot").getAttribute("cx") !== %q`, firstX), nil, chromedp.WithPollingInterval(200*time.Millisecond)),
		chromedp.AttributeValue("#tech-dot", "cx", &laterX, nil, chromedp.ByQuery),
		chromedp.Evaluate(`window.stillThisPage === true`, &same),
	); err != nil || !same {
		t.Fatalf("the page did not follow the technician without a reload (%v, same page %v)", err, same)
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "artifacts")
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "tracking-phone.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
