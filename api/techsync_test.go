package api_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// pull is one GET /v1/technicians/me/sync (cursor "" for the whole world).
func (b *testBundle) pull(tech, cursor string) map[string]any {
	b.t.Helper()
	path := "/v1/technicians/me/sync"
	if cursor != "" {
		path += "?cursor=" + url.QueryEscape(cursor)
	}
	r := b.do("GET", path, tech, nil)
	if r.Status != http.StatusOK {
		b.t.Fatalf("pull: %d %s", r.Status, r.Body)
	}
	return r.json(b.t)
}

// pullSettled pulls from cursor until a pull brings nothing new (the watermark is held back
// while any write transaction of the cluster runs, parallel tests' included), gathering every
// pull's answers into one; at most 5 s.
func (b *testBundle) pullSettled(tech, cursor string) map[string]any {
	b.t.Helper()
	all := map[string]any{"upserts": map[string]any{"jobs": []any{}, "notifications": []any{}, "time_off": []any{}}, "removals": []any{}}
	deadline := time.Now().Add(5 * time.Second)
	// Every transaction that wrote before now has an id below this one: the world has settled
	// once a pull's watermark (its cursor) passes it and a pull brings nothing more. Stopping at
	// the first empty pull missed changes a background transaction still held below the mark.
	var now uint64
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT pg_current_xact_id()::text::bigint").Scan(&now); err != nil {
		b.t.Fatal(err)
	}
	for {
		w := b.pull(tech, cursor)
		up, allUp := w["upserts"].(map[string]any), all["upserts"].(map[string]any)
		n := len(w["removals"].([]any))
		for _, k := range []string{"jobs", "notifications", "time_off"} {
			n += len(up[k].([]any))
			allUp[k] = append(allUp[k].([]any), up[k].([]any)...)
		}
		all["removals"] = append(all["removals"].([]any), w["removals"].([]any)...)
		cursor = w["cursor"].(string)
		all["cursor"] = cursor
		mark, _ := strconv.ParseUint(strings.TrimPrefix(cursor, "1-"), 10, 64)
		if (n == 0 && mark > now) || time.Now().After(deadline) {
			return all
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// upserted are the ids of the jobs (or notifications, time_off) a pull puts.
func upserted(w map[string]any, what string) []int64 {
	var ids []int64
	for _, x := range w["upserts"].(map[string]any)[what].([]any) {
		ids = append(ids, int64(x.(map[string]any)["id"].(float64)))
	}
	return ids
}

// removed is what a pull drops: entity id → reason.
func removed(w map[string]any) map[string]string {
	out := map[string]string{}
	for _, x := range w["removals"].([]any) {
		m := x.(map[string]any)
		out[fmt.Sprintf("%s %v", m["entity"], m["id"])] = m["reason"].(string)
	}
	return out
}

// syncPush posts acts with the phone's clock at deviceNow; the results by key.
func (b *testBundle) syncPush(tech string, deviceNow time.Time, acts ...map[string]any) map[string]map[string]any {
	b.t.Helper()
	r := b.do("POST", "/v1/technicians/me/sync", tech, map[string]any{"device_time": deviceNow.Format(time.RFC3339Nano), "actions": acts})
	if r.Status != http.StatusOK {
		b.t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	out := map[string]map[string]any{}
	for _, x := range r.json(b.t)["results"].([]any) {
		m := x.(map[string]any)
		out[m["key"].(string)] = m
	}
	return out
}

// TestSyncPullsTheTechniciansWorld: the first pull is today's and tomorrow's world (the offer with
// its booking, customer, navigation link and checklist); later pulls bring what changed since
// their cursor: the job accepted, a notification, time off; a job given to someone else is a
// removal saying so.
func TestSyncPullsTheTechniciansWorld(t *testing.T) {
	b := setup(t)
	b.washerChecklist()
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "camille")
	cust := b.token(dispatch.RoleCustomer, "zoe")
	req := washerBooking(nil)
	req["contact_name"], req["contact_phone"] = "Zoé Martin", "+33 6 12 34 56 78"
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, req).json(t))

	w := b.pull(tech, "")
	if w["full"] != true || len(upserted(w, "jobs")) != 1 || upserted(w, "jobs")[0] != int64(job["id"].(float64)) {
		t.Fatalf("first pull: %v", w)
	}
	j := w["upserts"].(map[string]any)["jobs"].([]any)[0].(map[string]any)
	offer, _ := j["offer"].(map[string]any)
	cl, _ := j["checklist"].(map[string]any)
	if j["status"] != "offered" || offer == nil || offer["status"] != "open" || j["customer"].(map[string]any)["name"] != "Zoé Martin" ||
		j["booking"].(map[string]any)["address"] != req["address"] || cl == nil || len(cl["items"].([]any)) != 4 ||
		j["navigation"] != "geo:45.764000,4.835700?q=45.764000%2C4.835700%2812+rue+de+la+R%C3%A9publique%2C+Lyon%29" {
		t.Fatalf("the offered job lacks what the app shows: %v", j)
	}
	// The offer's notification is in the first pull, or (its transaction below the watermark
	// only later) in the next.
	cursor := w["cursor"].(string)
	if n := len(upserted(w, "notifications")) + len(upserted(b.pullSettled(tech, cursor), "notifications")); n != 1 {
		t.Fatalf("the offer's notification reached the phone %d times", n)
	}
	cursor = b.pull(tech, cursor)["cursor"].(string)
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", job["id"]), tech, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	w = b.pullSettled(tech, cursor)
	if ids := upserted(w, "jobs"); len(ids) != 1 || w["upserts"].(map[string]any)["jobs"].([]any)[0].(map[string]any)["status"] != "accepted" {
		t.Fatalf("the acceptance is not pulled: %v", w)
	}
	cursor = w["cursor"].(string)

	other := b.technician("dominique", []string{"fridge"}, 45.75, 4.85)
	disp := b.token(dispatch.RoleDispatcher, "disp")
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", job["id"]), disp, map[string]any{"technician_id": other}); r.Status != 200 {
		t.Fatalf("reassign: %d %s", r.Status, r.Body)
	}
	camilleID := b.technicianID("camille")
	if r := b.do("POST", fmt.Sprintf("/v1/technicians/%d/unavailable", camilleID), disp, map[string]any{"reason": "training"}); r.Status != 200 {
		t.Fatalf("time off: %d %s", r.Status, r.Body)
	}
	w = b.pullSettled(tech, cursor)
	if rm := removed(w); rm[fmt.Sprintf("job %v", job["id"])] != "reassigned" || len(upserted(w, "jobs")) != 0 {
		t.Fatalf("the reassigned job is not a removal: %v", w)
	}
	if len(upserted(w, "time_off")) != 1 || len(upserted(w, "notifications")) == 0 {
		t.Fatalf("time off and the cancellation's notification are not pulled: %v", w["upserts"])
	}
	// The notice names the visit as people do (B-1/1), not by its job id.
	if n := w["upserts"].(map[string]any)["notifications"].([]any)[0].(map[string]any); !strings.Contains(n["body"].(string), fmt.Sprintf("B-%v/1", job["booking_id"])) {
		t.Fatalf("the cancellation does not name the visit's reference: %v", n)
	}
	wantProblem(t, b.do("GET", "/v1/technicians/me/sync?cursor=nonsense", tech, nil), 400, "invalid_cursor")
	wantProblem(t, b.do("GET", "/v1/technicians/me/sync?cursor=1-999999999999", tech, nil), 400, "invalid_cursor")
	wantProblem(t, b.do("GET", "/v1/technicians/me/sync?since=1", tech, nil), 400, "unknown_filter")
}

