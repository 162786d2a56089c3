// Package dbtest gives each test a pool on a private, migrated schema of the test database
// (TEST_DATABASE_URL), so tests run in parallel against a real PostgreSQL without sharing rows.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

// prepared holds, per server URL, the one-time preparation of its test database.
var prepared sync.Map // string → func() error

func prepare(base string) error {
	once, _ := prepared.LoadOrStore(base, sync.OnceValue(func() error { return prepareDB(base) }))
	return once.(func() error)()
}

func prepareDB(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pgsetup.EnsureDatabase(ctx, base); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// Extensions are per database; create them once, serialised across test processes.
	_, err = conn.Exec(ctx, "SELECT pg_advisory_lock(7201002); CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public; SELECT pg_advisory_unlock(7201002)")
	return err
}

// Schema is a migrated private schema.
type Schema struct {
	Name string
	URL  string // a connection URL whose search_path is the schema
	Pool *pgxpool.Pool
}

// New creates a fresh schema, migrates it and drops it when the test ends.
func New(t testing.TB) *Schema {
	t.Helper()
	s, drop, err := Scratch(context.Background(), "t_", 8)
	if err != nil {
		t.Fatalf("dbtest: %v (is PostgreSQL running? set TEST_DATABASE_URL)", err)
	}
	t.Cleanup(drop)
	return s
}

// Scratch creates a migrated schema with a random name starting with prefix, for tests and for
// benchmark programs; drop closes the pool and removes the schema.
func Scratch(ctx context.Context, prefix string, maxConns int32) (*Schema, func(), error) {
	return ScratchOn(ctx, URL(), prefix, maxConns)
}

// ScratchOn is Scratch on the database at base rather than TEST_DATABASE_URL's (a second server).
func ScratchOn(ctx context.Context, base, prefix string, maxConns int32) (*Schema, func(), error) {
	if err := prepare(base); err != nil {
		return nil, nil, fmt.Errorf("prepare %s: %w", base, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return nil, nil, fmt.Errorf("create schema: %w", err)
	}
	url := WithSearchPath(base, name)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("pool: %w", err)
	}
	drop := func() {
		pool.Close()
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
	}
	if err := pgsetup.Migrate(ctx, pool); err != nil {
		drop()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return &Schema{Name: name, URL: url, Pool: pool}, drop, nil
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
