package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestReplicaDownReadsThePrimary: a read replica that does not answer sends reads to the primary
// rather than failing them (the standby-backed test is cmd/fieldfix's TestReadReplica...).
func TestReplicaDownReadsThePrimary(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	down, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/nowhere?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	var observed []bool
	r := postgres.NewReplica(s.Pool, down, nil)
	r.Observe = func(_ time.Duration, ok bool) { observed = append(observed, ok) }
	if f := r.Freshness(ctx); f.Source != "primary" || f.Lag != 0 {
		t.Fatalf("freshness %+v", f)
	}
	var n int
	if err := r.QueryRow(ctx, "SELECT count(*) FROM technicians").Scan(&n); err != nil || n != 0 {
		t.Fatalf("read through the router: %d, %v", n, err)
	}
	if len(observed) != 1 || observed[0] {
		t.Fatalf("observed %v: one failed measurement expected (the second read within a second reuses it)", observed)
	}
	// The primary itself given as the "replica" is not in recovery: zero lag, read as a replica.
	if f := postgres.NewReplica(s.Pool, s.Pool, nil).Freshness(ctx); f.Source != "replica" || f.Lag != 0 {
		t.Fatalf("a primary as replica: %+v", f)
	}
}