func (b *testBundle) technicianID(sub string) int64 {
	b.t.Helper()
	var id int64
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT id FROM technicians WHERE subject = $1", sub).Scan(&id); err != nil {
		b.t.Fatal(err)
	}
	return id
}

// TestSyncCursorMissesNothingUnderConcurrentWriters: writers add notifications for the technician
// in transactions that stay open for random times, so they commit out of the order their ids
// (and transaction ids) were given, while the phone pulls with its cursor as fast as it can. Every
// notification reaches the phone exactly once.
func TestSyncCursorMissesNothingUnderConcurrentWriters(t *testing.T) {
	b := setup(t)
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "camille")
	cursor := b.pull(tech, "")["cursor"].(string)

	const writers, each = 6, 20
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tx, err := b.db.Pool.Begin(ctx)
				if err != nil {
					errs <- err
					return
				}
				if _, err := tx.Exec(ctx, `INSERT INTO notifications (recipient_kind, recipient_subject, kind, title, body, created_at)
					VALUES ('technician', 'camille', 'change', $1, '', now())`, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond) // commit later than transactions begun after this one
				if err := tx.Commit(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[int64]int{}
	pulls := 0
	collect := func() {
		w := b.pull(tech, cursor)
		pulls++
		for _, id := range upserted(w, "notifications") {
			seen[id]++
		}
		cursor = w["cursor"].(string)
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			collect()
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var total int
	if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM notifications WHERE recipient_subject = 'camille' AND kind = 'change'").Scan(&total); err != nil {
		t.Fatal(err)
	}
	// Every writer has committed; the watermark passes them once the cluster's transactions that
	// began before their last commit have ended (parallel tests' too).
	for deadline := time.Now().Add(10 * time.Second); len(seen) < total && time.Now().Before(deadline); {
		collect()
		time.Sleep(10 * time.Millisecond)
	}
	if total != writers*each || len(seen) != total {
		t.Fatalf("%d notifications written, %d reached the phone in %d pulls", total, len(seen), pulls)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("notification %d reached the phone %d times", id, n)
		}
	}
	t.Logf("%d notifications, each pulled once, in %d pulls", total, pulls)
}

