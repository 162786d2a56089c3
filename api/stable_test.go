package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
)

// Issue 29: one planner, stable plans.

// crossedPair books a job next to each of two technicians 14 km apart (west and east) and has a
// dispatcher cross them (unpinned): uncrossing saves about half an hour of driving each.
func (b *testBundle) crossedPair() (west, east int64, jw, je any) {
	b.t.Helper()
	west = b.technician("west", []string{"washer"}, 45.764, 4.78)
	east = b.technician("east", []string{"washer"}, 45.764, 4.92)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	at := func(lng float64) map[string]any {
		m := washerBooking(nil)
		m["location"] = map[string]any{"lat": 45.764, "lng": lng}
		return m
	}
	jw = jobOf(b.t, b.do("POST", "/v1/bookings", cust, at(4.775)).json(b.t))["id"]
	je = jobOf(b.t, b.do("POST", "/v1/bookings", cust, at(4.925)).json(b.t))["id"]
	for _, x := range []struct {
		job  any
		tech int64
	}{{jw, east}, {je, west}} {
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", x.job), disp, map[string]any{"technician_id": x.tech, "pin": false}); r.Status != 200 {
			b.t.Fatalf("assign: %d %s", r.Status, r.Body)
		}
	}
	return west, east, jw, je
}

func (b *testBundle) count(sql string, args ...any) int {
	b.t.Helper()
	var n int
	if err := b.db.Pool.QueryRow(b.t.Context(), sql, args...).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// TestReoptimizeDryRunWritesNothing: a dry run answers the moves (from/to technician and start,
// SLA, the plan's travel before and after as the checker recomputes them) and writes nothing: no
// audit event, no offer, no notification, no job changed. The run that follows makes the same
// moves and reports the same saving.
func TestReoptimizeDryRunWritesNothing(t *testing.T) {
	b := setup(t)
	west, east, jw, je := b.crossedPair()
	disp := b.token(dispatch.RoleDispatcher, "disp")
	snapshot := func() [4]int {
		return [4]int{b.count("SELECT count(*) FROM audit_events"), b.count("SELECT count(*) FROM offers"),
			b.count("SELECT count(*) FROM notifications"), b.count("SELECT coalesce(sum(version), 0)::int FROM jobs")}
	}
	before := snapshot()
	r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 2000, "freeze_minutes": 0, "dry_run": true})
	if r.Status != 200 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	dry := r.json(t)
	if after := snapshot(); after != before {
		t.Fatalf("a dry run wrote: audit, offers, notifications, job versions %v → %v", before, after)
	}
	moved := dry["moved"].([]any)
	if dry["dry_run"] != true || len(moved) != 2 {
		t.Fatalf("dry run: %s", r.Body)
	}
	for _, m := range moved {
		m := m.(map[string]any)
		want := map[any][2]int64{jw: {east, west}, je: {west, east}}[m["job_id"]]
		if m["from_technician_id"] != float64(want[0]) || m["to_technician_id"] != float64(want[1]) || m["status"] != "proposed" ||
			m["from_start"] == nil || m["planned_start"] == nil || m["sla_due_at"] == nil {
			t.Fatalf("move %v", m)
		}
	}
	tb, ta := dry["travel_before_s"].(float64), dry["travel_after_s"].(float64)
	if ta >= tb || dry["seconds_saved"] != tb-ta || dry["breaches_avoided"] != dry["breaches_before"].(float64)-dry["breaches_after"].(float64) {
		t.Fatalf("figures: %s", r.Body)
	}
	real := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 2000, "freeze_minutes": 0}).json(t)
	if len(real["moved"].([]any)) != 2 || real["seconds_saved"] != dry["seconds_saved"] || real["travel_after_s"] != ta {
		t.Fatalf("the run after the dry run: %v (dry run: %v)", real, dry)
	}
	if n := b.auditCount("job", jw, "reoptimized"); n != 1 {
		t.Fatalf("%d reoptimized events", n)
	}
}

