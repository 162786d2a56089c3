package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
)

func TestBookingTierFromPurchase(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "alice")
	washer := b.purchase("alice", map[string]any{"category": "washer", "brand": "Bosch", "purchased_at": "2025-06-01", "warranty_months": 24})
	fridge := b.purchase("alice", map[string]any{"category": "fridge", "purchased_at": "2021-01-15", "warranty_months": 24})

	r := b.do("POST", "/v1/bookings", cust, washerBooking(washer))
	if r.Status != http.StatusCreated {
		t.Fatalf("book washer: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	created, _ := time.Parse(time.RFC3339Nano, m["created_at"].(string))
	due, _ := time.Parse(time.RFC3339Nano, m["sla_due_at"].(string))
	if m["tier"] != "warranty" || due.Sub(created) != 48*time.Hour {
		t.Fatalf("washer: tier %v, due-created %v", m["tier"], due.Sub(created))
	}
	job := m["job"].(map[string]any)
	if job["status"] != "unassigned" || job["technician_id"] != nil || job["planned_start"] != nil {
		t.Fatalf("job %v", job)
	}
	if skills := m["required_skills"].([]any); len(skills) != 1 || skills[0] != "washer" {
		t.Fatalf("skills %v", skills)
	}

	fb := washerBooking(fridge)
	fb["appliance"] = "fridge"
	m = b.do("POST", "/v1/bookings", cust, fb).json(t)
	created, _ = time.Parse(time.RFC3339Nano, m["created_at"].(string))
	due, _ = time.Parse(time.RFC3339Nano, m["sla_due_at"].(string))
	if m["tier"] != "paid" || due.Sub(created) != 24*time.Hour {
		t.Fatalf("fridge: tier %v, due-created %v", m["tier"], due.Sub(created))
	}

	// No purchase record: paid. The client cannot claim a tier: there is no such field.
	nb := washerBooking(nil)
	if m := b.do("POST", "/v1/bookings", cust, nb).json(t); m["tier"] != "paid" {
		t.Fatalf("no purchase: tier %v", m["tier"])
	}
	nb["tier"] = "warranty"
	wantProblem(t, b.do("POST", "/v1/bookings", cust, nb), 400, "unknown_field")

	// Someone else's purchase cannot lend its warranty.
	wantProblem(t, b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "mallory"), washerBooking(washer)), 422, "unknown_purchase")
}

func TestReturnPickupWindows(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "bob")
	// The clock is 2026-11-20; delivered 2026-11-15 (5 days) and 2026-11-01 (19 days).
	recent := b.purchase("bob", map[string]any{"category": "tv", "purchased_at": "2026-11-10", "delivered_at": "2026-11-15", "warranty_months": 24})
	older := b.purchase("bob", map[string]any{"category": "tv", "purchased_at": "2026-10-25", "delivered_at": "2026-11-01", "warranty_months": 24})
	pickup := func(id float64, kind string) map[string]any {
		m := washerBooking(id)
		m["appliance"], m["service_type"] = "tv", "return_pickup"
		if kind != "" {
			m["return_kind"] = kind
		}
		return m
	}
	if r := b.do("POST", "/v1/bookings", cust, pickup(recent, "")); r.Status != 201 {
		t.Fatalf("return within 7 days: %d %s", r.Status, r.Body)
	}
	r := b.do("POST", "/v1/bookings", cust, pickup(older, ""))
	wantProblem(t, r, 422, "return_window_closed")
	if !strings.Contains(r.json(t)["detail"].(string), "7 days") {
		t.Fatalf("reason does not explain the window: %s", r.Body)
	}
	if r := b.do("POST", "/v1/bookings", cust, pickup(older, "exchange")); r.Status != 201 {
		t.Fatalf("exchange within 30 days: %d %s", r.Status, r.Body)
	}
	b.clock.Set(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)) // 34 days after delivery
	cust = b.token(dispatch.RoleCustomer, "bob")
	wantProblem(t, b.do("POST", "/v1/bookings", cust, pickup(older, "exchange")), 422, "exchange_window_closed")
	wantProblem(t, b.do("POST", "/v1/bookings", cust, pickup(0, "")), 422, "unknown_purchase")
}

