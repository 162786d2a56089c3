package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestConcurrentDispatchKeepsInvariants lets technicians accept and decline, dispatchers
// re-assign, unassign and pin, and the expiry sweep run, all at once on the same jobs; then
// checks in SQL that PostgreSQL kept the invariants: no technician double-booked, at most one
// open offer per job, offers and job states agree, every accept audited. No request may fail
// with a 5xx: losers get a clear 409/404/422.
func TestConcurrentDispatchKeepsInvariants(t *testing.T) {
	b := setup(t)
	var techIDs []int64
	for i := range 4 {
		techIDs = append(techIDs, b.technician(fmt.Sprintf("tech-%d", i), []string{"washer"}, 45.75+0.01*float64(i), 4.83))
	}
	cust := b.token(dispatch.RoleCustomer, "cust")
	var jobIDs []int64
	for range 12 {
		jobIDs = append(jobIDs, int64(jobOf(t, b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t))["id"].(float64)))
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	base := b.clock.Now().Add(3 * time.Hour).Truncate(time.Hour)

	var wg sync.WaitGroup
	statuses := make(chan int, 1000)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for range 12 {
				job := jobIDs[rng.IntN(len(jobIDs))]
				path := fmt.Sprintf("/v1/jobs/%d", job)
				var r response
				switch rng.IntN(6) {
				case 0, 1:
					r = b.do("POST", path+"/accept", b.token(dispatch.RoleTechnician, fmt.Sprintf("tech-%d", rng.IntN(4))), nil)
				case 2:
					// Several dispatchers aim at the same few slots: most collide.
					start := base.Add(time.Duration(rng.IntN(3)) * time.Hour).Format(time.RFC3339)
					r = b.do("POST", path+"/assign", disp, map[string]any{"technician_id": techIDs[rng.IntN(4)], "planned_start": start})
				case 3:
					r = b.do("POST", path+"/unassign", disp, nil)
				case 4:
					r = b.do("POST", path+"/decline", b.token(dispatch.RoleTechnician, fmt.Sprintf("tech-%d", rng.IntN(4))), map[string]any{"reason": "busy"})
				case 5:
					if _, err := b.svc.Offers.ExpireOffers(t.Context(), 5); err != nil {
						t.Errorf("expire: %v", err)
					}
					r = b.do("POST", path+"/pin", disp, nil)
				}
				statuses <- r.Status
				if r.Status >= 500 {
					t.Errorf("%s: %d %s", path, r.Status, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	t.Logf("statuses: %v", counts)
	if counts[200] == 0 || counts[409] == 0 {
		t.Fatalf("the race did not exercise both winners and losers: %v", counts)
	}

	q := func(name, sql string) {
		t.Helper()
		var n int
		if err := b.db.Pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != 0 {
			t.Errorf("%s: %d violations", name, n)
		}
	}
	live := "('unassigned','offered','accepted','en_route','on_site')"
	q("overlapping jobs", `SELECT count(*) FROM jobs a JOIN jobs b ON a.technician_id = b.technician_id AND a.id < b.id
		WHERE a.status IN `+live+` AND b.status IN `+live+`
		  AND tstzrange(a.planned_start, a.planned_end) && tstzrange(b.planned_start, b.planned_end)`)
	q("two open offers", `SELECT count(*) FROM (SELECT job_id FROM offers WHERE status = 'open' GROUP BY job_id HAVING count(*) > 1) x`)
	q("offered without an open offer to its technician", `SELECT count(*) FROM jobs j WHERE j.status = 'offered'
		AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.job_id = j.id AND o.status = 'open' AND o.technician_id = j.technician_id)`)
	q("open offer on a job not offered", `SELECT count(*) FROM offers o JOIN jobs j ON j.id = o.job_id WHERE o.status = 'open' AND j.status <> 'offered'`)
	q("accepted offer without its audit event", `SELECT count(*) FROM offers o WHERE o.status = 'accepted' AND NOT EXISTS
		(SELECT 1 FROM audit_events e WHERE e.entity = 'job' AND e.entity_id = o.job_id AND e.action = 'accepted')`)
	q("offer without its audit event", `SELECT (SELECT count(*) FROM offers) - (SELECT count(*) FROM audit_events WHERE action = 'offered')`)
	q("declines not audited", `SELECT (SELECT count(*) FROM offers WHERE status = 'declined') - (SELECT count(*) FROM audit_events WHERE action = 'declined')`)
}

// TestConcurrentBookingsShareOneTechnician: 24 bookings arrive at once for a single technician;
// each gets its own gap (the planner sees the others' pending picks), none is refused, none overlaps.
func TestConcurrentBookingsShareOneTechnician(t *testing.T) {
	b := setup(t)
	b.technician("solo", []string{"washer"}, 45.76, 4.84)
	var wg sync.WaitGroup
	codes := make(chan int, 24)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, fmt.Sprintf("c%d", i)), washerBooking(nil))
			codes <- r.Status
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 201 {
			t.Fatalf("a booking got %d", c)
		}
	}
	var planned, overlaps int
	if err := b.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM jobs WHERE technician_id IS NOT NULL`).Scan(&planned); err != nil {
		t.Fatal(err)
	}
	if err := b.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM jobs a JOIN jobs b ON a.id < b.id AND a.technician_id = b.technician_id
		AND tstzrange(a.planned_start, a.planned_end) && tstzrange(b.planned_start, b.planned_end)`).Scan(&overlaps); err != nil {
		t.Fatal(err)
	}
	if planned != 24 || overlaps != 0 {
		t.Fatalf("%d planned, %d overlaps", planned, overlaps)
	}
}

