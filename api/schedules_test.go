package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestWatchdogRedispatchesALateTechnician: a technician 30+ minutes late for an accepted visit
// loses it to a colleague who can still make the due time.
func TestWatchdogRedispatchesALateTechnician(t *testing.T) {
	b := setup(t)
	late := b.technician("late", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "cust")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", job["id"]), b.token(dispatch.RoleTechnician, "late"), nil)
	spare := b.technician("spare", []string{"washer"}, 45.75, 4.85)
	start, _ := time.Parse(time.RFC3339, job["planned_start"].(string))
	b.clock.Set(start.Add(31 * time.Minute))
	sum, err := b.svc.Watchdog.SLAWatchdog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Redispatched != 1 {
		t.Fatalf("watchdog %+v", sum)
	}
	var tech int64
	var status string
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, status FROM jobs WHERE id = $1", job["id"]).Scan(&tech, &status); err != nil || tech != spare || status != "offered" {
		t.Fatalf("job now %d %s (%v), want %d offered", tech, status, err, spare)
	}
	if b.auditCount("job", job["id"], "redispatch") != 1 {
		t.Fatal("re-dispatch not audited")
	}
	_ = late
	// A second run at the same moment changes nothing.
	if sum, _ := b.svc.Watchdog.SLAWatchdog(context.Background()); sum.Redispatched != 0 || sum.Flagged != 0 {
		t.Fatalf("second run %+v", sum)
	}
}

