// Package dbtest gives each test a pool on a private, migrated schema of the test database
// (TEST_DATABASE_URL), so tests run in parallel against a real PostgreSQL without sharing rows.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/internal/pgsetup"
)

// DefaultURL is used when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/fieldfix_test?sslmode=disable"

// URL is the test database's URL.
func URL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var prepare = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pgsetup.EnsureDatabase(ctx, URL()); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// Extensions are per database; create them once, serialised across test processes.
	_, err = conn.Exec(ctx, "SELECT pg_advisory_lock(7201002); CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public; SELECT pg_advisory_unlock(7201002)")
	return err
})

// Schema is a migrated private schema.
type Schema struct {
	Name string
	URL  string // a connection URL whose search_path is the schema
	Pool *pgxpool.Pool
}

// New creates a fresh schema, migrates it and drops it when the test ends.
func New(t testing.TB) *Schema {
	t.Helper()
	if err := prepare(); err != nil {
		t.Fatalf("dbtest: prepare %s: %v (is PostgreSQL running? set TEST_DATABASE_URL)", URL(), err)
	}
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, URL())
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("dbtest: create schema: %v", err)
	}
	url := WithSearchPath(URL(), name)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("dbtest: pool: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		c, err := pgx.Connect(context.Background(), URL())
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
	})
	if err := pgsetup.Migrate(ctx, pool); err != nil {
		t.Fatalf("dbtest: migrate: %v", err)
	}
	return &Schema{Name: name, URL: url, Pool: pool}
}

// WithSearchPath adds search_path=schema,public to a URL (keyword/value or URL form).
func WithSearchPath(url, schema string) string {
	sep := "?"
	for _, c := range url {
		if c == '?' {
			sep = "&"
		}
	}
	return url + sep + "search_path=" + schema + ",public"
}
