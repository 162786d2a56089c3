package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestJSONNamesCaseSensitiveDuplicatesAndBadUnicodeRefused: issue 19 found "Problem" overwriting
// "problem" (names matched in any case), a repeated name silently taking the last value, and
// lone surrogates stored as U+FFFD. Names are now matched as written, and a body that says two
// things at once or holds broken text is refused with its own code; nothing is written.
func TestJSONNamesCaseSensitiveDuplicatesAndBadUnicodeRefused(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	cust := b.token(dispatch.RoleCustomer, "c")
	const rest = `"service_type":"repair","appliance":"washer","address":"1 rue X, Lyon","location":{"lat":45.76,"lng":4.84}`
	for _, c := range []struct {
		name, fields string
		code         string
	}{
		{"a name in another case beside it", `"problem":"drum","Problem":"overwritten"`, "unknown_field"},
		{"a name in another case alone", `"PROBLEM":"drum"`, "unknown_field"},
		{"a name twice", `"problem":"drum","problem":"second"`, "duplicate_field"},
		{"a nested name twice", `"problem":"drum","location":{"lat":45.76,"lat":0,"lng":4.84}`, "duplicate_field"},
		{"a lone high surrogate", `"problem":"lone \ud800 half"`, "invalid_unicode"},
		{"a lone low surrogate", `"problem":"\udc00"`, "invalid_unicode"},
		{"a pair the wrong way round", `"problem":"\udc00\ud800"`, "invalid_unicode"},
		{"a high surrogate before another escape", `"problem":"\ud800\u0041"`, "invalid_unicode"},
		{"a surrogate in a name", `"problem":"drum","\ud800":1`, "invalid_unicode"},
		{"invalid UTF-8", "\"problem\":\"caf\xe9\"", "invalid_unicode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := "{" + rest + "," + c.fields + "}"
			if strings.Contains(c.fields, `"location"`) {
				body = `{"service_type":"repair","appliance":"washer","address":"1 rue X, Lyon",` + c.fields + "}"
			}
			wantProblem(t, b.do("POST", "/v1/bookings", cust, body), 400, c.code)
		})
	}
	// Whole pairs, and text that only looks like an escape, are kept as sent.
	for _, c := range []struct{ escaped, stored string }{
		{`drum \ud83d\ude00`, "drum 😀"},
		{`\\ud800 is six characters`, `\ud800 is six characters`},
	} {
		r := b.do("POST", "/v1/bookings", cust, fmt.Sprintf(`{%s,"problem":"%s"}`, rest, c.escaped))
		if r.Status != 201 || r.json(t)["problem"] != c.stored {
			t.Fatalf("%s: %d %s, want 201 with problem %q", c.escaped, r.Status, r.Body, c.stored)
		}
	}
	var n int
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM bookings").Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d bookings written (%v), want the 2 good ones", n, err)
	}
	// Every body is read the same way: a purchase, too.
	wantProblem(t, b.do("POST", "/v1/purchases", cust, `{"category":"washer","category":"tv"}`), 400, "duplicate_field")
}