// TestWatchdogFlagsAndRecordsBreachOnce: a booking nobody can take is flagged (dispatchers are
// told), and when its due time passes the breach is recorded once, however often the watchdog runs.
func TestWatchdogFlagsAndRecordsBreachOnce(t *testing.T) {
	b := setup(t)
	b.technician("fridge-only", []string{"fridge"}, 45.76, 4.84)
	disp := b.token(dispatch.RoleDispatcher, "disp")
	if r := b.do("PUT", "/v1/dispatchers/me/devices", disp, map[string]any{"token": "disp-phone", "platform": "android"}); r.Status != 200 {
		t.Fatalf("dispatcher device: %d %s", r.Status, r.Body)
	}
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), washerBooking(nil)).json(t) // paid: due in 24 h
	due, _ := time.Parse(time.RFC3339Nano, bk["sla_due_at"].(string))

	b.clock.Set(due.Add(-5 * time.Hour))
	for range 2 {
		if _, err := b.svc.Watchdog.SLAWatchdog(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.auditCount("booking", bk["id"], "at_risk"); n != 1 {
		t.Fatalf("at_risk audited %d times", n)
	}
	var atRisk bool
	_ = b.db.Pool.QueryRow(t.Context(), "SELECT at_risk FROM bookings WHERE id = $1", bk["id"]).Scan(&atRisk)
	if !atRisk {
		t.Fatal("booking not flagged")
	}
	var told int
	_ = b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM notifications WHERE recipient_kind = 'dispatcher' AND booking_id = $1", bk["id"]).Scan(&told)
	if told != 1 {
		t.Fatalf("dispatchers told %d times", told)
	}
	if items := b.do("GET", "/v1/dispatchers/me/inbox", b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["items"].([]any); len(items) != 1 {
		t.Fatalf("dispatcher inbox %v", items)
	}
	board := b.do("GET", "/v1/board", b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)
	if len(board["at_risk"].([]any)) != 1 {
		t.Fatalf("board at risk %v", board["at_risk"])
	}

	b.clock.Set(due.Add(time.Minute))
	for range 3 {
		if _, err := b.svc.Watchdog.SLAWatchdog(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.auditCount("booking", bk["id"], "sla_breached"); n != 1 {
		t.Fatalf("breach recorded %d times", n)
	}
}

// TestWatchdogWaitsBeforePlanningAgain: a job the wider search could not rescue stays flagged and
// is not planned again at every run, but after its wait (sooner as its due time nears); a run
// whose planning budget is spent still flags what it could not plan.
func TestWatchdogWaitsBeforePlanningAgain(t *testing.T) {
	b := setup(t)
	b.technician("fridge-only", []string{"fridge"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "cust")
	first := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	due, _ := time.Parse(time.RFC3339Nano, first["sla_due_at"].(string))
	atRisk := func(id any) bool {
		var flag bool
		_ = b.db.Pool.QueryRow(t.Context(), "SELECT at_risk FROM bookings WHERE id = $1", id).Scan(&flag)
		return flag
	}
	run := func() watchdogSummary {
		t.Helper()
		sum, err := b.svc.Watchdog.SLAWatchdog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return watchdogSummary{sum.AtRisk, sum.Redispatched, sum.Flagged, sum.Deferred}
	}
	b.clock.Set(due.Add(-5 * time.Hour))
	if got := run(); got != (watchdogSummary{1, 0, 1, 0}) {
		t.Fatalf("first run %+v, want the job planned, no rescue, flagged", got)
	}
	// A washer technician joins: the job still waits out its 2 minutes, flagged.
	b.technician("washer", []string{"washer"}, 45.75, 4.85)
	b.clock.Set(due.Add(-5*time.Hour + time.Minute))
	if got := run(); got != (watchdogSummary{1, 0, 0, 1}) || !atRisk(first["id"]) {
		t.Fatalf("a minute later %+v (flagged %v), want it deferred and still flagged", got, atRisk(first["id"]))
	}
	b.clock.Set(due.Add(-5*time.Hour + 2*time.Minute))
	if got := run(); got.redispatched != 1 || atRisk(first["id"]) {
		t.Fatalf("after its wait %+v (flagged %v), want it rescued and cleared", got, atRisk(first["id"]))
	}

	// No budget left: nothing is planned, and a new at-risk job is flagged all the same.
	second := b.anotherWasherBooking()
	if _, err := b.db.Pool.Exec(t.Context(), "UPDATE jobs SET technician_id = NULL, planned_start = NULL, planned_end = NULL, status = 'unassigned' WHERE booking_id = $1", second["id"]); err != nil {
		t.Fatal(err)
	}
	b.svc.Watchdog.Config.TickBudget = 0
	due2, _ := time.Parse(time.RFC3339Nano, second["sla_due_at"].(string))
	b.clock.Set(due2.Add(-5 * time.Hour))
	// (The first visit, whose technician never came, is at risk again: deferred too.)
	if got := run(); got.redispatched != 0 || got.deferred != got.atRisk || got.flagged != got.atRisk || !atRisk(second["id"]) {
		t.Fatalf("with no budget %+v (flagged %v), want the job deferred and flagged", got, atRisk(second["id"]))
	}
}

type watchdogSummary struct{ atRisk, redispatched, flagged, deferred int }

// anotherWasherBooking books a second washer visit for customer "cust", at another address, with
// a token issued at the test clock's hour (the first one's may have expired); it returns the booking.
func (b *testBundle) anotherWasherBooking() map[string]any {
	b.t.Helper()
	req := washerBooking(nil)
	req["address"] = "3 quai Perrache"
	r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), req)
	if r.Status != 201 {
		b.t.Fatalf("second booking: %d %s", r.Status, r.Body)
	}
	return r.json(b.t)
}

func TestFollowUpOncePerBooking(t *testing.T) {
	b := setup(t)
	var hooks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Idempotency-Key") == "" {
			w.WriteHeader(400)
			return
		}
		hooks.Add(1)
	}))
	defer hook.Close()
	b.svc.Aftersales.FollowUp.Webhook = func(ctx context.Context, id int64, sub string) error {
		req, _ := http.NewRequestWithContext(ctx, "POST", hook.URL, nil)
		req.Header.Set("Idempotency-Key", fmt.Sprint(id))
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "fay")
	bk := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	jid := jobOf(t, bk)["id"]
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", jid), tech, nil)
	for _, st := range []string{"en_route", "on_site", "completed"} {
		b.do("POST", fmt.Sprintf("/v1/jobs/%v/status", jid), tech, map[string]any{"status": st})
	}
	if n, _ := b.svc.Aftersales.FollowUps(context.Background()); n != 0 {
		t.Fatalf("asked %d before 24 h", n)
	}
	b.clock.Set(b.clock.Now().Add(25 * time.Hour))
	for i, want := range []int{1, 0} {
		if n, err := b.svc.Aftersales.FollowUps(context.Background()); err != nil || n != want {
			t.Fatalf("run %d: %d sent (%v), want %d", i, n, err, want)
		}
	}
	if hooks.Load() != 1 {
		t.Fatalf("webhook called %d times", hooks.Load())
	}
	items := b.do("GET", "/v1/customers/me/inbox", b.token(dispatch.RoleCustomer, "fay"), nil).json(t)["items"].([]any)
	if items[0].(map[string]any)["kind"] != "feedback_request" {
		t.Fatalf("inbox %v", items[0])
	}
}

