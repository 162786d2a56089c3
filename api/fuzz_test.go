package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// FuzzBookingDecoder throws arbitrary bodies at POST /v1/bookings: every answer is a 201 or a
// problem+json 4xx with a code, never a 5xx. `go test -fuzz FuzzBookingDecoder ./api` runs it
// for real; `make test` replays the corpus.
func FuzzBookingDecoder(f *testing.F) {
	for _, seed := range []string{
		`{"service_type":"repair","appliance":"washer","problem":"drum","address":"1 rue","location":{"lat":45.7,"lng":4.8}}`,
		`{"appliance":"washer","problem":"x","address":"y","location":{"lat":1e308,"lng":-1e308}}`,
		`{"appliance":"washer","problem":"x","address":"y","location":{"lat":45,"lng":4},"preferred_windows":[{"start":"2026-11-21T08:00:00Z","end":"2026-11-21T10:00:00+14:00"}]}`,
		`{"appliance":"tv","service_type":"return_pickup","problem":"x","address":"y","location":{"lat":45,"lng":4},"purchase_id":9223372036854775807}`,
		`{"problem":"\u0000\ud800","address":"'; DROP TABLE bookings; --","appliance":"fridge","location":{"lat":-90,"lng":180}}`,
		`[]`, `null`, `{"location":null}`, `{"purchase_id":-1e3}`, strings.Repeat(`{"a":`, 200),
	} {
		f.Add([]byte(seed))
	}
	s := dbtest.New(f)
	clock := dispatch.ClockFunc(func() time.Time { return time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) })
	svc := dispatch.NewService(postgres.New(s.Pool), dispatch.DefaultRules(), clock, nil)
	e := api.NewServer(api.Deps{Service: svc, JWTSecret: secret, Now: clock.Now, BookingsPerMinute: 1 << 30})
	tok, _ := api.IssueToken(secret, dispatch.RoleCustomer, "fuzzer", clock.Now(), time.Hour)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/bookings", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
		case rec.Code >= 400 && rec.Code < 500:
			if rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(rec.Body.String(), `"code":"`) {
				t.Fatalf("%d without a problem document: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}
