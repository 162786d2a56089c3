package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/metrics"
)

// readFromReplica serves the board, audit, KPIs and lists from the streaming replica at
// c.ReadDatabaseURL, falling back to the primary while it lags past c.ReadMaxLag or does not
// answer. The replica is read-only: nothing is created or migrated there (it follows the primary).
func readFromReplica(ctx context.Context, c config, svc *services.Set, primary *pgxpool.Pool, reg *metrics.Registry, log *slog.Logger) (func(), error) {
	pc, err := poolConfig(c.ReadDatabaseURL, 16)
	if err != nil {
		return nil, fmt.Errorf("FIELDFIX_READ_DATABASE_URL: %w", err)
	}
	standby, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open read replica: %w", err)
	}
	r := postgres.NewReplica(primary, standby, log)
	r.MaxLag, r.Observe = c.ReadMaxLag, reg.ReadReplicaLag
	svc.ReadFrom(postgres.NewReads(r), func(ctx context.Context) (string, time.Duration) {
		f := r.Freshness(ctx)
		return f.Source, f.Lag
	})
	log.Info("reads from the replica", "max_lag", c.ReadMaxLag, "now", r.Freshness(ctx).Source)
	return standby.Close, nil
}
