package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/pdf"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/internal/dbtest"
	"github.com/fieldfix/fieldfix/metrics"
)

var secret = []byte("test-secret")

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// testBundle is what a test gets: a server on a private schema, its service and clock.
type testBundle struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *services.Set
	clock *testClock
	db    *dbtest.Schema
	hub   *api.Hub
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	t.Parallel()
	s := dbtest.New(t)
	clock := &testClock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	svc := services.New(postgres.New(s.Pool), dispatch.DefaultRules(), clock, nil)
	svc.Planner.Index = geo.NewIndex()
	svc.Proof.Renderer = pdf.Renderer{Uncompressed: true}
	reg := metrics.New(svc.Board.AtRiskCount)
	svc.Env.Metrics = reg
	hub := api.NewHub()
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	listening := make(chan struct{})
	var once sync.Once
	go postgres.New(s.Pool).FollowEvents(ctx, 10*time.Millisecond, hub.Publish, func() { once.Do(func() { close(listening) }) })
	<-listening
	e := api.NewServer(api.Deps{Services: svc, JWTSecret: secret, Ready: s.Pool.Ping, Now: clock.Now, Metrics: reg, MetricsHandler: reg.Handler(), Events: hub,
		BookingsPerMinute: 1_000_000, ComplaintsPerMinute: 1_000_000}) // the rate-limit tests check the limits on servers of their own
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &testBundle{t: t, srv: srv, svc: svc, clock: clock, db: s, hub: hub}
}

// lyonServed makes Lyon a served address for tests of booking rules that plan nothing: an
// installer (no repair trade) works there, so bookings are accepted, not refused as outside every
// service area, and wait unassigned, no technician having the trade.
func (b *testBundle) lyonServed() {
	b.t.Helper()
	r := b.do("POST", "/v1/technicians", b.token(dispatch.RoleAdmin, "admin"), map[string]any{"name": "Ines Installer",
		"skills": []string{"install"}, "home": map[string]any{"lat": 45.76, "lng": 4.84}, "time_zone": "Europe/Paris"})
	if r.Status != http.StatusCreated {
		b.t.Fatalf("installer: %d %s", r.Status, r.Body)
	}
}

func (b *testBundle) token(role dispatch.Role, sub string) string {
	tok, err := api.IssueToken(secret, role, sub, b.clock.Now(), time.Hour)
	if err != nil {
		b.t.Fatal(err)
	}
	return tok
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// do sends a request; body may be nil, a string (sent raw) or a value (JSON-encoded).
func (b *testBundle) do(method, path, token string, body any, headers ...string) response {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// wantProblem asserts a problem+json answer with status and code.
func wantProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	if got := r.json(t)["code"]; got != code {
		t.Fatalf("code %v, want %s: %s", got, code, r.Body)
	}
}

func washerBooking(purchaseID any) map[string]any {
	b := map[string]any{
		"service_type": "repair", "appliance": "washer", "problem": "the drum does not spin",
		"address": "12 rue de la République, Lyon", "location": map[string]any{"lat": 45.764, "lng": 4.8357}, "channel": "app",
	}
	if purchaseID != nil {
		b["purchase_id"] = purchaseID
	}
	return b
}

// purchase registers a product for a customer, as the customer (unverified), and returns its id.
func (b *testBundle) purchase(sub string, body map[string]any) float64 {
	b.t.Helper()
	return b.registerPurchase(b.token(dispatch.RoleCustomer, sub), body)
}

// salesRecord registers a product for a customer as the shop (a dispatcher): verified.
func (b *testBundle) salesRecord(sub string, body map[string]any) float64 {
	b.t.Helper()
	body["customer_sub"] = sub
	return b.registerPurchase(b.token(dispatch.RoleDispatcher, "shop"), body)
}

func (b *testBundle) registerPurchase(token string, body map[string]any) float64 {
	b.t.Helper()
	r := b.do("POST", "/v1/purchases", token, body)
	if r.Status != http.StatusCreated {
		b.t.Fatalf("purchase: %d %s", r.Status, r.Body)
	}
	return r.json(b.t)["id"].(float64)
}