// offeredTo books a washer repair the only washer technician (sub) is offered: the job.
func (b *testBundle) offeredTo(cust string) map[string]any {
	b.t.Helper()
	r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, cust), washerBooking(nil))
	if r.Status != http.StatusCreated {
		b.t.Fatalf("booking: %d %s", r.Status, r.Body)
	}
	return jobOf(b.t, r.json(b.t))
}

// TestSyncPushAppliesOfflineActsOnce: a day's acts made offline (accept, on the way, arrived,
// checklist, finished, pings) sent in one batch apply in order; the same batch again answers
// already_applied and changes nothing; a key used for another act is refused; a job given to
// someone else meanwhile answers a conflict that says so, without the job.
func TestSyncPushAppliesOfflineActsOnce(t *testing.T) {
	b := setup(t)
	b.washerChecklist()
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	b.svc.Offers.Config.OfferTTL = 2 * time.Hour // the phone accepts offline, in time, and syncs later
	tech := b.token(dispatch.RoleTechnician, "camille")
	job := b.offeredTo("zoe")
	second := b.offeredTo("yann")
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", second["id"]), tech, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	id := job["id"]
	t0 := b.clock.Now()
	b.clock.Set(t0.Add(40 * time.Minute)) // the phone comes back online
	now := b.clock.Now()
	acts := []map[string]any{
		{"key": "a1", "kind": "accept", "job_id": id, "occurred_at": t0.Add(time.Minute)},
		{"key": "a2", "kind": "status", "job_id": id, "status": "en_route", "occurred_at": t0.Add(5 * time.Minute)},
		{"key": "a3", "kind": "ping", "location": map[string]any{"lat": 45.762, "lng": 4.836}, "occurred_at": t0.Add(19 * time.Minute)},
		{"key": "a4", "kind": "status", "job_id": id, "status": "on_site", "occurred_at": t0.Add(20 * time.Minute)},
		{"key": "a5", "kind": "checklist", "job_id": id, "answers": map[string]any{"drum_spins": true, "motor_current": 4.5}, "occurred_at": t0.Add(30 * time.Minute)},
		{"key": "a6", "kind": "status", "job_id": id, "status": "completed", "notes": "belt replaced",
			"parts_used": []map[string]any{{"sku": "BELT-1", "name": "drive belt", "quantity": 1}}, "occurred_at": t0.Add(35 * time.Minute)},
	}
	res := b.syncPush(tech, now, acts...)
	for _, k := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		if res[k]["outcome"] != "applied" {
			t.Fatalf("%s: %v", k, res[k])
		}
	}
	done := res["a6"]["job"].(map[string]any)
	if done["status"] != "completed" || done["on_site_device_at"] != t0.Add(20*time.Minute).Format(time.RFC3339) ||
		done["on_site_at"] != now.Format(time.RFC3339) || done["finished_device_at"] != t0.Add(35*time.Minute).Format(time.RFC3339) {
		t.Fatalf("the device times are not kept beside the server's: %v", done)
	}

	again := b.syncPush(tech, now, acts...)
	for _, k := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		if again[k]["outcome"] != "already_applied" {
			t.Fatalf("replayed %s: %v", k, again[k])
		}
	}
	if n := b.auditCount("job", id, "on_site"); n != 1 {
		t.Fatalf("the replay reported the arrival again: %d on_site events", n)
	}
	reused := b.syncPush(tech, now, map[string]any{"key": "a1", "kind": "accept", "job_id": second["id"]})
	if reused["a1"]["outcome"] != "rejected" || reused["a1"]["code"] != "idempotency_key_reused" {
		t.Fatalf("a key used for another act: %v", reused["a1"])
	}

	other := b.technician("dominique", []string{"fridge"}, 45.75, 4.85)
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", second["id"]), b.token(dispatch.RoleDispatcher, "disp"), map[string]any{"technician_id": other}); r.Status != 200 {
		t.Fatalf("reassign: %d %s", r.Status, r.Body)
	}
	c := b.syncPush(tech, now, map[string]any{"key": "b1", "kind": "status", "job_id": second["id"], "status": "en_route", "occurred_at": now.Add(-time.Minute)},
		map[string]any{"key": "b2", "kind": "accept", "job_id": 999999})
	if c["b1"]["outcome"] != "conflict" || c["b1"]["code"] != "job_reassigned" || c["b1"]["job"] != nil {
		t.Fatalf("a job reassigned meanwhile: %v", c["b1"])
	}
	if c["b2"]["outcome"] != "conflict" || c["b2"]["code"] != "job_not_found" {
		t.Fatalf("a job never theirs: %v", c["b2"])
	}
	// The conflict was not recorded as applied: the same key answers the same conflict again.
	if c2 := b.syncPush(tech, now, map[string]any{"key": "b1", "kind": "status", "job_id": second["id"], "status": "en_route", "occurred_at": now.Add(-time.Minute)}); c2["b1"]["code"] != "job_reassigned" {
		t.Fatalf("the conflict again: %v", c2["b1"])
	}
	wantProblem(t, b.do("POST", "/v1/technicians/me/sync", tech, map[string]any{"actions": []any{}}), 400, "invalid_actions")
	wantProblem(t, b.do("POST", "/v1/technicians/me/sync", b.token(dispatch.RoleCustomer, "zoe"), map[string]any{"actions": acts}), 403, "forbidden_role")
}

