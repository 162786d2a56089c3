// Package postgres is every area's store on PostgreSQL through pgx/v5 (areas.go hands each area
// its own). Fixed queries are in queries/*.sql, compiled by sqlc into internal/db; rows are mapped
// to the domain's types here.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// Store reads and writes FieldFix's tables, on the pool or, inside inTx, in one transaction; each
// area's store (areas.go) wraps it.
type Store struct {
	pool  *pgxpool.Pool
	tx    pgx.Tx // set inside inTx
	q     *db.Queries
	after *[]func(committed bool) // hooks of the transaction, run when it ends
	audit *[]dispatch.AuditEvent  // the transaction's audit events, written just before it commits
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: db.New(pool)} }

// Pool is the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// inTx runs fn with the store bound to a transaction; inside one already, fn joins it.
func (s *Store) inTx(ctx context.Context, fn func(*Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	var (
		after []func(bool)
		audit []dispatch.AuditEvent
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		st := &Store{pool: s.pool, tx: tx, q: db.New(tx), after: &after, audit: &audit}
		if err := fn(st); err != nil {
			return err
		}
		return st.writeAudit(ctx, audit)
	})
	for _, f := range after {
		f(err == nil)
	}
	return mapErr(err)
}

// autocommit runs fn with the store outside a transaction, and its AfterTx hooks when fn returns.
func (s *Store) autocommit(ctx context.Context, fn func(*Store) (bool, error)) error {
	if s.tx != nil {
		_, err := fn(s)
		return err
	}
	var after []func(bool)
	wrote, err := fn(&Store{pool: s.pool, q: s.q, after: &after})
	for _, f := range after {
		f(wrote && err == nil)
	}
	return mapErr(err)
}

// AfterTx runs fn when the transaction ends (outside one: now, as committed).
func (s *Store) AfterTx(fn func(committed bool)) {
	if s.after == nil {
		fn(true)
		return
	}
	*s.after = append(*s.after, fn)
}

// mapErr turns database failures into dispatch error kinds the API can answer with.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var de *dispatch.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &dispatch.Error{Kind: dispatch.KindNotFound, Code: "not_found", Message: "not found", Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23P01":
			return &dispatch.Error{Kind: dispatch.KindConflict, Code: "technician_double_booked",
				Message: "the technician already has a job at that time", Err: err}
		case "23505":
			return &dispatch.Error{Kind: dispatch.KindConflict, Code: "duplicate", Message: "already exists: " + pe.ConstraintName, Err: err}
		case "22021", "22P05": // invalid byte sequence (a NUL character), untranslatable character
			return &dispatch.Error{Kind: dispatch.KindInvalid, Code: "invalid_character",
				Message: "text may not contain the NUL character or bytes that are not UTF-8", Err: err}
		case "22001": // string_data_right_truncation
			return &dispatch.Error{Kind: dispatch.KindInvalid, Code: "too_long", Message: "a value is too long", Err: err}
		case "55000": // object_not_in_prerequisite_state: the triggers of issued documents and closed periods
			return &dispatch.Error{Kind: dispatch.KindConflict, Code: "immutable", Message: pe.Message, Err: err}
		case "40001", "40P01":
			if pe.ConstraintName == "parts_reservation" { // job_parts_reserve: the van no longer holds the job's parts
				return &dispatch.Error{Kind: dispatch.KindConflict, Code: "parts_unavailable", Message: pe.Message, Err: err}
			}
			return &dispatch.Error{Kind: dispatch.KindConflict, Code: "concurrent_update", Message: "a concurrent change won; retry", Err: err}
		case "57P01", "57P02", "57P03", "53300":
			return &dispatch.Error{Kind: dispatch.KindUnavailable, Code: "database_unavailable", Message: "the database is unavailable", Err: err}
		}
		if len(pe.Code) == 5 && pe.Code[:2] == "08" { // connection exceptions
			return &dispatch.Error{Kind: dispatch.KindUnavailable, Code: "database_unavailable", Message: "the database is unavailable", Err: err}
		}
		return err
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	// A connection cut mid-statement (the server went away) is an outage too; whether a write in
	// flight committed is then unknown, which an idempotent retry resolves.
	if errors.As(err, &ne) || errors.As(err, &ce) || pgconn.SafeToRetry(err) || errors.Is(err, pgx.ErrTxClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &dispatch.Error{Kind: dispatch.KindUnavailable, Code: "database_unavailable", Message: "the database is unavailable", Err: err}
	}
	return err
}

func notFound(err error, what string, id any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return dispatch.NotFound(what, id)
	}
	return mapErr(err)
}

// ---- customers ----

// ---- purchases ----

func dateTime(d *dispatch.Date) *time.Time {
	if d == nil {
		return nil
	}
	t := d.Time()
	return &t
}

func datePtr(t *time.Time) *dispatch.Date {
	if t == nil {
		return nil
	}
	d := dispatch.DateOf(*t)
	return &d
}

// ---- bookings ----

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ---- technicians ----

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ---- audit ----

// auditRow is one event as AuditInsertAll reads it.
type auditRow struct {
	At         string          `json:"at"`
	ActorSub   string          `json:"actor_sub"`
	ActorRole  string          `json:"actor_role"`
	Entity     string          `json:"entity"`
	EntityID   int64           `json:"entity_id"`
	Action     string          `json:"action"`
	FromStatus string          `json:"from_status"`
	ToStatus   string          `json:"to_status"`
	Reason     string          `json:"reason"`
	Data       json.RawMessage `json:"data"`
}

// writeAudit inserts the events in order (the live feed polls them: FollowEvents).
func (s *Store) writeAudit(ctx context.Context, evs []dispatch.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	payload, err := auditPayload(evs)
	if err != nil {
		return err
	}
	if err := s.q.AuditInsertAll(ctx, payload); err != nil {
		e := evs[0]
		return fmt.Errorf("audit %s %d %s (+%d): %w", e.Entity, e.EntityID, e.Action, len(evs)-1, mapErr(err))
	}
	return nil
}

// auditPayload is the events as the JSON array the audit inserts read.
func auditPayload(evs []dispatch.AuditEvent) ([]byte, error) {
	rows := make([]auditRow, len(evs))
	for i, e := range evs {
		data, err := json.Marshal(e.Data)
		if err != nil || e.Data == nil {
			data = []byte("{}")
		}
		r := auditRow{At: e.At.UTC().Format("2006-01-02T15:04:05.999999Z07:00"), ActorSub: e.ActorSub, ActorRole: string(e.ActorRole),
			Entity: e.Entity, EntityID: e.EntityID, Action: e.Action, FromStatus: e.FromStatus, ToStatus: e.ToStatus,
			Reason: e.Reason, Data: data}
		// JSON would quietly turn bytes that are not UTF-8 into U+FFFD: refuse them as the
		// column would (a NUL is refused by jsonb itself).
		for _, f := range []string{r.ActorSub, r.ActorRole, r.Entity, r.Action, r.FromStatus, r.ToStatus, r.Reason} {
			if !utf8.ValidString(f) {
				return nil, &dispatch.Error{Kind: dispatch.KindInvalid, Code: "invalid_character",
					Message: "text may not contain the NUL character or bytes that are not UTF-8"}
			}
		}
		rows[i] = r
	}
	return json.Marshal(rows)
}

func position(lat, lng *float64) *dispatch.Location {
	if lat == nil || lng == nil {
		return nil
	}
	return &dispatch.Location{Lat: *lat, Lng: *lng}
}

// mapAll converts every row with f.
func mapAll[R, T any](rows []R, f func(R) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}
