package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
)

// A Lyon technician on shift every day 08:00–20:00 (Europe/Paris).
func (b *testBundle) technician(sub string, skills []string, lat, lng float64) int64 {
	b.t.Helper()
	days := []map[string]string{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		days = append(days, map[string]string{"day": d, "start": "08:00", "end": "20:00"})
	}
	r := b.do("POST", "/v1/technicians", b.token(dispatch.RoleAdmin, "admin"), map[string]any{
		"subject": sub, "name": sub + " Tech", "skills": skills, "home": map[string]any{"lat": lat, "lng": lng},
		"time_zone": "Europe/Paris", "weekly_shifts": days})
	if r.Status != 201 {
		b.t.Fatalf("create technician: %d %s", r.Status, r.Body)
	}
	return int64(r.json(b.t)["id"].(float64))
}

func jobOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	if j, ok := m["job"].(map[string]any); ok {
		return j
	}
	t.Fatalf("no job in %v", m)
	return nil
}

func (b *testBundle) auditCount(entity string, id any, action string) int {
	b.t.Helper()
	var n int
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE entity=$1 AND entity_id=$2 AND action=$3",
		entity, id, action).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// TestVisitLifecycle: book → offer → accept → en route → on site (SLA met) → completed.
func TestVisitLifecycle(t *testing.T) {
	b := setup(t)
	techID := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	if r := b.do("PUT", "/v1/technicians/me/devices", tech, map[string]any{"token": "fcm-a-1", "platform": "android", "app_version": "2.3.0"}); r.Status != 200 {
		t.Fatalf("device: %d %s", r.Status, r.Body)
	}
	cust := b.token(dispatch.RoleCustomer, "cust")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	job := jobOf(t, bk)
	if job["status"] != "offered" || job["technician_id"] != float64(techID) || job["planned_start"] == nil {
		t.Fatalf("booking was not offered to the only technician: %v", job)
	}
	jobID := int64(job["id"].(float64))
	inbox := b.do("GET", "/v1/technicians/me/inbox", tech, nil).json(t)["items"].([]any)
	if len(inbox) != 1 || inbox[0].(map[string]any)["kind"] != "offer" {
		t.Fatalf("inbox %v", inbox)
	}
	agenda := b.do("GET", "/v1/technicians/me/jobs", tech, nil).json(t)["items"].([]any)
	if len(agenda) != 1 || agenda[0].(map[string]any)["eta"] == nil {
		t.Fatalf("agenda %v", agenda)
	}
	path := fmt.Sprintf("/v1/jobs/%d", jobID)
	wantProblem(t, b.do("POST", path+"/status", tech, map[string]any{"status": "on_site"}), 409, "invalid_transition")
	if r := b.do("POST", path+"/accept", tech, nil); r.Status != 200 || jobOf(t, r.json(t))["status"] != "accepted" {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", path+"/accept", tech, nil), 409, "no_open_offer")
	b.clock.Set(b.clock.Now().Add(time.Hour))
	tech = b.token(dispatch.RoleTechnician, "tech-a")
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "en_route", "location": map[string]any{"lat": 45.75, "lng": 4.85}}); r.Status != 200 {
		t.Fatalf("en route: %d %s", r.Status, r.Body)
	}
	seen := b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), cust, nil).json(t)
	if seen["status"] != "in_progress" || seen["eta"] == nil || seen["technician_name"] != "tech-a" {
		t.Fatalf("customer's view while en route: status %v eta %v name %v", seen["status"], seen["eta"], seen["technician_name"])
	}
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "on_site"}); r.Status != 200 {
		t.Fatalf("on site: %d %s", r.Status, r.Body)
	}
	r := b.do("POST", path+"/status", tech, map[string]any{"status": "completed", "outcome": "fixed", "notes": "replaced the belt",
		"parts_used": []any{map[string]any{"sku": "BELT-1200", "quantity": 1}}})
	if r.Status != 200 || jobOf(t, r.json(t))["status"] != "completed" {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	got := b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), cust, nil).json(t)
	if got["status"] != "completed" {
		t.Fatalf("booking %v", got["status"])
	}
	var slaMet bool
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT (data->>'sla_met')::boolean FROM audit_events WHERE entity='job' AND entity_id=$1 AND action='on_site'", jobID).Scan(&slaMet); err != nil || !slaMet {
		t.Fatalf("on-site audit: sla_met=%v err=%v", slaMet, err)
	}
	for _, a := range []string{"planned", "offered", "accepted", "en_route", "on_site", "completed"} {
		if n := b.auditCount("job", jobID, a); n != 1 {
			t.Errorf("audit %s: %d events", a, n)
		}
	}
}

