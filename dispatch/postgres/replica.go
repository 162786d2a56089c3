package postgres

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// Freshness says where a read was served from and how far behind the primary it may be.
type Freshness struct {
	Source string        // "primary" or "replica"
	Lag    time.Duration // 0 on the primary
}

// Replica routes reads to a streaming replica while it is no further behind the primary than
// MaxLag, and to the primary otherwise (replica down, lagging, or not a standby at all). It
// measures the lag at most once per Every, so a busy board costs the replica one extra query a
// second, not one per request.
type Replica struct {
	Primary, Standby *pgxpool.Pool
	MaxLag           time.Duration
	Every            time.Duration
	Log              *slog.Logger
	// Observe, when set, receives each lag measurement (a metrics gauge).
	Observe func(lag time.Duration, ok bool)

	mu      sync.Mutex
	checked time.Time
	fresh   Freshness
	down    bool
}

// DefaultMaxLag is how stale the replica may be before reads go back to the primary.
const DefaultMaxLag = 30 * time.Second

// NewReplica returns a router over the two pools with the defaults (30 s, measured each second).
func NewReplica(primary, standby *pgxpool.Pool, log *slog.Logger) *Replica {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Replica{Primary: primary, Standby: standby, MaxLag: DefaultMaxLag, Every: time.Second, Log: log}
}

// lagSQL is the replica's delay: zero when it has replayed all the WAL it received (an idle
// primary does not make a replica stale), else the age of the last transaction it replayed.
const lagSQL = `SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)::float8
END`

// Freshness measures (or recalls, within Every) where reads go now.
func (r *Replica) Freshness(ctx context.Context) Freshness {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.checked.IsZero() && time.Since(r.checked) < r.Every {
		return r.fresh
	}
	r.checked = time.Now()
	mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var secs float64
	err := r.Standby.QueryRow(mctx, lagSQL).Scan(&secs)
	lag := time.Duration(math.Max(secs, 0) * float64(time.Second))
	if r.Observe != nil {
		r.Observe(lag, err == nil)
	}
	prev := r.fresh
	switch {
	case err != nil:
		r.fresh = Freshness{Source: "primary"}
		if !r.down {
			r.Log.Warn("read replica unreachable: reading from the primary", "err", err)
		}
	case lag > r.MaxLag:
		r.fresh = Freshness{Source: "primary"}
		if prev.Source != "primary" {
			r.Log.Warn("read replica lags: reading from the primary", "lag", lag, "max_lag", r.MaxLag)
		}
	default:
		r.fresh = Freshness{Source: "replica", Lag: lag}
	}
	r.down = err != nil
	return r.fresh
}

func (r *Replica) pick(ctx context.Context) *pgxpool.Pool {
	if r.Freshness(ctx).Source == "replica" {
		return r.Standby
	}
	return r.Primary
}

// Exec, Query and QueryRow make the router a db.DBTX. Writes never come here (the read store is
// only handed to reading areas), but one that did would fail on the standby, never succeed twice.
func (r *Replica) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return r.pick(ctx).Exec(ctx, sql, args...)
}

func (r *Replica) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return r.pick(ctx).Query(ctx, sql, args...)
}

func (r *Replica) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return r.pick(ctx).QueryRow(ctx, sql, args...)
}

// NewReads returns a store whose reads go through r; its transactions (none are expected of the
// reading areas) run on the primary.
func NewReads(r *Replica) *Store {
	return &Store{pool: r.Primary, q: db.New(r)}
}