// TestReoptimizeKeepsTheFreezeHorizon: visits starting within the freeze horizon (2 h by
// default) stay where they are, however much moving them would save; a dispatcher can ask for
// a shorter one.
func TestReoptimizeKeepsTheFreezeHorizon(t *testing.T) {
	b := setup(t)
	_, _, jw, _ := b.crossedPair() // both visits start within the hour
	disp := b.token(dispatch.RoleDispatcher, "disp")
	r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 1000})
	if res := r.json(t); r.Status != 200 || len(res["moved"].([]any)) != 0 || res["considered"] != float64(0) {
		t.Fatalf("within the freeze: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 1000, "freeze_minutes": 15}); len(r.json(t)["moved"].([]any)) != 2 {
		t.Fatalf("a 15 min freeze: %s", r.Body)
	}
	wantProblem(t, b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"freeze_minutes": -1}), 400, "out_of_range")
	if n := b.auditCount("job", jw, "reoptimized"); n != 1 {
		t.Fatalf("%d reoptimized events", n)
	}
}

// TestReoptimizeMovesOnlyForMoreThanTheMoveCost: a told visit 3 km from its technician, and a
// colleague joins 500 m from it: moving it would save some minutes of driving, less than the
// move cost of a change of technician (20 min), so it stays (the search itself weighs the move
// cost, so it does not even propose the move); with no move cost it moves.
func TestReoptimizeMovesOnlyForMoreThanTheMoveCost(t *testing.T) {
	b := setup(t)
	first := b.technician("first", []string{"washer"}, 45.764+3/111.32, 4.8357)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	job := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	if job["technician_id"] != float64(first) {
		t.Fatalf("booked to %v", job["technician_id"])
	}
	near := b.technician("near", []string{"washer"}, 45.764+0.5/111.32, 4.8357)
	r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 1000, "freeze_minutes": 0, "dry_run": true})
	res := r.json(t)
	if len(res["moved"].([]any)) != 0 {
		t.Fatalf("moved for less than its cost: %s", r.Body)
	}
	b.svc.Optimize.Config.MoveCost, b.svc.Optimize.Config.ChangeTechnician = 0, 0
	r = b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 1000, "freeze_minutes": 0})
	res = r.json(t)
	if m := res["moved"].([]any); len(m) != 1 || m[0].(map[string]any)["to_technician_id"] != float64(near) || res["seconds_saved"].(float64) <= 0 {
		t.Fatalf("without a move cost: %s", r.Body)
	}
}

// TestReoptimizeKeepsAnOfferWithItsTechnician: three told visits of one technician at the
// corners of a square, set by hand in the worse order; with no move cost the solver puts them
// in the better one. Each keeps its offer, only its time changes: none is withdrawn and offered
// again to the same technician.
func TestReoptimizeKeepsAnOfferWithItsTechnician(t *testing.T) {
	b := setup(t)
	tech := b.technician("solo", []string{"washer"}, 45.764, 4.8357)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	north, east := 4/111.32, 4/77.8
	corners := [][2]float64{{north, 0}, {0, east}, {north, east}} // visited A, C, B: crossing the square twice
	var jobs []any
	for _, c := range corners {
		body := washerBooking(nil)
		body["location"] = map[string]any{"lat": 45.764 + c[0], "lng": 4.8357 + c[1]}
		j := jobOf(t, b.do("POST", "/v1/bookings", cust, body).json(t))
		if j["technician_id"] != float64(tech) {
			t.Fatalf("booked to %v", j["technician_id"])
		}
		jobs = append(jobs, j["id"])
	}
	if _, err := b.db.Pool.Exec(t.Context(), "UPDATE jobs SET technician_id = NULL"); err != nil {
		t.Fatal(err)
	}
	base := b.clock.Now().Add(3 * time.Hour)
	for i, j := range jobs {
		s := base.Add(time.Duration(i) * 90 * time.Minute)
		if _, err := b.db.Pool.Exec(t.Context(), "UPDATE jobs SET technician_id = $2, planned_start = $3, planned_end = $4 WHERE id = $1", j, tech, s, s.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	b.svc.Optimize.Config.MoveCost, b.svc.Optimize.Config.ChangeTechnician = 0, 0
	r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 1000})
	res := r.json(t)
	if r.Status != 200 || len(res["moved"].([]any)) < 2 || res["seconds_saved"].(float64) <= 0 {
		t.Fatalf("optimize: %d %s", r.Status, r.Body)
	}
	for _, m := range res["moved"].([]any) {
		if m := m.(map[string]any); m["to_technician_id"] != float64(tech) || m["status"] != "offered" {
			t.Fatalf("move %v", m)
		}
	}
	for _, j := range jobs {
		if n := b.count("SELECT count(*) FROM offers WHERE job_id = $1 AND status = 'open'", j); n != 1 {
			t.Fatalf("job %v: %d open offers", j, n)
		}
	}
	if n := b.count("SELECT count(*) FROM offers"); n != 3 {
		t.Fatalf("%d offers for 3 jobs: %s", n, r.Body)
	}
}

