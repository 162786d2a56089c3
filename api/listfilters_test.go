package api_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// TestBookingListFilters: GET /v1/bookings ignored at_risk and region (200 with every booking).
// Both filter now, and a filter the list does not know, or a value it cannot read, is a 400.
func TestBookingListFilters(t *testing.T) {
	b := setup(t)
	b.technician("lyon", []string{"washer"}, 45.76, 4.84)
	b.technician("stetienne", []string{"washer"}, 45.43, 4.39)
	ac := washerBooking(nil)
	ac["appliance"] = "ac" // nobody repairs air conditioners: it waits, and falls at risk
	risky := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust"), ac).json(t)
	b.clock.Set(b.clock.Now().Add(19 * time.Hour)) // 5 h before its due time
	cust := b.token(dispatch.RoleCustomer, "cust")
	lyon := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	se := washerBooking(nil)
	se["location"] = map[string]any{"lat": 45.434, "lng": 4.390}
	stEtienne := b.do("POST", "/v1/bookings", cust, se).json(t)
	if lyon["region"] == stEtienne["region"] {
		t.Fatalf("both in region %v", lyon["region"])
	}
	if _, err := b.svc.Watchdog.SLAWatchdog(t.Context()); err != nil {
		t.Fatal(err)
	}
	disp := b.token(dispatch.RoleDispatcher, "disp")
	ids := func(q string) string {
		t.Helper()
		r := b.do("GET", "/v1/bookings?"+q, disp, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
		var out []any
		for _, it := range r.json(t)["items"].([]any) {
			out = append(out, it.(map[string]any)["id"])
		}
		return fmt.Sprint(out)
	}
	if got, want := ids("at_risk=true"), fmt.Sprint([]any{risky["id"]}); got != want {
		t.Errorf("at_risk=true: %s, want %s", got, want)
	}
	if got, want := ids("at_risk=false"), fmt.Sprint([]any{stEtienne["id"], lyon["id"]}); got != want {
		t.Errorf("at_risk=false: %s, want %s", got, want)
	}
	if got, want := ids("region="+url.QueryEscape(stEtienne["region"].(string))), fmt.Sprint([]any{stEtienne["id"]}); got != want {
		t.Errorf("region of Saint-Étienne: %s, want %s", got, want)
	}
	if got, want := ids("region="+lyon["region"].(string)+"&at_risk=true"), fmt.Sprint([]any{risky["id"]}); got != want {
		t.Errorf("Lyon at risk: %s, want %s", got, want)
	}
	wantProblem(t, b.do("GET", "/v1/bookings?at_risk=yes", disp, nil), 400, "invalid_query")
	wantProblem(t, b.do("GET", "/v1/bookings?region=paris", disp, nil), 400, "invalid_region")
	cell, _ := geo.CellOf(geo.Point{Lat: 45.76, Lng: 4.84}, 7)
	wantProblem(t, b.do("GET", "/v1/bookings?region="+cell.String(), disp, nil), 400, "invalid_region")
	wantProblem(t, b.do("GET", "/v1/bookings?teir=paid", disp, nil), 400, "unknown_filter")
}

// TestRescheduleDefersLikeCreate: a booking rescheduled to windows after its due time was not
// marked as the customer's choice (customer_deferred false) while one created with the same
// window was, and both showed at risk. One rule now: windows that all start after the due time
// are the customer's choice, on create and on reschedule (and back again), and such a booking is
// at risk only when its technician is late, on the board and for the watchdog.
func TestRescheduleDefersLikeCreate(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	cust := b.token(dispatch.RoleCustomer, "cust")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	late := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC) // the paid SLA falls due at 09:00
	win := []any{map[string]any{"start": late.Format(time.RFC3339), "end": late.Add(2 * time.Hour).Format(time.RFC3339)}}
	w := washerBooking(nil)
	w["preferred_windows"] = win
	created := b.do("POST", "/v1/bookings", cust, w).json(t)
	mw := washerBooking(nil) // this afternoon, inside the SLA and outside the change cut-off
	aft := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	mw["preferred_windows"] = []any{map[string]any{"start": aft.Format(time.RFC3339), "end": aft.Add(2 * time.Hour).Format(time.RFC3339)}}
	moved := b.do("POST", "/v1/bookings", cust, mw).json(t)
	if moved["customer_deferred"] != false {
		t.Fatalf("a booking inside the SLA is deferred: %v", moved["customer_deferred"])
	}
	r := b.do("POST", fmt.Sprintf("/v1/bookings/%v/reschedule", moved["id"]), cust, map[string]any{"preferred_windows": win})
	if r.Status != 200 {
		t.Fatalf("reschedule: %d %s", r.Status, r.Body)
	}
	for _, bk := range []map[string]any{created, r.json(t)} {
		if bk["customer_deferred"] != true {
			t.Fatalf("booking %v: customer_deferred %v, want true", bk["id"], bk["customer_deferred"])
		}
		if got := b.do("GET", fmt.Sprintf("/v1/bookings/%v", bk["id"]), disp, nil).json(t); got["customer_deferred"] != true {
			t.Fatalf("booking %v reads customer_deferred %v", bk["id"], got["customer_deferred"])
		}
	}
	if _, err := b.svc.Watchdog.SLAWatchdog(t.Context()); err != nil {
		t.Fatal(err)
	}
	if items := b.do("GET", "/v1/bookings?at_risk=true", disp, nil).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("the watchdog flags bookings the customer deferred: %v", items)
	}
	if risk := b.do("GET", "/v1/board", disp, nil).json(t)["at_risk"].([]any); len(risk) != 0 {
		t.Fatalf("the board puts bookings the customer deferred at risk: %v", risk)
	}
	soon := b.clock.Now().Add(3 * time.Hour)
	back := b.do("POST", fmt.Sprintf("/v1/bookings/%v/reschedule", moved["id"]), cust, map[string]any{"preferred_windows": []any{
		map[string]any{"start": soon.Format(time.RFC3339), "end": soon.Add(2 * time.Hour).Format(time.RFC3339)}}})
	if back.Status != 200 || back.json(t)["customer_deferred"] != false {
		t.Fatalf("rescheduled inside the SLA: %d %s", back.Status, back.Body)
	}
}
