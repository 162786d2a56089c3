package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// trackingPath is the path of the tracking link the customer's latest message carries.
func (b *testBundle) trackingPath(sub string) string {
	b.t.Helper()
	got := b.inboxOf(dispatch.RoleCustomer, sub)
	if len(got) == 0 {
		b.t.Fatalf("%s has no message", sub)
	}
	url, _ := got[len(got)-1]["data"].(map[string]any)["tracking_url"].(string)
	i := strings.Index(url, "/t/")
	if i < 0 {
		b.t.Fatalf("no tracking link in %v", got[len(got)-1])
	}
	return url[i:]
}

// TestTrackingLink: the link in the customer's messages opens the visit without a login: its
// state, window, technician's first name, and while en route the ETA and where the technician
// is; the customer moves it to another slot, and after the cut-off a change is refused with the
// reason. A guessed or expired token opens nothing.
func TestTrackingLink(t *testing.T) {
	b := setup(t)
	paris := b.parisBusiness()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust, tech := b.token(dispatch.RoleCustomer, "zoe"), b.token(dispatch.RoleTechnician, "tech-a")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := b.trackingPath("zoe")
	if len(strings.TrimPrefix(path, "/t/")) < 22 {
		t.Fatalf("token of %s is too short to be unguessable", path)
	}
	page := b.do("GET", path, "", nil)
	if page.Status != 200 || !strings.Contains(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page.Body), "/track/track.js") {
		t.Fatalf("page: %d %s", page.Status, page.Body)
	}
	v := b.do("GET", path+"/visit", "", nil).json(t)
	if v["visit"] != "planned" || v["window"] == nil || v["technician_first_name"] != nil || v["time_zone"] != "Europe/Paris" || v["booking_id"] != bk["id"] {
		t.Fatalf("visit %v", v)
	}
	// 09:00 UTC, the visit 10:00–12:00 in Paris: changes closed at 08:00 Paris.
	if v["can_change"] != false || !strings.Contains(v["cannot_change_reason"].(string), "changes close 2h before the window") {
		t.Fatalf("a visit inside the cut-off: %v", v)
	}
	wantProblem(t, b.do("POST", path+"/cancel", "", map[string]any{}), 409, "change_cutoff_passed")
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/bookings/%v/cancel", bk["id"]), cust, nil), 409, "change_cutoff_passed")

	job := fmt.Sprintf("/v1/jobs/%v", jobOf(t, bk)["id"])
	b.do("POST", job+"/accept", tech, nil)
	b.do("PUT", "/v1/technicians/me/location", tech, map[string]any{"lat": 45.75, "lng": 4.85})
	if r := b.do("POST", job+"/status", tech, map[string]any{"status": "en_route"}); r.Status != 200 {
		t.Fatalf("en route: %d %s", r.Status, r.Body)
	}
	v = b.do("GET", path+"/visit", "", nil).json(t)
	pos, _ := v["technician_position"].(map[string]any)
	if v["visit"] != "on_the_way" || v["technician_first_name"] != "tech-a" || v["eta"] == nil || pos["lat"] != 45.75 {
		t.Fatalf("en route: %v", v)
	}
	b.clock.Set(b.clock.Now().Add(5 * time.Minute))
	b.do("PUT", "/v1/technicians/me/location", tech, map[string]any{"lat": 45.76, "lng": 4.838})
	if pos := b.do("GET", path+"/visit", "", nil).json(t)["technician_position"].(map[string]any); pos["lat"] != 45.76 {
		t.Fatalf("the position did not follow the ping: %v", pos)
	}

	// Another booking, for tomorrow: inside the cut-off's reach, so the customer moves it.
	body := washerBooking(nil)
	tomorrow := time.Date(2026, 11, 21, 14, 0, 0, 0, paris)
	body["preferred_windows"] = []map[string]any{{"start": tomorrow, "end": tomorrow.Add(2 * time.Hour)}}
	b.do("POST", "/v1/bookings", cust, body)
	path2 := b.trackingPath("zoe")
	if path2 == path {
		t.Fatal("two bookings share a tracking link")
	}
	v = b.do("GET", path2+"/visit", "", nil).json(t)
	if v["can_change"] != true || !parseTime(t, v["changes_close_at"]).Equal(tomorrow.Add(-2*time.Hour)) {
		t.Fatalf("tomorrow's visit: %v", v)
	}
	slots := b.do("GET", path2+"/slots", "", nil).json(t)["slots"].([]any)
	if len(slots) == 0 || slots[0].(map[string]any)["cost_minutes"] != nil {
		t.Fatalf("slots %v", slots)
	}
	var pick map[string]any
	for _, s := range slots {
		if st := parseTime(t, s.(map[string]any)["start"]); st.After(tomorrow.Add(2 * time.Hour)) {
			pick = s.(map[string]any)
			break
		}
	}
	moved := b.do("POST", path2+"/reschedule", "", map[string]any{"start": pick["start"], "end": pick["end"]})
	if moved.Status != 200 || !parseTime(t, moved.json(t)["window"].(map[string]any)["start"]).Equal(parseTime(t, pick["start"])) {
		t.Fatalf("reschedule to %v: %d %s", pick, moved.Status, moved.Body)
	}
	if last := b.inboxOf(dispatch.RoleCustomer, "zoe"); last[len(last)-1]["kind"] != "moved" {
		t.Fatalf("the move was not told: %v", last[len(last)-1])
	}
	if r := b.do("POST", path2+"/cancel", "", nil); r.Status != 200 || r.json(t)["visit"] != "cancelled" {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}

	wantProblem(t, b.do("GET", "/t/AAAAAAAAAAAAAAAAAAAAAAAAAA/visit", "", nil), 404, "tracking_link_not_found")
	wantProblem(t, b.do("GET", "/t/short/visit", "", nil), 404, "tracking_link_not_found")
	b.clock.Set(b.clock.Now().Add(dispatch.TrackingTTL + time.Hour))
	wantProblem(t, b.do("GET", path+"/visit", "", nil), 404, "tracking_link_expired")
}
