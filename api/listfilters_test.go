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
