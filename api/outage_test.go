package api_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
)

// pgProxy stands between the server and PostgreSQL so a test can take the database away and
// bring it back without touching the shared server.
type pgProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{target: target, addr: ln.Addr().String()}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// down closes the listener and every connection: the database is gone.
func (p *pgProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// up listens again on the same address.
func (p *pgProxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

// TestDatabaseOutageAnswers503: while PostgreSQL is unreachable the API answers 503 with
// Retry-After (never a 500), /readyz says not ready, and service resumes by itself afterwards.
func TestDatabaseOutageAnswers503(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	proxy := newPGProxy(t, "127.0.0.1:5432")
	url := strings.Replace(b.db.URL, "127.0.0.1:5432", proxy.addr, 1)
	if url == b.db.URL {
		t.Skip("TEST_DATABASE_URL does not point at 127.0.0.1:5432; the proxy cannot stand in front of it")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	svc := dispatch.NewService(postgres.New(pool), dispatch.DefaultRules(), b.clock, nil)
	srv := httptest.NewServer(api.NewServer(api.Deps{Service: svc, JWTSecret: secret, Ready: pool.Ping, Now: b.clock.Now, BookingsPerMinute: 1000}))
	defer srv.Close()
	b.srv = srv
	cust := b.token(dispatch.RoleCustomer, "c")
	if r := b.do("POST", "/v1/bookings", cust, washerBooking(nil)); r.Status != 201 {
		t.Fatalf("before: %d %s", r.Status, r.Body)
	}

	proxy.down()
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

	proxy.up(t)
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
