package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
)

var errRollback = errors.New("rollback")

func slotQuery(from, to time.Time, extra ...string) string {
	q := url.Values{"lat": {"45.762"}, "lng": {"4.84"}, "appliance": {"ac"}, "service_type": {"installation"},
		"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/v1/slots?" + q.Encode()
}

func acInstall(w map[string]any) map[string]any {
	m := washerBooking(nil)
	m["appliance"], m["service_type"] = "ac", "installation"
	m["location"] = map[string]any{"lat": 45.762, "lng": 4.84}
	if w != nil {
		m["preferred_windows"] = []any{w}
	}
	return m
}

// TestSlotsAgreeWithInsertion checks every 2 h window of two days against the booking itself:
// each offered window really takes a booking at that moment, and no window that is not offered does.
func TestSlotsAgreeWithInsertion(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"ac", "install"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "sam")
	// Some existing work in the plan.
	for range 3 {
		if r := b.do("POST", "/v1/bookings", cust, acInstall(nil)); r.Status != 201 {
			t.Fatalf("seed booking: %d %s", r.Status, r.Body)
		}
	}
	from, to := b.clock.Now(), b.clock.Now().Add(48*time.Hour)
	r := b.do("GET", slotQuery(from, to), cust, nil)
	if r.Status != 200 {
		t.Fatalf("slots: %d %s", r.Status, r.Body)
	}
	offered := map[time.Time]bool{}
	for _, s := range r.json(t)["slots"].([]any) {
		st, _ := time.Parse(time.RFC3339, s.(map[string]any)["start"].(string))
		offered[st] = true
	}
	if len(offered) == 0 {
		t.Fatal("no slot offered")
	}
	svc := b.svc
	actor := dispatch.Actor{Subject: "sam", Role: dispatch.RoleCustomer}
	checked, agreed := 0, 0
	// The grid follows even hours of the business zone (UTC in these tests); the first window is
	// cut at 'from'.
	grid := from.Truncate(2 * time.Hour)
	for w := grid; w.Before(to); w = w.Add(2 * time.Hour) {
		start := w
		if start.Before(from) {
			start = from
		}
		window := dispatch.Window{Start: start, End: w.Add(2 * time.Hour)}
		var ok bool
		err := svc.Intake.Store.Tx(context.Background(), func(st intake.Store) error {
			inTx := *svc.Intake
			inTx.Store = st
			bk, _, err := inTx.CreateBooking(context.Background(), actor, intake.BookingRequest{ServiceType: "installation", Appliance: "ac",
				Problem: "install", Address: "x", Location: dispatch.Location{Lat: 45.762, Lng: 4.84}, PreferredWindows: []dispatch.Window{window}}, "", "")
			if err == nil {
				ps := bk.CurrentJob().PlannedStart
				if ps == nil || ps.Before(window.Start) || !ps.Before(window.End) {
					t.Errorf("window %s: planned at %v, outside it", window.Start, ps)
				}
			}
			ok = err == nil
			return errRollback
		})
		if !errors.Is(err, errRollback) && err != nil {
			// the refusal itself (409 window_unavailable) surfaces here
			ok = false
		}
		checked++
		if ok == offered[start] {
			agreed++
		} else {
			t.Errorf("window %s: offered=%v but booking it succeeded=%v", start.Format(time.RFC3339), offered[start], ok)
		}
	}
	if checked < 20 || agreed != checked || len(offered) == checked {
		t.Fatalf("%d of %d windows agree; %d offered (nights must not be)", agreed, checked, len(offered))
	}
}

