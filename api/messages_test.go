package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// parisBusiness sets the business's zone (FIELDFIX_TIME_ZONE) to Europe/Paris, as make run's demo does.
func (b *testBundle) parisBusiness() *time.Location {
	b.t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		b.t.Fatal(err)
	}
	b.svc.Env.Rules.Location = loc
	return loc
}

// inboxOf is the recipient's inbox, oldest first.
func (b *testBundle) inboxOf(role dispatch.Role, sub string) []map[string]any {
	b.t.Helper()
	path := map[dispatch.Role]string{dispatch.RoleCustomer: "/v1/customers/me/inbox", dispatch.RoleTechnician: "/v1/technicians/me/inbox"}[role]
	r := b.do("GET", path+"?limit=100", b.token(role, sub), nil)
	if r.Status != 200 {
		b.t.Fatalf("inbox of %s: %d %s", sub, r.Status, r.Body)
	}
	items := r.json(b.t)["items"].([]any)
	out := make([]map[string]any, 0, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		out = append(out, items[i].(map[string]any))
	}
	return out
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("not a time: %v", v)
	}
	return at
}

// TestMessagesTellTimesInTheReadersZone: a Lyon technician's offer says the start and the
// deadline in Europe/Paris, and the customer's confirmation promises the slot the customer chose
// (two hours on an even hour of the business zone) with the visit starting inside it.
func TestMessagesTellTimesInTheReadersZone(t *testing.T) {
	b := setup(t)
	paris := b.parisBusiness()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "zoe")
	now := b.clock.Now()
	q := url.Values{"lat": {"45.764"}, "lng": {"4.8357"}, "appliance": {"washer"}, "service_type": {"repair"},
		"from": {now.Format(time.RFC3339)}, "to": {now.Add(8 * time.Hour).Format(time.RFC3339)}}
	slots := b.do("GET", "/v1/slots?"+q.Encode(), cust, nil).json(t)["slots"].([]any)
	if len(slots) < 3 {
		t.Fatalf("slots %v", slots)
	}
	slot := slots[2].(map[string]any) // 14:00–16:00 in Paris
	start, end := parseTime(t, slot["start"]), parseTime(t, slot["end"])
	if s := start.In(paris); s.Hour()%2 != 0 || s.Minute() != 0 || end.Sub(start) != 2*time.Hour {
		t.Fatalf("slot %v is not two hours on an even Paris hour", slot)
	}
	body := washerBooking(nil)
	body["preferred_windows"] = []map[string]any{{"start": slot["start"], "end": slot["end"]}}
	bk := b.do("POST", "/v1/bookings", cust, body).json(t)
	job := jobOf(t, bk)
	planned := parseTime(t, job["planned_start"])
	if planned.Before(start) || !planned.Before(end) {
		t.Fatalf("planned at %s, outside the chosen slot %s–%s", planned, start, end)
	}
	offer := b.inboxOf(dispatch.RoleTechnician, "tech-a")[0]
	exp := now.Add(10 * time.Minute)
	want := fmt.Sprintf("at %s,", planned.In(paris).Format("Mon 15:04"))
	if body := offer["body"].(string); !strings.Contains(body, want) || !strings.HasSuffix(body, "Accept by "+exp.In(paris).Format("15:04")+".") {
		t.Fatalf("offer %q does not tell %q and the deadline %s in Paris time", body, want, exp.In(paris).Format("15:04"))
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", job["id"]), b.token(dispatch.RoleTechnician, "tech-a"), nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	var confirmed map[string]any
	for _, n := range b.inboxOf(dispatch.RoleCustomer, "zoe") {
		if n["kind"] == "confirmed" {
			confirmed = n
		}
	}
	if confirmed == nil {
		t.Fatal("no confirmation")
	}
	data := confirmed["data"].(map[string]any)
	if !parseTime(t, data["window_start"]).Equal(start) || !parseTime(t, data["window_end"]).Equal(end) {
		t.Fatalf("confirmed window %v–%v, the slot was %s–%s", data["window_start"], data["window_end"], start, end)
	}
	tell := fmt.Sprintf("between %s and %s", start.In(paris).Format("15:04"), end.In(paris).Format("15:04"))
	if !strings.Contains(confirmed["body"].(string), tell) {
		t.Fatalf("confirmation %q does not say %q", confirmed["body"], tell)
	}
}

