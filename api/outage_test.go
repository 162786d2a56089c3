package api_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestDatabaseOutageAnswers503: while PostgreSQL is unreachable the API answers 503 with
// Retry-After (never a 500), /readyz says not ready, and service resumes by itself afterwards.
func TestDatabaseOutageAnswers503(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	pool, proxy := dbtest.PoolBehindProxy(t, b.db)
	svc := services.New(postgres.New(pool), dispatch.DefaultRules(), b.clock, nil)
	srv := httptest.NewServer(api.NewServer(api.Deps{Services: svc, JWTSecret: secret, Ready: pool.Ping, Now: b.clock.Now, BookingsPerMinute: 1000}))
	defer srv.Close()
	b.srv = srv
	cust := b.token(dispatch.RoleCustomer, "c")
	if r := b.do("POST", "/v1/bookings", cust, washerBooking(nil)); r.Status != 201 {
		t.Fatalf("before: %d %s", r.Status, r.Body)
	}

	proxy.Down()
	for _, call := range []func() response{
		func() response { return b.do("POST", "/v1/bookings", cust, washerBooking(nil)) },
		func() response { return b.do("GET", "/v1/bookings", cust, nil) },
		func() response { return b.do("GET", "/readyz", "", nil) },
	} {
		r := call()
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("during the outage: %d (Retry-After %q) %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}

	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := b.do("POST", "/v1/bookings", cust, washerBooking(nil))
		if r.Status == 201 {
			break
		}
		if r.Status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the outage: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(b.do("GET", "/v1/bookings", cust, nil).json(t)["items"].([]any)); n != 2 {
		t.Fatalf("%d bookings after recovery, want 2 (the refused one was not half-written)", n)
	}
}