func TestIdempotentBooking(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "carol")
	body := washerBooking(nil)

	first := b.do("POST", "/v1/bookings", cust, body, "Idempotency-Key", "abc-1")
	again := b.do("POST", "/v1/bookings", cust, body, "Idempotency-Key", "abc-1")
	if first.Status != 201 || again.Status != 201 {
		t.Fatalf("statuses %d %d", first.Status, again.Status)
	}
	if first.json(t)["id"] != again.json(t)["id"] || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry made another booking: %v vs %v", first.json(t)["id"], again.json(t)["id"])
	}
	other := washerBooking(nil)
	other["problem"] = "it leaks"
	wantProblem(t, b.do("POST", "/v1/bookings", cust, other, "Idempotency-Key", "abc-1"), 422, "idempotency_key_reused")

	// 20 concurrent identical requests make exactly one booking.
	var wg sync.WaitGroup
	ids := make([]any, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do("POST", "/v1/bookings", cust, body, "Idempotency-Key", "burst-7")
			if r.Status != 201 {
				t.Errorf("concurrent request %d: %d %s", i, r.Status, r.Body)
				return
			}
			ids[i] = r.json(t)["id"]
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("different bookings for one key: %v", ids)
		}
	}
	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM bookings").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 { // abc-1 and burst-7
		t.Fatalf("%d bookings in the database, want 2", n)
	}
	// A retry of a booking that was written (its answer lost) is planned again before its key is
	// seen. When its chosen window has filled since, with itself among others, the key still
	// answers with the booking rather than a refusal.
	b.technician("tech-w", []string{"washer"}, 45.76, 4.84)
	window := washerBooking(nil)
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	window["preferred_windows"] = []any{map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(2 * time.Hour).Format(time.RFC3339)}}
	kept := b.do("POST", "/v1/bookings", cust, window, "Idempotency-Key", "window-1")
	if kept.Status != 201 {
		t.Fatalf("booking in a window: %d %s", kept.Status, kept.Body)
	}
	full := false
	for range 200 {
		r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "filler"), window)
		if r.Status == 409 {
			full = true
			break
		}
		if r.Status != 201 {
			t.Fatalf("filling the window: %d %s", r.Status, r.Body)
		}
	}
	if !full {
		t.Fatal("the window never filled")
	}
	retry := b.do("POST", "/v1/bookings", cust, window, "Idempotency-Key", "window-1")
	if retry.Status != 201 || retry.json(t)["id"] != kept.json(t)["id"] || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry into a full window: %d %s", retry.Status, retry.Body)
	}

	// The same key from another customer is theirs alone.
	if r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "dave"), body, "Idempotency-Key", "abc-1"); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("other customer's key: %d replayed=%q", r.Status, r.Header.Get("Idempotent-Replayed"))
	}
}