// TestSyncDeviceTimeRules: an arrival queued offline counts at the phone's time when plausible,
// for the SLA and the KPIs (a visit on site before its due time, synced after it, is met); the
// phone's clock skew, measured from the request's Date, is taken out; a time in the future or
// before the offer is refused and the act keeps the server's time.
func TestSyncDeviceTimeRules(t *testing.T) {
	b := setup(t)
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "camille")
	t0 := b.clock.Now()
	job := b.offeredTo("zoe") // paid: due 24 h after booking
	id := job["id"]
	var due time.Time
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT b.sla_due_at FROM bookings b JOIN jobs j ON j.booking_id = b.id WHERE j.id = $1", id).Scan(&due); err != nil {
		t.Fatal(err)
	}
	b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", id), tech, nil)
	// Synced 30 minutes after the due time, by a phone whose clock runs 2 h fast, in the Date header.
	b.clock.Set(due.Add(30 * time.Minute))
	now := b.clock.Now()
	tech = b.token(dispatch.RoleTechnician, "camille")
	fast := 2 * time.Hour
	push := func(acts ...map[string]any) map[string]map[string]any {
		r := b.do("POST", "/v1/technicians/me/sync", tech, map[string]any{"actions": acts}, "Date", now.Add(fast).Format(http.TimeFormat))
		if r.Status != 200 {
			t.Fatalf("push: %d %s", r.Status, r.Body)
		}
		out := map[string]map[string]any{}
		for _, x := range r.json(t)["results"].([]any) {
			out[x.(map[string]any)["key"].(string)] = x.(map[string]any)
		}
		return out
	}
	arrived := due.Add(-10 * time.Minute)
	res := push(map[string]any{"key": "s0", "kind": "status", "job_id": id, "status": "en_route", "occurred_at": arrived.Add(fast - 25*time.Minute)},
		map[string]any{"key": "s1", "kind": "status", "job_id": id, "status": "on_site", "occurred_at": arrived.Add(fast)})
	if dt := res["s1"]["device_time"].(map[string]any); res["s1"]["outcome"] != "applied" || dt["status"] != "accepted" || dt["at"] != arrived.Format(time.RFC3339) {
		t.Fatalf("a plausible arrival: %v", res["s1"])
	}
	if j := res["s1"]["job"].(map[string]any); j["on_site_device_at"] != arrived.Format(time.RFC3339) || j["on_site_at"] != now.Format(time.RFC3339) {
		t.Fatalf("the arrival's times: %v", j)
	}
	q := url.Values{"from": {t0.Add(-time.Hour).Format(time.RFC3339)}, "to": {t0.Add(time.Hour).Format(time.RFC3339)}}
	r := b.do("GET", "/v1/kpis?"+q.Encode(), b.token(dispatch.RoleDispatcher, "disp"), nil)
	g := r.json(t)["groups"].([]any)[0].(map[string]any)
	if g["sla_met"] != 1.0 || g["sla_missed"] != 0.0 {
		t.Fatalf("the SLA does not count the arrival at the phone's time: %s", r.Body)
	}

	later := b.offeredTo("yann")
	b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", later["id"]), tech, nil)
	future := push(map[string]any{"key": "f1", "kind": "status", "job_id": later["id"], "status": "en_route", "occurred_at": now.Add(fast + time.Hour)},
		map[string]any{"key": "e1", "kind": "status", "job_id": later["id"], "status": "on_site", "occurred_at": t0.Add(fast - time.Hour)})
	if dt := future["f1"]["device_time"].(map[string]any); future["f1"]["outcome"] != "applied" || dt["status"] != "refused" || dt["code"] != "device_time_in_future" ||
		future["f1"]["job"].(map[string]any)["en_route_device_at"] != nil || future["f1"]["job"].(map[string]any)["en_route_at"] != now.Format(time.RFC3339) {
		t.Fatalf("a time in the future: %v", future["f1"])
	}
	if dt := future["e1"]["device_time"].(map[string]any); future["e1"]["outcome"] != "applied" || dt["status"] != "refused" || dt["code"] != "device_time_too_early" {
		t.Fatalf("a time before the offer: %v", future["e1"])
	}

	// A position from 25 h ago is not taken as where the technician is now.
	var before *float64
	camille := b.technicianID("camille")
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT last_lat FROM technicians WHERE id = $1", camille).Scan(&before); err != nil {
		t.Fatal(err)
	}
	stale := push(map[string]any{"key": "g1", "kind": "ping", "location": map[string]any{"lat": 45.70, "lng": 4.80}, "occurred_at": now.Add(fast - 25*time.Hour)})
	if stale["g1"]["outcome"] != "rejected" || stale["g1"]["code"] != "device_time_too_early" {
		t.Fatalf("a day-old ping: %v", stale["g1"])
	}
	var after *float64
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT last_lat FROM technicians WHERE id = $1", camille).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if (after == nil) != (before == nil) || (after != nil && *after != *before) {
		t.Fatalf("a day-old ping moved the technician: %v → %v", before, after)
	}
}