// TestEveryChangeIsToldOnceInOrder: the customer hears of the booking, the confirmation, each
// move of the window or of the technician they were told of (and not of a move that changes
// neither), through the outbox like every other message, each with the same tracking link; the
// technician hears of each change to their agenda.
func TestEveryChangeIsToldOnceInOrder(t *testing.T) {
	b := setup(t)
	paris := b.parisBusiness()
	b.svc.Env.Notifier = dispatch.Outbox{}
	first := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	second := b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	cust, disp := b.token(dispatch.RoleCustomer, "zoe"), b.token(dispatch.RoleDispatcher, "disp")
	if r := b.do("PUT", "/v1/customers/me/devices", cust, map[string]any{"token": "zoe-phone", "platform": "ios"}); r.Status != 200 {
		t.Fatalf("device: %d %s", r.Status, r.Body)
	}
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	job := jobOf(t, bk)
	if job["technician_id"] != float64(first) {
		t.Fatalf("planned %v", job)
	}
	path := fmt.Sprintf("/v1/jobs/%v", job["id"])
	accept := func(sub string) {
		t.Helper()
		if r := b.do("POST", path+"/accept", b.token(dispatch.RoleTechnician, sub), nil); r.Status != 200 {
			t.Fatalf("%s accepts: %d %s", sub, r.Status, r.Body)
		}
	}
	assign := func(at time.Time) {
		t.Helper()
		if r := b.do("POST", path+"/assign", disp, map[string]any{"technician_id": second, "planned_start": at.Format(time.RFC3339)}); r.Status != 200 {
			t.Fatalf("assign: %d %s", r.Status, r.Body)
		}
	}
	now := b.clock.Now()                          // Fri 20 Nov 10:00 in Paris
	accept("tech-a")                              // confirmed, 10:00–12:00
	assign(now.Add(4 * time.Hour))                // tech-b at 14:00: moved, another technician
	accept("tech-b")                              // confirmed, 14:00–16:00
	assign(now.Add(4*time.Hour + 30*time.Minute)) // 14:30, the same window: the customer is not told
	accept("tech-b")                              // (the re-assignment is offered again)
	assign(now.Add(29 * time.Hour))               // Sat 15:00, past the offer horizon: moved; tech-b told
	if r := b.do("POST", path+"/unassign", disp, map[string]any{"reason": "parts late"}); r.Status != 200 {
		t.Fatalf("unassign: %d %s", r.Status, r.Body)
	}
	var kinds, titles []string
	links := map[string]bool{}
	got := b.inboxOf(dispatch.RoleCustomer, "zoe")
	for _, n := range got {
		kinds, titles = append(kinds, n["kind"].(string)), append(titles, n["title"].(string))
		url, _ := n["data"].(map[string]any)["tracking_url"].(string)
		links[url] = true
		if !strings.Contains(n["body"].(string), url) || !strings.Contains(url, "/t/") {
			t.Errorf("%s %q carries no tracking link (%q)", n["kind"], n["body"], url)
		}
	}
	if fmt.Sprint(kinds) != "[received confirmed moved confirmed confirmed moved moved]" {
		t.Fatalf("the customer heard %v: %v", kinds, titles)
	}
	if len(links) != 1 {
		t.Errorf("tracking links %v, want one for the booking", links)
	}
	wantWindow := func(n map[string]any, start time.Time) {
		t.Helper()
		data := n["data"].(map[string]any)
		if !parseTime(t, data["window_start"]).Equal(start) || !strings.Contains(n["body"].(string), dispatch.TellWindow(dispatch.PromisedWindow(start, paris), paris)) {
			t.Errorf("%s %q (%v), want the window from %s", n["title"], n["body"], data, start.In(paris))
		}
	}
	wantWindow(got[0], time.Date(2026, 11, 20, 10, 0, 0, 0, paris))
	wantWindow(got[2], time.Date(2026, 11, 20, 14, 0, 0, 0, paris))
	wantWindow(got[5], time.Date(2026, 11, 21, 14, 0, 0, 0, paris))
	if got[2]["title"] != "Your visit moved" || !strings.Contains(got[2]["body"].(string), "Another technician") || got[6]["title"] != "We are finding a new time" {
		t.Errorf("moves told as %v", titles)
	}
	var tech []string
	for _, n := range b.inboxOf(dispatch.RoleTechnician, "tech-b") {
		tech = append(tech, n["kind"].(string))
	}
	if fmt.Sprint(tech) != "[offer offer change cancellation]" {
		t.Errorf("tech-b heard %v", tech)
	}
	var pushed int
	if err := b.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM push_deliveries p JOIN notifications n ON n.id = p.notification_id
		WHERE n.recipient_kind = 'customer' AND p.token = 'zoe-phone'`).Scan(&pushed); err != nil || pushed != len(got) {
		t.Fatalf("%d pushes to the customer's phone (%v), want one per message (%d)", pushed, err, len(got))
	}
}