func TestOfferExpiryAndDecline(t *testing.T) {
	b := setup(t)
	a := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	c := b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	cust := b.token(dispatch.RoleCustomer, "cust")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if job["technician_id"] != float64(a) {
		t.Fatalf("nearest technician not chosen: %v", job)
	}
	jobID := job["id"]

	// Tech A lets the offer expire: it goes to tech B.
	b.clock.Set(b.clock.Now().Add(11 * time.Minute))
	n, err := b.svc.Offers.ExpireOffers(t.Context(), 10)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	var techID int64
	var status string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, status FROM jobs WHERE id=$1", jobID).Scan(&techID, &status); err != nil {
		t.Fatal(err)
	}
	if techID != c || status != "offered" {
		t.Fatalf("after expiry: technician %d status %s, want %d offered", techID, status, c)
	}
	// A late accept from A is refused.
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", jobID), b.token(dispatch.RoleTechnician, "tech-a"), nil), 404, "job_not_found")

	// B declines: nobody is left who has not refused.
	r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/decline", jobID), b.token(dispatch.RoleTechnician, "tech-b"), map[string]any{"reason": "van broke down"})
	if r.Status != 200 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	if got := jobOf(t, r.json(t)); got["status"] != "unassigned" || got["technician_id"] != nil {
		t.Fatalf("after decline: %v", got)
	}
	if b.auditCount("job", jobID, "expired") != 1 || b.auditCount("job", jobID, "declined") != 1 {
		t.Fatal("expiry and decline not audited once each")
	}
	board := b.do("GET", "/v1/board", b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)
	if len(board["unassigned"].([]any)) != 1 {
		t.Fatalf("board unassigned: %v", board["unassigned"])
	}
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%v/decline", jobID), b.token(dispatch.RoleTechnician, "tech-b"), map[string]any{}), 400, "missing_field")
}

func TestIncompleteVisitPlansRevisit(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	cust := b.token(dispatch.RoleCustomer, "cust")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := fmt.Sprintf("/v1/jobs/%v", jobOf(t, bk)["id"])
	for _, step := range []map[string]any{{"status": "en_route"}, {"status": "on_site"}} {
		if step["status"] == "en_route" {
			if r := b.do("POST", path+"/accept", tech, nil); r.Status != 200 {
				t.Fatalf("accept %d %s", r.Status, r.Body)
			}
		}
		if r := b.do("POST", path+"/status", tech, step); r.Status != 200 {
			t.Fatalf("%v: %d %s", step, r.Status, r.Body)
		}
	}
	wantProblem(t, b.do("POST", path+"/status", tech, map[string]any{"status": "incomplete"}), 400, "invalid_outcome")
	if r := b.do("POST", path+"/status", tech, map[string]any{"status": "incomplete", "outcome": "needs_parts", "notes": "pump on order"}); r.Status != 200 {
		t.Fatalf("incomplete: %d %s", r.Status, r.Body)
	}
	got := b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), cust, nil).json(t)
	jobs := got["jobs"].([]any)
	if len(jobs) != 2 || jobs[0].(map[string]any)["status"] != "incomplete" {
		t.Fatalf("jobs %v", jobs)
	}
	revisit := jobs[1].(map[string]any)
	if revisit["visit"] != float64(2) || revisit["technician_id"] == nil {
		t.Fatalf("revisit not planned: %v", revisit)
	}
	// The revisit must not overlap the first visit's time.
	_ = http.StatusOK
}