// TestReoptimizeAfterAMorningReoffersNoJob: a simulated morning (bookings every ten minutes, a
// re-optimisation every half hour, with no freeze and no move cost so that it moves all it can,
// a few offers declined) never offers a job twice to the same technician.
func TestReoptimizeAfterAMorningReoffersNoJob(t *testing.T) {
	b := setup(t)
	rng := rand.New(rand.NewPCG(7, 29))
	var subs []string
	for i := range 5 {
		subs = append(subs, fmt.Sprintf("m%d", i))
		b.technician(subs[i], []string{"washer"}, 45.72+0.02*float64(i), 4.80+0.02*float64(i%3))
	}
	b.svc.Optimize.Config = optimize.Config{}
	start := b.clock.Now()
	for n := range 36 {
		b.clock.Set(start.Add(time.Duration(n) * 10 * time.Minute))
		cust, disp := b.token(dispatch.RoleCustomer, "cust"), b.token(dispatch.RoleDispatcher, "disp")
		body := washerBooking(nil)
		body["location"] = map[string]any{"lat": 45.70 + 0.12*rng.Float64(), "lng": 4.78 + 0.12*rng.Float64()}
		j := jobOf(t, b.do("POST", "/v1/bookings", cust, body).json(t))
		if j["technician_id"] != nil && rng.IntN(6) == 0 { // its technician declines
			var sub string
			if err := b.db.Pool.QueryRow(t.Context(), "SELECT subject FROM technicians WHERE id = $1", j["technician_id"]).Scan(&sub); err != nil {
				t.Fatal(err)
			}
			b.do("POST", fmt.Sprintf("/v1/jobs/%v/decline", j["id"]), b.token(dispatch.RoleTechnician, sub), map[string]any{"reason": "busy"})
		}
		if n%3 == 2 {
			if r := b.do("POST", "/v1/dispatch/optimize", disp, map[string]any{"budget_ms": 500, "freeze_minutes": 0}); r.Status != 200 {
				t.Fatalf("optimize: %d %s", r.Status, r.Body)
			}
		}
	}
	if n := b.count("SELECT count(*) FROM (SELECT job_id, technician_id FROM offers GROUP BY 1, 2 HAVING count(*) > 1) x"); n != 0 {
		t.Fatalf("%d jobs offered twice to the same technician", n)
	}
	if n := b.count("SELECT count(*) FROM offers WHERE status = 'withdrawn'"); n == 0 {
		t.Fatal("no offer was withdrawn: the morning moved nothing")
	}
	t.Logf("%d offers, %d withdrawn, %d re-optimised events", b.count("SELECT count(*) FROM offers"),
		b.count("SELECT count(*) FROM offers WHERE status = 'withdrawn'"), b.count("SELECT count(*) FROM audit_events WHERE action = 'reoptimized'"))
}