// TestSigninLinkIsGoodOnce: a dispatcher makes a sign-in link for a technician; of two phones
// opening it at once one gets a technician token (which syncs) and the other 409 used; a newer
// link revokes an unused one; a link expires after 24 h; a technician who cannot sign in
// (no subject, inactive) is refused without burning the link; customers and technicians may not
// make links; every link made and used is in the audit trail.
func TestSigninLinkIsGoodOnce(t *testing.T) {
	b := setup(t)
	id := b.technician("camille", []string{"washer"}, 45.76, 4.84)
	disp := b.token(dispatch.RoleDispatcher, "disp")
	path := fmt.Sprintf("/v1/technicians/%d/signin-links", id)
	link := func() map[string]any {
		t.Helper()
		r := b.do("POST", path, disp, nil)
		if r.Status != http.StatusCreated {
			t.Fatalf("sign-in link: %d %s", r.Status, r.Body)
		}
		return r.json(t)
	}
	redeem := func(code any) response {
		return b.do("POST", "/v1/technician-signin", "", map[string]any{"code": code})
	}

	l := link()
	if l["url"] != b.svc.TechSync.SigninURL(l["code"].(string)) || !strings.Contains(l["url"].(string), "/tech/#link=") || len(l["code"].(string)) < 26 {
		t.Fatalf("the link: %v", l)
	}
	results := make(chan response, 2)
	for range 2 {
		go func() { results <- redeem(l["code"]) }()
	}
	r1, r2 := <-results, <-results
	if r1.Status != 200 {
		r1, r2 = r2, r1
	}
	if r1.Status != 200 {
		t.Fatalf("neither phone signed in: %d %s / %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
	}
	wantProblem(t, r2, 409, "signin_link_used")
	tok := r1.json(t)
	if tok["technician"].(map[string]any)["name"] != "camille Tech" || tok["token_type"] != "Bearer" {
		t.Fatalf("sign-in: %v", tok)
	}
	if w := b.pull(tok["token"].(string), ""); w["technician"].(map[string]any)["id"] != float64(id) {
		t.Fatalf("the link's token is not camille's: %v", w["technician"])
	}

	older, newer := link(), link()
	wantProblem(t, redeem(older["code"]), 409, "signin_link_revoked")
	if r := redeem(newer["code"]); r.Status != 200 {
		t.Fatalf("the newest link: %d %s", r.Status, r.Body)
	}
	late := link()
	b.clock.Set(b.clock.Now().Add(24*time.Hour + time.Second))
	disp = b.token(dispatch.RoleDispatcher, "disp") // tokens are minted by the test's clock
	wantProblem(t, redeem(late["code"]), 409, "signin_link_expired")
	wantProblem(t, redeem("NOTACODEWEMADE"), 404, "signin_link_not_found")
	wantProblem(t, redeem(""), 400, "invalid_code")
	wantProblem(t, b.do("POST", "/v1/technician-signin", "", map[string]any{"code": "x", "token": "y"}), 400, "unknown_field")

	// Deactivated after the link was sent: refused, and the link still works once it is active again.
	pending := link()
	ctx := context.Background()
	if _, err := b.db.Pool.Exec(ctx, "UPDATE technicians SET active = false WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, redeem(pending["code"]), 409, "technician_inactive")
	wantProblem(t, b.do("POST", path, disp, nil), 409, "technician_inactive")
	if _, err := b.db.Pool.Exec(ctx, "UPDATE technicians SET active = true WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if r := redeem(pending["code"]); r.Status != 200 {
		t.Fatalf("the link refused while the technician was inactive was burnt: %d %s", r.Status, r.Body)
	}
	if _, err := b.db.Pool.Exec(ctx, "UPDATE technicians SET subject = NULL WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, b.do("POST", path, disp, nil), 409, "technician_has_no_subject")
	wantProblem(t, b.do("POST", "/v1/technicians/999999/signin-links", disp, nil), 404, "technician_not_found")
	wantProblem(t, b.do("POST", path, b.token(dispatch.RoleTechnician, "camille"), nil), 403, "forbidden_role")
	wantProblem(t, b.do("POST", path, b.token(dispatch.RoleCustomer, "zoe"), nil), 403, "forbidden_role")
	var stored int
	if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM technician_signin_links WHERE code_sha256 = $1 OR code_sha256 = $2",
		l["code"], sha([]byte(l["code"].(string)))).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("the code itself is stored, or its hash is not: %d %v", stored, err)
	}
	if n, m := b.auditCount("technician", id, "signin_link_issued"), b.auditCount("technician", id, "signin_link_used"); n != 5 || m != 3 {
		t.Fatalf("audit: %d links issued, %d used; want 5 and 3", n, m)
	}
}

// TestSyncPruneExpiresOldCursors: the nightly prune drops change rows, action keys and spent
// sign-in links older than 30 days; a phone whose cursor is older than what was dropped is told
// 410 cursor_expired (it pulls its world afresh), while a cursor past it still gets every later
// change.
func TestSyncPruneExpiresOldCursors(t *testing.T) {
	b := setup(t)
	id := b.technician("camille", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "camille")
	ctx := context.Background()
	notify := func(title string) {
		t.Helper()
		if _, err := b.db.Pool.Exec(ctx, `INSERT INTO notifications (recipient_kind, recipient_subject, kind, title, body, created_at)
			VALUES ('technician', 'camille', 'change', $1, '', now())`, title); err != nil {
			t.Fatal(err)
		}
	}
	old := b.pull(tech, "")["cursor"].(string)
	notify("old news")
	if r := b.syncPush(tech, b.clock.Now(), map[string]any{"key": "p1", "kind": "ping", "location": map[string]any{"lat": 45.76, "lng": 4.84}}); r["p1"]["outcome"] != "applied" {
		t.Fatalf("ping: %v", r["p1"])
	}
	if r := b.do("POST", fmt.Sprintf("/v1/technicians/%d/signin-links", id), b.token(dispatch.RoleDispatcher, "disp"), nil); r.Status != 201 {
		t.Fatalf("link: %d %s", r.Status, r.Body)
	}
	recent := b.pullSettled(tech, old)["cursor"].(string)

	// A month and two days pass.
	month := 32 * 24 * time.Hour
	for _, q := range []string{"UPDATE technician_changes SET at = at - $1::interval", "UPDATE technician_sync_actions SET claimed_at = claimed_at - $1::interval",
		"UPDATE technician_signin_links SET created_at = created_at - $1::interval, expires_at = expires_at - $1::interval"} {
		if _, err := b.db.Pool.Exec(ctx, q, month.String()); err != nil {
			t.Fatal(err)
		}
	}
	notify("fresh news")
	p, err := b.svc.TechSync.Prune(ctx)
	if err != nil || p.Changes == 0 || p.Actions != 1 || p.SigninLinks != 1 {
		t.Fatalf("prune: %+v %v", p, err)
	}
	for _, table := range []string{"technician_sync_actions", "technician_signin_links"} {
		var n int
		if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s: %d rows left (%v)", table, n, err)
		}
	}
	wantProblem(t, b.do("GET", "/v1/technicians/me/sync?cursor="+url.QueryEscape(old), tech, nil), 410, "cursor_expired")
	w := b.pullSettled(tech, recent)
	var titles []string
	for _, n := range w["upserts"].(map[string]any)["notifications"].([]any) {
		titles = append(titles, n.(map[string]any)["title"].(string))
	}
	if len(titles) != 1 || titles[0] != "fresh news" {
		t.Fatalf("a cursor past the pruned rows: %v", titles)
	}
	if w := b.pull(tech, ""); w["full"] != true {
		t.Fatalf("a fresh pull: %v", w)
	}
}