func TestKPIRollupAndStaleDevices(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	if r := b.do("PUT", "/v1/technicians/me/devices", b.token(dispatch.RoleTechnician, "tech-a"), map[string]any{"token": "old-phone", "platform": "ios"}); r.Status != 200 {
		t.Fatalf("device %d", r.Status)
	}
	b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "c"), washerBooking(nil))
	day := dispatch.DateOf(b.clock.Now())
	for range 2 { // idempotent: the second run rewrites the same rows
		if err := b.svc.Aftersales.RollUpKPIs(context.Background(), day); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	_ = b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM kpi_daily").Scan(&rows)
	if rows != 4 { // all, tier (paid), region (one), technician (one)
		t.Fatalf("%d roll-up rows", rows)
	}
	r := b.do("GET", "/v1/kpis?daily=true&group_by=tier&from="+day.Time().Format(time.RFC3339)+"&to="+day.AddDays(1).Time().Format(time.RFC3339), b.token(dispatch.RoleDispatcher, "d"), nil)
	days := r.json(t)["days"].([]any)
	if len(days) != 1 || days[0].(map[string]any)["group"] != "paid" || days[0].(map[string]any)["bookings"] != float64(1) {
		t.Fatalf("daily kpis %s", r.Body)
	}
	b.clock.Set(b.clock.Now().Add(31 * 24 * time.Hour))
	if n, err := b.svc.Lifecycle.DisableStaleDevices(context.Background(), 30*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("disabled %d (%v)", n, err)
	}
	var active bool
	_ = b.db.Pool.QueryRow(t.Context(), "SELECT active FROM devices WHERE token = 'old-phone'").Scan(&active)
	if active {
		t.Fatal("stale device still active")
	}
}

// TestWatchdogGoesOnPastAJobItCannotHandle: one at-risk job whose handling fails every time (here
// its row cannot be locked) is reported, but the other at-risk bookings are still flagged and
// every breach is still recorded: one bad row must not switch the watchdog off.
func TestWatchdogGoesOnPastAJobItCannotHandle(t *testing.T) {
	b := setup(t)
	b.technician("fridge-only", []string{"fridge"}, 45.76, 4.84) // nobody can take a washer
	cust := b.token(dispatch.RoleCustomer, "cust")
	first := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	b.clock.Set(b.clock.Now().Add(time.Minute))
	second := b.anotherWasherBooking()
	poisoned := jobOf(t, first)["id"].(float64)

	svc := b.hookedService(hookedStore{failLockJob: int64(poisoned)})
	due, _ := time.Parse(time.RFC3339Nano, second["sla_due_at"].(string))
	b.clock.Set(due.Add(time.Minute)) // both are past their due time
	sum, err := svc.Watchdog.SLAWatchdog(t.Context())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("watchdog job %v", poisoned)) {
		t.Fatalf("the failing job was not reported: %v", err)
	}
	if sum.Flagged != 1 || len(sum.Breaches) != 2 {
		t.Fatalf("watchdog %+v: want the other booking flagged and both breaches recorded", sum)
	}
	for _, bk := range []map[string]any{first, second} {
		if n := b.auditCount("booking", bk["id"], "sla_breached"); n != 1 {
			t.Fatalf("booking %v: breach recorded %d times", bk["id"], n)
		}
	}
	if n := b.auditCount("booking", second["id"], "at_risk"); n != 1 {
		t.Fatalf("the other booking was flagged %d times", n)
	}
}