// TestPlannerNeverTripsTheNoOverlapConstraint: a property over random bookings (places,
// durations, customers' windows, tiers) on a handful of technicians, booked one after another:
// every booking is answered at once (a placement that overlapped a told visit would trip the
// database's no-overlap constraint: 409 for a booking with windows, a replan for one without),
// and no visit a customer was told ever moves when a later booking is placed. A re-optimisation
// then writes every change it keeps without tripping it either.
func TestPlannerNeverTripsTheNoOverlapConstraint(t *testing.T) {
	b := setup(t)
	rng := rand.New(rand.NewPCG(29, 2))
	for i := range 4 {
		b.technician(fmt.Sprintf("t%d", i), []string{"washer"}, 45.70+0.04*float64(i), 4.78+0.03*float64(i))
	}
	cust := b.token(dispatch.RoleCustomer, "cust")
	type told struct {
		tech  float64
		start string
	}
	plan := map[any]told{}
	now := b.clock.Now()
	for n := range 40 {
		body := washerBooking(nil)
		body["location"] = map[string]any{"lat": 45.68 + 0.16*rng.Float64(), "lng": 4.76 + 0.14*rng.Float64()}
		var from, to time.Time
		if rng.IntN(3) == 0 { // a customer's window somewhere in the next two days
			from = now.Add(time.Duration(rng.IntN(40)) * time.Hour).Truncate(time.Hour)
			to = from.Add(time.Duration(2+rng.IntN(3)) * time.Hour)
			body["preferred_windows"] = []any{map[string]any{"start": from.Format(time.RFC3339), "end": to.Format(time.RFC3339)}}
		}
		r := b.do("POST", "/v1/bookings", cust, body)
		if r.Status == 409 && !from.IsZero() {
			// No room in the window: then no slot inside it either (else the write tripped).
			loc := body["location"].(map[string]any)
			q := url.Values{"lat": {fmt.Sprint(loc["lat"])}, "lng": {fmt.Sprint(loc["lng"])}, "appliance": {"washer"}, "service_type": {"repair"},
				"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
			for _, sl := range b.do("GET", "/v1/slots?"+q.Encode(), cust, nil).json(t)["slots"].([]any) {
				ss, _ := time.Parse(time.RFC3339, sl.(map[string]any)["start"].(string))
				se, _ := time.Parse(time.RFC3339, sl.(map[string]any)["end"].(string))
				if !ss.Before(from) && !se.After(to) {
					t.Fatalf("booking %d refused in %v–%v, where a slot is offered: %s", n, from, to, r.Body)
				}
			}
			continue
		}
		if r.Status != 201 {
			t.Fatalf("booking %d: %d %s", n, r.Status, r.Body)
		}
		j := jobOf(t, r.json(t))
		if j["technician_id"] != nil {
			plan[j["id"]] = told{j["technician_id"].(float64), j["planned_start"].(string)}
		}
		for id, was := range plan {
			var tech float64
			var start time.Time
			if err := b.db.Pool.QueryRow(t.Context(), "SELECT technician_id, planned_start FROM jobs WHERE id = $1", id).Scan(&tech, &start); err != nil {
				t.Fatal(err)
			}
			if tech != was.tech || start.UTC().Format(time.RFC3339) != was.start {
				t.Fatalf("booking %d moved told visit %v: %v at %v, told %v", n, id, tech, start, was)
			}
		}
	}
	if len(plan) < 25 {
		t.Fatalf("only %d of 40 bookings planned", len(plan))
	}
	res, err := b.svc.Optimize.Run(t.Context(), dispatch.Actor{Subject: "disp", Role: dispatch.RoleDispatcher}, optimize.Request{Budget: time.Second, Freeze: new(time.Duration)})
	if err != nil || res.Skipped != 0 {
		t.Fatalf("re-optimisation: %+v %v", res, err)
	}
}

// TestAssignChecksTheRouteWithThePlanner: a dispatcher's start is checked by the planner's own
// model: 20 km in five minutes after the visit before does not fit (a warning), next door does.
func TestAssignChecksTheRouteWithThePlanner(t *testing.T) {
	b := setup(t)
	tech := b.technician("solo", []string{"washer"}, 45.764, 4.8357)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	first := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	end, _ := time.Parse(time.RFC3339, first["planned_end"].(string))
	far := washerBooking(nil)
	far["location"] = map[string]any{"lat": 45.60, "lng": 4.70}
	farJob := jobOf(t, b.do("POST", "/v1/bookings", cust, far).json(t))
	nearJob := jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))
	codes := func(job map[string]any) []string {
		r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/assign", job["id"]), disp, map[string]any{"technician_id": tech,
			"planned_start": end.Add(5 * time.Minute).Format(time.RFC3339)})
		if r.Status != 200 {
			t.Fatalf("assign: %d %s", r.Status, r.Body)
		}
		var out []string
		for _, w := range r.json(t)["warnings"].([]any) {
			out = append(out, w.(map[string]any)["code"].(string))
		}
		// Back off the route, for the next one.
		b.do("POST", fmt.Sprintf("/v1/jobs/%v/unassign", job["id"]), disp, map[string]any{"reason": "test"})
		return out
	}
	if got := codes(farJob); !slices.Contains(got, "route_does_not_fit") {
		t.Fatalf("20 km in 5 min: warnings %v", got)
	}
	if got := codes(nearJob); slices.Contains(got, "route_does_not_fit") {
		t.Fatalf("next door: warnings %v", got)
	}
}