// raceRound is one run of a race: a fresh booking whose only visit has been taken to a status,
// and the clock a day after the previous round's, so that every round finds the technician free.
type raceRound struct {
	booking, job int64
	cust, tech   string // tokens
}

// jobReadyFor books a washer repair for customer sub on a fresh day and takes its visit through
// the technician's accept and the given statuses (en_route, on_site).
func (b *testBundle) jobReadyFor(round int, sub, techSub string, steps ...string) raceRound {
	b.t.Helper()
	b.clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC).AddDate(0, 0, round))
	r := raceRound{cust: b.token(dispatch.RoleCustomer, sub), tech: b.token(dispatch.RoleTechnician, techSub)}
	m := b.do("POST", "/v1/bookings", r.cust, washerBooking(nil)).json(b.t)
	r.booking, r.job = int64(m["id"].(float64)), int64(jobOf(b.t, m)["id"].(float64))
	path := fmt.Sprintf("/v1/jobs/%d", r.job)
	if steps[0] != "offered" {
		if res := b.do("POST", path+"/accept", r.tech, nil); res.Status != 200 {
			b.t.Fatalf("round %d accept: %d %s", round, res.Status, res.Body)
		}
	}
	for _, s := range steps[1:] {
		if res := b.do("POST", path+"/status", r.tech, map[string]any{"status": s}); res.Status != 200 {
			b.t.Fatalf("round %d %s: %d %s", round, s, res.Status, res.Body)
		}
	}
	return r
}

// both sends two requests at the same moment and returns their answers.
func (b *testBundle) both(first, second func() response) (response, response) {
	var (
		wg     sync.WaitGroup
		r1, r2 response
		start  = make(chan struct{})
	)
	wg.Add(2)
	go func() { defer wg.Done(); <-start; r1 = first() }()
	go func() { defer wg.Done(); <-start; r2 = second() }()
	close(start)
	wg.Wait()
	return r1, r2
}

// jobRow is what the races check of a job and its booking after the fact.
type jobRow struct {
	status, bookingStatus         string
	acceptedAt, enRouteAt, onSite bool
	finished, tech                bool
	events                        map[string]int // job and booking audit actions
}