// TestFollowUpsGoOnPastAFailingOne: the follow-up webhook refuses one booking every time. That
// booking is reported and asked again next run; the other customer is asked all the same (the
// run used to stop at the first failure, so one refused booking held up every one after it).
func TestFollowUpsGoOnPastAFailingOne(t *testing.T) {
	b := setup(t)
	ids := b.completedVisits("gil", "hana")
	refused := int64(ids[0].(float64))
	b.svc.Aftersales.FollowUp.Webhook = func(_ context.Context, id int64, _ string) error {
		if id == refused {
			return errors.New("the webhook answered 400")
		}
		return nil
	}
	b.clock.Set(b.clock.Now().Add(25 * time.Hour))
	for run := range 2 {
		n, err := b.svc.Aftersales.FollowUps(t.Context())
		if want := 1 - run; n != want || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("follow-up booking %d", refused)) {
			t.Fatalf("run %d: %d asked (%v), want %d and the refused booking reported", run, n, err, want)
		}
	}
	if b.auditCount("booking", ids[0], "followup_sent") != 0 || b.auditCount("booking", ids[1], "followup_sent") != 1 {
		t.Fatal("want the other customer asked once and the refused booking not marked asked")
	}
}

// TestReoptimizeRegionsGoesOnPastAFailingRegion: re-optimising one region fails every time (its
// movable jobs cannot be read). It is reported, and the other region is re-optimised all the
// same: the scheduled run used to stop at the first failing region, in the same order each time.
func TestReoptimizeRegionsGoesOnPastAFailingRegion(t *testing.T) {
	b := setup(t)
	b.technician("lyon", []string{"washer"}, 45.76, 4.84)
	b.technician("paris", []string{"washer"}, 48.86, 2.35)
	cust := b.token(dispatch.RoleCustomer, "cust")
	lyon := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	w := washerBooking(nil)
	w["address"], w["location"] = "1 rue de Rivoli, Paris", map[string]any{"lat": 48.856, "lng": 2.352}
	paris := b.do("POST", "/v1/bookings", cust, w).json(t)
	if lyon["region"] == paris["region"] {
		t.Fatalf("one region for both: %v", lyon["region"])
	}
	broken, fine := lyon["region"].(string), paris["region"].(string)
	if fine < broken { // the region that fails comes first
		broken, fine = fine, broken
	}
	svc := b.hookedService(hookedStore{failMovable: broken})
	out, err := svc.Optimize.ReoptimizeRegions(t.Context(), 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "region "+broken) {
		t.Fatalf("the failing region was not reported: %v", err)
	}
	if _, ok := out[fine]; !ok || len(out) != 1 {
		t.Fatalf("re-optimised %v, want region %s", out, fine)
	}
}

// TestFollowUpsStopWhenTheWebhookIsDown: three failures in a row end the run (each try holds a
// transaction for the webhook's timeout); the next run tries again.
func TestFollowUpsStopWhenTheWebhookIsDown(t *testing.T) {
	b := setup(t)
	b.completedVisits("ida", "jo", "kim", "lou")
	var calls atomic.Int32
	b.svc.Aftersales.FollowUp.Webhook = func(context.Context, int64, string) error {
		calls.Add(1)
		return errors.New("connection refused")
	}
	b.clock.Set(b.clock.Now().Add(25 * time.Hour))
	if n, err := b.svc.Aftersales.FollowUps(t.Context()); n != 0 || err == nil || calls.Load() != 3 {
		t.Fatalf("%d asked (%v) after %d webhook calls, want none after 3", n, err, calls.Load())
	}
}

// completedVisits books a washer repair for each customer, done by one technician (created
// here), and returns the bookings' ids in that order.
func (b *testBundle) completedVisits(customers ...string) []any {
	b.t.Helper()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	var ids []any
	for _, sub := range customers {
		bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, sub), washerBooking(nil)).json(b.t)
		jid := jobOf(b.t, bk)["id"]
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", jid), tech, nil); r.Status != 200 {
			b.t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		for _, st := range []string{"en_route", "on_site", "completed"} {
			if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/status", jid), tech, map[string]any{"status": st}); r.Status != 200 {
				b.t.Fatalf("%s: %d %s", st, r.Status, r.Body)
			}
		}
		ids = append(ids, bk["id"])
	}
	return ids
}