func TestSlotTakenMeanwhileGets409WithAlternatives(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"ac", "install"}, 45.76, 4.84)
	first := b.token(dispatch.RoleCustomer, "first")
	second := b.token(dispatch.RoleCustomer, "second")
	now := b.clock.Now()
	slots := b.do("GET", slotQuery(now, now.Add(24*time.Hour)), second, nil).json(t)["slots"].([]any)
	if len(slots) < 2 {
		t.Fatalf("slots %v", slots)
	}
	pick := slots[1].(map[string]any) // both customers look at the same window
	w := map[string]any{"start": pick["start"], "end": pick["end"]}
	if r := b.do("POST", "/v1/bookings", first, acInstall(w)); r.Status != 201 {
		t.Fatalf("first: %d %s", r.Status, r.Body)
	}
	r := b.do("POST", "/v1/bookings", second, acInstall(w))
	wantProblem(t, r, 409, "window_unavailable")
	alts, _ := r.json(t)["alternatives"].([]any)
	if len(alts) == 0 {
		t.Fatalf("no alternatives: %s", r.Body)
	}
	for _, a := range alts {
		if a.(map[string]any)["start"] == pick["start"] {
			t.Fatalf("the taken window is offered again: %v", a)
		}
	}
	// The refused booking left nothing behind.
	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM bookings b JOIN customers c ON c.id = b.customer_id WHERE c.subject = 'second'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused booking stored: %d (%v)", n, err)
	}
	// An alternative works.
	alt := alts[0].(map[string]any)
	if r := b.do("POST", "/v1/bookings", second, acInstall(map[string]any{"start": alt["start"], "end": alt["end"]})); r.Status != 201 {
		t.Fatalf("alternative: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("GET", "/v1/slots?lat=abc&lng=4&appliance=ac", second, nil), 400, "invalid_location")
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/slots?lat=45.7&lng=4.8&appliance=ac&to=%s", now.Add(30*24*time.Hour).Format(time.RFC3339)), second, nil), 400, "window_too_far")
}

// TestCustomerDeferredSLA: a customer who picks a window after the due time is told so by the
// slots, the booking records it, and the KPIs count it apart from met and missed.
func TestCustomerDeferredSLA(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "dee")
	now := b.clock.Now() // paid bookings are due in 24 h
	r := b.do("GET", "/v1/slots?"+url.Values{"lat": {"45.762"}, "lng": {"4.84"}, "appliance": {"washer"},
		"from": {now.Format(time.RFC3339)}, "to": {now.Add(48 * time.Hour).Format(time.RFC3339)}}.Encode(), cust, nil).json(t)
	due, _ := time.Parse(time.RFC3339Nano, r["sla_due_at"].(string))
	var late map[string]any
	for _, s := range r["slots"].([]any) {
		sl := s.(map[string]any)
		st, _ := time.Parse(time.RFC3339, sl["start"].(string))
		if inside := sl["inside_sla"].(bool); inside != !st.After(due) {
			t.Fatalf("slot %v: inside_sla=%v with due %v", sl["start"], inside, due)
		}
		if st.After(due) && late == nil {
			late = sl
		}
	}
	if late == nil {
		t.Fatal("no slot after the due time to choose")
	}
	w := washerBooking(nil)
	w["preferred_windows"] = []any{map[string]any{"start": late["start"], "end": late["end"]}}
	deferred := b.do("POST", "/v1/bookings", cust, w).json(t)
	if deferred["customer_deferred"] != true {
		t.Fatalf("booking %v", deferred)
	}
	onTime := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	if onTime["customer_deferred"] != false {
		t.Fatal("a booking without windows is not deferred")
	}
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	for _, bk := range []map[string]any{onTime, deferred} {
		jid := jobOf(t, bk)["id"]
		start, _ := time.Parse(time.RFC3339, jobOf(t, bk)["planned_start"].(string))
		b.clock.Set(start.Add(-25 * time.Hour / 24)) // offers open 24 h ahead; be inside
		tech = b.token(dispatch.RoleTechnician, "tech-a")
		if _, err := b.svc.Offers.OfferDue(context.Background(), 10); err != nil {
			t.Fatal(err)
		}
		if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/accept", jid), tech, nil); r.Status != 200 {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		b.clock.Set(start)
		tech = b.token(dispatch.RoleTechnician, "tech-a")
		for _, st := range []string{"en_route", "on_site", "completed"} {
			if r := b.do("POST", fmt.Sprintf("/v1/jobs/%v/status", jid), tech, map[string]any{"status": st}); r.Status != 200 {
				t.Fatalf("%s: %d %s", st, r.Status, r.Body)
			}
		}
	}
	k := b.do("GET", "/v1/kpis?"+url.Values{"from": {now.Add(-time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Hour).Format(time.RFC3339)}}.Encode(),
		b.token(dispatch.RoleDispatcher, "d"), nil).json(t)["groups"].([]any)[0].(map[string]any)
	if k["sla_met"] != float64(1) || k["sla_missed"] != float64(0) || k["sla_customer_deferred"] != float64(1) || k["sla_compliance"] != float64(1) {
		t.Fatalf("kpis %v", k)
	}
}