// TestSyncJobsConvergeUnderConcurrentChanges: writers change the technician's jobs (notes, and
// giving them to a colleague and back) in transactions held open for random times, so they commit
// out of order, while the phone pulls and applies each answer's upserts and removals. No pull
// brings a job older than one the phone had (versions never go back), and once the writers stop
// the phone holds exactly the server's jobs of the technician, each at its last version.
func TestSyncJobsConvergeUnderConcurrentChanges(t *testing.T) {
	b := setup(t)
	camille := b.technician("camille", []string{"washer"}, 45.76, 4.84)
	dominique := b.technician("dominique", []string{"fridge"}, 45.75, 4.85)
	tech := b.token(dispatch.RoleTechnician, "camille")
	var ids []int64
	for i := range 6 {
		ids = append(ids, int64(b.offeredTo(fmt.Sprintf("cust-%d", i))["id"].(float64)))
	}
	type held struct {
		version float64
		notes   string
	}
	phone, last := map[int64]held{}, map[int64]float64{}
	apply := func(w map[string]any) int {
		n := 0
		for _, x := range w["upserts"].(map[string]any)["jobs"].([]any) {
			j := x.(map[string]any)
			id, v := int64(j["id"].(float64)), j["version"].(float64)
			if v < last[id] {
				t.Errorf("job %d went back from version %v to %v", id, last[id], v)
			}
			last[id] = v
			phone[id] = held{v, j["notes"].(string)}
			n++
		}
		for _, x := range w["removals"].([]any) {
			delete(phone, int64(x.(map[string]any)["id"].(float64)))
			n++
		}
		return n
	}
	first := b.pull(tech, "")
	apply(first)
	cursor := first["cursor"].(string)

	ctx := context.Background()
	const writers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := ids[rand.IntN(len(ids))]
				owner := camille
				if rand.IntN(3) == 0 {
					owner = dominique
				}
				tx, err := b.db.Pool.Begin(ctx)
				if err != nil {
					errs <- err
					return
				}
				if _, err := tx.Exec(ctx, "UPDATE jobs SET notes = $2, technician_id = $3, version = version + 1 WHERE id = $1",
					id, fmt.Sprintf("w%d-%d", w, i), owner); err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
				if err := tx.Commit(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	pulls := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			w := b.pull(tech, cursor)
			apply(w)
			cursor = w["cursor"].(string)
			pulls++
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	server := func() map[int64]held {
		rows, err := b.db.Pool.Query(ctx, "SELECT id, version, notes FROM jobs WHERE technician_id = $1", camille)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]held{}
		for rows.Next() {
			var id int64
			var v int
			var notes string
			if err := rows.Scan(&id, &v, &notes); err != nil {
				t.Fatal(err)
			}
			out[id] = held{float64(v), notes}
		}
		return out
	}
	want := server()
	// The watermark passes the last writer once the cluster's older transactions end (parallel tests').
	for deadline := time.Now().Add(10 * time.Second); !maps.Equal(phone, want) && time.Now().Before(deadline); {
		w := b.pull(tech, cursor)
		apply(w)
		cursor = w["cursor"].(string)
		pulls++
		time.Sleep(10 * time.Millisecond)
	}
	if !maps.Equal(phone, want) {
		t.Fatalf("after %d pulls the phone holds %v, the server %v", pulls, phone, want)
	}
	t.Logf("%d changes to %d jobs, the phone in step after %d pulls", writers*each, len(ids), pulls)
}