func TestBadBookingInput(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "erin")
	with := func(k string, v any) map[string]any { m := washerBooking(nil); m[k] = v; return m }
	without := func(k string) map[string]any { m := washerBooking(nil); delete(m, k); return m }
	past := map[string]any{"start": "2026-11-19T08:00:00Z", "end": "2026-11-19T10:00:00Z"}
	backwards := map[string]any{"start": "2026-11-21T10:00:00Z", "end": "2026-11-21T08:00:00Z"}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"latitude out of range", with("location", map[string]any{"lat": 91.0, "lng": 4.8}), 400, "invalid_location"},
		{"longitude out of range", with("location", map[string]any{"lat": 45.0, "lng": -181.0}), 400, "invalid_location"},
		{"NaN coordinate", `{"appliance":"washer","problem":"x","address":"a","location":{"lat":NaN,"lng":1}}`, 400, "malformed_json"},
		{"coordinate as string", with("location", map[string]any{"lat": "45", "lng": 4.8}), 400, "invalid_type"},
		{"zero location", with("location", map[string]any{"lat": 0, "lng": 0}), 400, "invalid_location"},
		{"missing location", without("location"), 400, "invalid_location"},
		{"unknown appliance", with("appliance", "toaster"), 400, "unknown_appliance"},
		{"empty problem", with("problem", "   "), 400, "empty_problem"},
		{"missing address", without("address"), 400, "missing_field"},
		{"unknown service type", with("service_type", "demolition"), 400, "invalid_service_type"},
		{"unknown channel", with("channel", "pigeon"), 400, "invalid_channel"},
		{"window ends before it starts", with("preferred_windows", []any{backwards}), 400, "invalid_window"},
		{"window in the past", with("preferred_windows", []any{past}), 400, "window_in_past"},
		{"window with a bad time", with("preferred_windows", []any{map[string]any{"start": "tomorrow", "end": "later"}}), 400, "invalid_value"},
		{"malformed JSON", `{"appliance": "washer",`, 400, "malformed_json"},
		{"two JSON values", `{} {}`, 400, "malformed_json"},
		{"empty body", ``, 400, "empty_body"},
		{"unknown field", with("urgency", "high"), 400, "unknown_field"},
		{"oversized body", `{"problem":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "body_too_large"},
		{"problem too long", with("problem", strings.Repeat("y", 5000)), 400, "too_long"},
		{"unknown purchase", with("purchase_id", 999999), 422, "unknown_purchase"},
		{"negative purchase id", with("purchase_id", -1), 422, "unknown_purchase"},
		{"return kind on a repair", with("return_kind", "exchange"), 400, "invalid_return_kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, b.do("POST", "/v1/bookings", cust, c.body), c.status, c.code)
		})
	}
	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM bookings").Scan(&n); err != nil || n != 0 {
		t.Fatalf("bad input wrote %d bookings (%v)", n, err)
	}
	wantProblem(t, b.do("GET", "/v1/bookings/abc", cust, nil), 400, "invalid_id")
	wantProblem(t, b.do("GET", "/v1/bookings?limit=-3", cust, nil), 400, "invalid_query")
	wantProblem(t, b.do("GET", "/v1/bookings/424242", cust, nil), 404, "booking_not_found")
}

func TestCancelAndReschedule(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "frank")
	m := b.do("POST", "/v1/bookings", cust, washerBooking(nil)).json(t)
	path := fmt.Sprintf("/v1/bookings/%v", m["id"])

	win := []any{map[string]any{"start": "2026-11-21T08:00:00Z", "end": "2026-11-21T10:00:00Z"}}
	wantProblem(t, b.do("POST", path+"/reschedule", cust, map[string]any{"preferred_windows": win}, "If-Match", `"7"`), 409, "version_mismatch")
	r := b.do("POST", path+"/reschedule", cust, map[string]any{"preferred_windows": win}, "If-Match", `"1"`)
	if r.Status != 200 || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("reschedule: %d etag %q %s", r.Status, r.Header.Get("ETag"), r.Body)
	}
	if w := r.json(t)["preferred_windows"].([]any); len(w) != 1 {
		t.Fatalf("windows %v", w)
	}
	r = b.do("POST", path+"/cancel", cust, map[string]any{"reason": "fixed it myself"})
	if r.Status != 200 || r.json(t)["status"] != "cancelled" || r.json(t)["job"].(map[string]any)["status"] != "cancelled" {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", path+"/cancel", cust, nil), 409, "booking_cancelled")

	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM audit_events WHERE entity='booking' AND entity_id=$1", m["id"]).Scan(&n); err != nil || n != 3 {
		t.Fatalf("audit events %d (%v), want created+rescheduled+cancelled", n, err)
	}
}

func TestBookingRateLimit(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	limited := httptest.NewServer(api.NewServer(api.Deps{Services: b.svc, JWTSecret: secret, Now: b.clock.Now, BookingsPerMinute: 6})) // a token every 10 s: none comes back during the test
	defer limited.Close()
	b.srv = limited
	cust := b.token(dispatch.RoleCustomer, "spammer")
	b.wantBurstThen429(10, 4, func(int) response { return b.do("POST", "/v1/bookings", cust, washerBooking(nil)) })
	// Another customer is not held back by the first.
	if r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "patient"), washerBooking(nil)); r.Status != 201 {
		t.Fatalf("other subject: %d", r.Status)
	}
}

// wantBurstThen429 sends burst+over requests one after the other: the burst gets 201, the rest
// 429 rate_limited with Retry-After 10 (a limit of 6 a minute).
func (b *testBundle) wantBurstThen429(burst, over int, send func(i int) response) {
	b.t.Helper()
	codes := map[int]int{}
	var last response
	for i := range burst + over {
		last = send(i)
		codes[last.Status]++
	}
	if codes[201] != burst || codes[429] != over {
		b.t.Fatalf("statuses %v, want the burst of %d then 429s", codes, burst)
	}
	wantProblem(b.t, last, 429, "rate_limited")
	if last.Header.Get("Retry-After") != "10" {
		b.t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
	}
}

// TestHostileTextIsStoredVerbatim: SQL fragments and control characters come back byte for
// byte; the one character PostgreSQL text cannot hold (NUL) is a clear 400.
func TestHostileTextIsStoredVerbatim(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "robert'); DROP TABLE customers;--")
	nasty := "'; DROP TABLE bookings; -- \" \\ \t\x01\x1b[31m \u202e <script>alert(1)</script> 😀 %s %00"
	m := washerBooking(nil)
	m["problem"], m["address"] = nasty, nasty+" (address)"
	r := b.do("POST", "/v1/bookings", cust, m)
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := b.do("GET", fmt.Sprintf("/v1/bookings/%v", r.json(t)["id"]), cust, nil).json(t)
	if got["problem"] != nasty || got["address"] != nasty+" (address)" {
		t.Fatalf("stored %q / %q", got["problem"], got["address"])
	}
	m["problem"] = "nul \x00 inside"
	wantProblem(t, b.do("POST", "/v1/bookings", cust, m), 400, "invalid_character")
	wantProblem(t, b.do("GET", "/v1/purchases?customer_sub=%00", b.token(dispatch.RoleDispatcher, "d"), nil), 400, "invalid_character")
}

func TestListPaging(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "pat")
	for range 3 {
		b.do("POST", "/v1/bookings", cust, washerBooking(nil))
	}
	first := b.do("GET", "/v1/bookings?limit=2", cust, nil).json(t)
	if len(first["items"].([]any)) != 2 || first["next_before"] == nil {
		t.Fatalf("first page %v", first)
	}
	second := b.do("GET", fmt.Sprintf("/v1/bookings?limit=2&before=%v", first["next_before"]), cust, nil).json(t)
	if len(second["items"].([]any)) != 1 || second["next_before"] != nil {
		t.Fatalf("second page %v", second)
	}
	ids := map[any]bool{}
	for _, page := range []map[string]any{first, second} {
		for _, it := range page["items"].([]any) {
			ids[it.(map[string]any)["id"]] = true
		}
	}
	if len(ids) != 3 {
		t.Fatalf("pages overlap or miss: %v", ids)
	}
}