// TestJobAuthorization: a technician cannot see or act on another technician's job; a customer
// cannot see another customer's booking.
func TestJobAuthorization(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.technician("tech-z", []string{"fridge"}, 45.76, 4.84)
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), washerBooking(nil)).json(t)
	job := jobOf(t, bk)
	intruder := b.token(dispatch.RoleTechnician, "tech-z")
	owner := b.token(dispatch.RoleTechnician, "tech-a")
	path := fmt.Sprintf("/v1/jobs/%v", job["id"])
	wantProblem(t, b.do("POST", path+"/accept", intruder, nil), 404, "job_not_found")
	wantProblem(t, b.do("POST", path+"/decline", intruder, map[string]any{"reason": "x"}), 404, "job_not_found")
	wantProblem(t, b.do("POST", path+"/status", intruder, map[string]any{"status": "en_route"}), 404, "job_not_found")
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), intruder, nil), 404, "booking_not_found")
	if r := b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), owner, nil); r.Status != 200 {
		t.Fatalf("assigned technician reads booking: %d", r.Status)
	}
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), b.token(dispatch.RoleCustomer, "nosy"), nil), 404, "booking_not_found")
	wantProblem(t, b.do("GET", "/v1/technicians/me/jobs", b.token(dispatch.RoleTechnician, "ghost"), nil), 403, "forbidden")
}

// TestCustomerNotificationSequence: the customer hears, in order, confirmed (with the window
// and the technician's first name), on the way (ETA), arrived, completed.
func TestCustomerNotificationSequence(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "zoe")
	if r := b.do("PUT", "/v1/customers/me/devices", cust, map[string]any{"token": "cust-phone-1", "platform": "ios"}); r.Status != 200 {
		t.Fatalf("customer device: %d %s", r.Status, r.Body)
	}
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := fmt.Sprintf("/v1/jobs/%v", jobOf(t, bk)["id"])
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	b.do("POST", path+"/accept", tech, nil)
	for _, st := range []string{"en_route", "on_site", "completed"} {
		if r := b.do("POST", path+"/status", tech, map[string]any{"status": st}); r.Status != 200 {
			t.Fatalf("%s: %d %s", st, r.Status, r.Body)
		}
	}
	items := b.do("GET", "/v1/customers/me/inbox", cust, nil).json(t)["items"].([]any)
	var kinds []string
	for i := len(items) - 1; i >= 0; i-- { // the inbox is newest first
		kinds = append(kinds, items[i].(map[string]any)["kind"].(string))
	}
	// Proof of work's hook sends the service report's link inside the completion, before lifecycle's own word.
	if fmt.Sprint(kinds) != "[received confirmed on_the_way arrived service_report completed]" {
		t.Fatalf("customer heard %v", kinds)
	}
	confirmed := items[len(items)-2].(map[string]any)
	if data := confirmed["data"].(map[string]any); data["technician_first_name"] != "tech-a" || data["window_start"] == nil {
		t.Fatalf("confirmed %v", confirmed)
	}
	if eta := items[len(items)-3].(map[string]any)["data"].(map[string]any)["eta"]; eta == nil {
		t.Fatal("on_the_way without an ETA")
	}
	// Another customer's inbox stays empty.
	if items := b.do("GET", "/v1/customers/me/inbox", b.token(dispatch.RoleCustomer, "other"), nil).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("other customer's inbox %v", items)
	}
}