// TestSyncLogsABookingsJobOnce: a booking planned and offered writes its job, its offer and (with
// a template) its checklist in one transaction; the technician's change log holds the job once
// and the offer's notification once, and nothing for the customer's "received" message.
func TestSyncLogsABookingsJobOnce(t *testing.T) {
	b := setup(t)
	b.washerChecklist()
	b.technician("camille", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "zoe")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if job["status"] != "offered" {
		t.Fatalf("the booking's job is %v, want offered", job["status"])
	}
	ctx := context.Background()
	rows, err := b.db.Pool.Query(ctx, `SELECT c.entity, c.entity_id, count(*) FROM technician_changes c
		WHERE c.technician_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`, b.technicianID("camille"))
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]int{}
	for rows.Next() {
		var entity string
		var id, n int64
		if err := rows.Scan(&entity, &id, &n); err != nil {
			t.Fatal(err)
		}
		logged[fmt.Sprintf("%s %d", entity, id)] = int(n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var offerNote, checklists, received int64
	if err := b.db.Pool.QueryRow(ctx, `SELECT
		(SELECT id FROM notifications WHERE kind = 'offer' AND job_id = $1),
		(SELECT count(*) FROM job_checklists WHERE job_id = $1),
		(SELECT count(*) FROM notifications WHERE kind = 'received' AND job_id = $1)`, int64(job["id"].(float64))).Scan(&offerNote, &checklists, &received); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{fmt.Sprintf("job %v", job["id"]): 1, fmt.Sprintf("notification %d", offerNote): 1}
	if !maps.Equal(logged, want) {
		t.Fatalf("the technician's change log after one booking: %v, want %v", logged, want)
	}
	if checklists != 1 || received != 1 {
		t.Fatalf("the booking wrote %d checklists and %d received messages, want 1 and 1", checklists, received)
	}
}
