package dbtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Proxy stands in front of PostgreSQL to play a restart: Down closes its listener and every
// connection through it (statements in flight fail, new connections are refused), Up listens
// again on the same address.
type Proxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

// NewProxy listens on a free local port in front of the server of url, and returns the proxy and
// url rewritten to go through it.
func NewProxy(url string) (*Proxy, string, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, "", err
	}
	target := net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	if !strings.Contains(url, target) {
		return nil, "", fmt.Errorf("dbtest: %s is not written as host:port in the URL; the proxy cannot stand in front of it", target)
	}
	p := &Proxy{target: target, addr: "127.0.0.1:0"}
	if err := p.Up(); err != nil {
		return nil, "", err
	}
	return p, strings.Replace(url, target, p.addr, 1), nil
}

// Up listens (again) on the proxy's address.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("dbtest: proxy listen: %w", err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	go p.serve(ln)
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
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
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// Down closes the listener and every connection: the database is gone.
func (p *Proxy) Down() {
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

// PoolBehindProxy is a pool on s whose connections go through a new Proxy (connecting times out
// after a second, as a client of a database that went away would want); both close when the test
// ends. The test is skipped when TEST_DATABASE_URL cannot be proxied.
func PoolBehindProxy(t testing.TB, s *Schema) (*pgxpool.Pool, *Proxy) {
	t.Helper()
	proxy, url, err := NewProxy(s.URL)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(proxy.Down)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, proxy
}