func (b *testBundle) jobRow(r raceRound) jobRow {
	b.t.Helper()
	var row jobRow
	if err := b.db.Pool.QueryRow(b.t.Context(), `SELECT j.status, bk.status, j.accepted_at IS NOT NULL, j.en_route_at IS NOT NULL,
		j.on_site_at IS NOT NULL, j.finished_at IS NOT NULL, j.technician_id IS NOT NULL
		FROM jobs j JOIN bookings bk ON bk.id = j.booking_id WHERE j.id = $1`, r.job).
		Scan(&row.status, &row.bookingStatus, &row.acceptedAt, &row.enRouteAt, &row.onSite, &row.finished, &row.tech); err != nil {
		b.t.Fatal(err)
	}
	row.events = map[string]int{}
	rows, err := b.db.Pool.Query(b.t.Context(), `SELECT entity || ':' || action FROM audit_events
		WHERE (entity = 'job' AND entity_id = $1) OR (entity = 'booking' AND entity_id = $2)`, r.job, r.booking)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			b.t.Fatal(err)
		}
		row.events[a]++
	}
	return row
}

// TestLostUpdateRacesHaveOneOutcome: a customer's cancel or reschedule, a dispatcher's unassign
// and the technician's accept and status reports race on the same visit, many times each. Every
// round must end as one of the two orders would have left it: answers and rows agree, and no
// change is written over another (the cancel used to write the job from a copy read before the
// technician's on_site committed: both answered 200, the job ended cancelled with on_site_at NULL
// beside an on_site audit event).
func TestLostUpdateRacesHaveOneOutcome(t *testing.T) {
	const rounds = 20
	cancel := func(b *testBundle, r raceRound) response {
		return b.do("POST", fmt.Sprintf("/v1/bookings/%d/cancel", r.booking), r.cust, map[string]any{"reason": "changed my mind"})
	}
	report := func(status string) func(b *testBundle, r raceRound) response {
		return func(b *testBundle, r raceRound) response {
			body := map[string]any{"status": status}
			if status == "completed" {
				body["outcome"] = "fixed"
			}
			return b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", r.job), r.tech, body)
		}
	}
	races := []struct {
		name  string
		steps []string // how far the visit is taken before the race
		first func(b *testBundle, r raceRound) response
		then  func(b *testBundle, r raceRound) response
		// check says what is wrong with the answers and rows, "" when they are one order's outcome.
		check func(r1, r2 response, row jobRow) string
	}{
		{"cancel_vs_on_site", []string{"accepted", "en_route"},
			cancel,
			report("on_site"),
			func(c, o response, row jobRow) string {
				switch {
				case c.Status == 200 && o.Status == 409:
					if row.status != "cancelled" || row.onSite || row.events["job:on_site"] != 0 || row.bookingStatus != "cancelled" {
						return "cancel won but the rows say otherwise"
					}
				case c.Status == 409 && o.Status == 200:
					if code := codeOf(c); code != "technician_on_site" {
						return "cancel refused with " + code
					}
					if row.status != "on_site" || !row.onSite || row.events["booking:cancelled"] != 0 || row.bookingStatus != "in_progress" {
						return "on_site won but the rows say otherwise"
					}
				default:
					return "not one winner"
				}
				return ""
			}},
		{"cancel_vs_en_route", []string{"accepted"},
			cancel,
			report("en_route"),
			func(c, e response, row jobRow) string {
				if c.Status != 200 || row.status != "cancelled" || row.bookingStatus != "cancelled" {
					return "a cancel before arrival must win" // alone, or after the technician set off
				}
				switch e.Status {
				case 200: // en route, then cancelled
					if !row.enRouteAt || row.events["job:en_route"] != 1 {
						return "en_route answered 200 but was not kept"
					}
				case 409: // cancelled first
					if row.enRouteAt || row.events["job:en_route"] != 0 {
						return "en_route refused but written"
					}
				default:
					return "en_route answered neither 200 nor 409"
				}
				return ""
			}},
		{"cancel_vs_accept", []string{"offered"},
			cancel,
			func(b *testBundle, r raceRound) response {
				return b.do("POST", fmt.Sprintf("/v1/jobs/%d/accept", r.job), r.tech, nil)
			},
			func(c, a response, row jobRow) string {
				if c.Status != 200 || row.status != "cancelled" {
					return "a cancel of an offered visit must win"
				}
				if (a.Status == 200) != row.acceptedAt || (a.Status == 200) != (row.events["job:accepted"] == 1) {
					return "the accept's answer and its row disagree"
				}
				if a.Status != 200 && a.Status != 409 {
					return "accept answered neither 200 nor 409"
				}
				return ""
			}},
		{"reschedule_vs_en_route", []string{"accepted"},
			(*testBundle).rescheduleTomorrow,
			report("en_route"),
			func(s, e response, row jobRow) string {
				switch {
				case s.Status == 200 && e.Status != 200:
					if row.enRouteAt || row.events["job:en_route"] != 0 || row.status == "en_route" {
						return "reschedule won but the technician's en_route was written"
					}
				case s.Status == 409 && e.Status == 200:
					if code := codeOf(s); code != "technician_on_the_way" {
						return "reschedule refused with " + code
					}
					if row.status != "en_route" || row.events["booking:rescheduled"] != 0 {
						return "en_route won but the rows say otherwise"
					}
				default:
					return "not one winner"
				}
				return ""
			}},
		{"reschedule_vs_on_site", []string{"accepted", "en_route"},
			(*testBundle).rescheduleTomorrow,
			report("on_site"),
			func(s, o response, row jobRow) string {
				if code := codeOf(s); s.Status != 409 || (code != "technician_on_the_way" && code != "technician_on_site") || o.Status != 200 {
					return "a technician on the way cannot be rescheduled"
				}
				if row.status != "on_site" || !row.onSite || row.events["booking:rescheduled"] != 0 {
					return "on_site was not kept"
				}
				return ""
			}},
		{"unassign_vs_completed", []string{"accepted", "en_route", "on_site"},
			func(b *testBundle, r raceRound) response {
				return b.do("POST", fmt.Sprintf("/v1/jobs/%d/unassign", r.job), b.token(dispatch.RoleDispatcher, "disp"), nil)
			},
			report("completed"),
			func(u, c response, row jobRow) string {
				if u.Status != 409 || codeOf(u) != "job_not_assignable" || c.Status != 200 {
					return "a visit under way cannot be unassigned"
				}
				if row.status != "completed" || !row.finished || !row.tech || row.bookingStatus != "completed" || row.events["job:unassigned"] != 0 {
					return "completed was not kept"
				}
				return ""
			}},
	}
	for _, race := range races {
		t.Run(race.name, func(t *testing.T) {
			b := setup(t)
			b.svc.Env.Rules.ChangeCutoff = 0 // no cut-off: the customer races the technician up to the arrival
			b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
			for i := range rounds {
				r := b.jobReadyFor(i, fmt.Sprintf("cust-%d", i), "tech-a", race.steps...)
				r1, r2 := b.both(func() response { return race.first(b, r) }, func() response { return race.then(b, r) })
				row := b.jobRow(r)
				if msg := race.check(r1, r2, row); msg != "" {
					t.Fatalf("round %d: %s: %d %s / %d %s; rows %+v", i, msg, r1.Status, r1.Body, r2.Status, r2.Body, row)
				}
			}
		})
	}
}

// rescheduleTomorrow moves the round's visit to a two-hour window tomorrow.
func (b *testBundle) rescheduleTomorrow(r raceRound) response {
	start := b.clock.Now().Add(26 * time.Hour).Truncate(time.Hour)
	return b.do("POST", fmt.Sprintf("/v1/bookings/%d/reschedule", r.booking), r.cust, map[string]any{"preferred_windows": []any{
		map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(2 * time.Hour).Format(time.RFC3339)}}})
}

func codeOf(r response) string {
	var p struct{ Code string }
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}