// TestNotificationLogPrintsIDs: without FCM the log is the push channel, and issue 19 found it
// printing pointers (job_id=0x270b93cb13c0). The technician's offer and the customer's "received"
// (written with the booking) and the customer's confirmation (written on accept) each log the
// notification, job and booking ids.
func TestNotificationLogPrintsIDs(t *testing.T) {
	b := setup(t)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "fieldfix.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	b.svc.Env.Notifier = dispatch.LogNotifier{Log: slog.New(slog.NewTextHandler(logFile, nil))}
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "zoe"), washerBooking(nil)).json(t)
	job := jobOf(t, bk)
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", job["id"]), b.token(dispatch.RoleTechnician, "tech-a"), nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	var ids []int64
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT array_agg(id ORDER BY id) FROM notifications").Scan(&ids); err != nil || len(ids) != 3 {
		t.Fatalf("notifications %v (%v), want the offer, the receipt and the confirmation", ids, err)
	}
	out, err := os.ReadFile(logFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("log:\n%s", out)
	}
	for i, kind := range []string{"technician:tech-a kind=offer", "customer:zoe kind=received", "customer:zoe kind=confirmed"} {
		want := fmt.Sprintf("msg=notification notification_id=%d to=%s job_id=%v booking_id=%v ", ids[i], kind, job["id"], bk["id"])
		if !strings.Contains(lines[i], want) {
			t.Errorf("log line %q\ndoes not hold %q", lines[i], want)
		}
	}
}

// TestOfferExpiresAtItsTime: the lifecycle loop wakes when the earliest offer lapses, not on its
// (here one-minute) tick, and the job goes to the next technician.
func TestOfferExpiresAtItsTime(t *testing.T) {
	b := setup(t)
	first := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	second := b.technician("tech-b", []string{"washer"}, 45.70, 4.90)
	svc := services.New(postgres.New(b.db.Pool), dispatch.DefaultRules(), nil, nil) // the wall clock
	svc.Offers.Config.OfferTTL = 400 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Offers.RunLifecycle(ctx, time.Minute)
	bk, _, err := svc.Intake.CreateBooking(ctx, dispatch.Actor{Subject: "c", Role: dispatch.RoleCustomer}, intake.BookingRequest{
		Appliance: "washer", Problem: "x", Address: "y", Location: dispatch.Location{Lat: 45.764, Lng: 4.8357}}, "", "")
	if err != nil || *bk.CurrentJob().TechnicianID != first {
		t.Fatalf("booking %v %v", bk.CurrentJob(), err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var tech int64
		_ = b.db.Pool.QueryRow(t.Context(), "SELECT technician_id FROM jobs WHERE id = $1", bk.CurrentJob().ID).Scan(&tech)
		if tech == second {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the offer did not expire at its time (technician %d)", tech)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOfferDueGoesOnPastAJobItCannotOffer: two jobs planned beyond the offer horizon enter it;
// the first cannot be offered (its row cannot be locked, every time). It is reported, and the
// second is offered all the same: before, the lifecycle loop stopped at the first every tick
// and no later job was ever offered.
func TestOfferDueGoesOnPastAJobItCannotOffer(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "cust")
	var jobs []map[string]any
	for _, hour := range []int{9, 13} { // two days ahead, past the 24 h offer horizon
		w := washerBooking(nil)
		start := time.Date(2026, 11, 22, hour, 0, 0, 0, time.UTC)
		w["preferred_windows"] = []any{map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(2 * time.Hour).Format(time.RFC3339)}}
		j := jobOf(t, b.do("POST", "/v1/bookings", cust, w).json(t))
		if j["status"] != "planned" || j["technician_id"] == nil {
			t.Fatalf("not planned for later: %v", j)
		}
		jobs = append(jobs, j)
	}
	b.clock.Set(time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC)) // both inside the horizon now
	poisoned := jobs[0]["id"].(float64)
	svc := b.hookedService(hookedStore{failLockJob: int64(poisoned)})
	n, err := svc.Offers.OfferDue(t.Context(), 10)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("offer job %v", poisoned)) || n != 1 {
		t.Fatalf("offered %d, %v: want the second offered and the first reported", n, err)
	}
	var status string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT status FROM jobs WHERE id = $1", jobs[1]["id"]).Scan(&status); err != nil || status != "offered" {
		t.Fatalf("the second job is %q (%v), want offered", status, err)
	}
}
