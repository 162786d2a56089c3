package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// pipeline runs independent generated queries in one round trip (a pgx batch). Each step calls
// exactly one query method on the Queries it is given, and is called twice: first against a
// recorder that queues the statement (and answers with no rows), then against the batch's
// results, in order. Steps keep what they read in their own variables.
func (s *Store) pipeline(ctx context.Context, steps ...func(*db.Queries) error) error {
	rec := &queueing{}
	for _, step := range steps {
		if err := step(db.New(rec)); err != nil {
			return err
		}
	}
	var br pgx.BatchResults
	if s.tx != nil {
		br = s.tx.SendBatch(ctx, &rec.batch)
	} else {
		br = s.pool.SendBatch(ctx, &rec.batch)
	}
	var err error
	for _, step := range steps {
		if err = step(db.New(batchResults{br})); err != nil {
			break
		}
	}
	return errors.Join(err, br.Close())
}

// queueing is a db.DBTX that queues each statement in a batch.
type queueing struct{ batch pgx.Batch }

func (q *queueing) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.batch.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (q *queueing) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	q.batch.Queue(sql, args...)
	return noRows{}, nil
}

func (q *queueing) QueryRow(context.Context, string, ...any) pgx.Row {
	return errRow{errors.New("pipeline: single-row queries are not supported")}
}

// batchResults is a db.DBTX that reads the batch's next result, whatever statement it is given.
type batchResults struct{ br pgx.BatchResults }

func (b batchResults) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return b.br.Exec()
}
func (b batchResults) Query(context.Context, string, ...any) (pgx.Rows, error) { return b.br.Query() }
func (b batchResults) QueryRow(context.Context, string, ...any) pgx.Row        { return b.br.QueryRow() }

type noRows struct{}

func (noRows) Close()                                       {}
func (noRows) Err() error                                   { return nil }
func (noRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (noRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (noRows) Next() bool                                   { return false }
func (noRows) Scan(...any) error                            { return errors.New("no rows") }
func (noRows) Values() ([]any, error)                       { return nil, nil }
func (noRows) RawValues() [][]byte                          { return nil }
func (noRows) Conn() *pgx.Conn                              { return nil }
func (noRows) TypeMap() *pgtype.Map                         { return nil }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// PlanningData reads in one round trip the technicians with these ids, their live jobs
// overlapping [stopsFrom, stopsTo) and their time off overlapping [offFrom, offTo).
func (s *Store) PlanningData(ctx context.Context, ids []int64, stopsFrom, stopsTo, offFrom, offTo time.Time) ([]dispatch.Technician, []dispatch.Stop, map[int64][]dispatch.Window, error) {
	var (
		techs []db.Technician
		jobs  []db.LiveJobsOfRow
		offs  []db.TechnicianTimeOff
	)
	err := s.pipeline(ctx,
		func(q *db.Queries) (err error) { techs, err = q.TechniciansByIDs(ctx, ids); return err },
		func(q *db.Queries) (err error) { jobs, err = q.LiveJobsOf(ctx, ids, stopsFrom, stopsTo); return err },
		func(q *db.Queries) (err error) { offs, err = q.TimeOffBetween(ctx, ids, offFrom, offTo); return err },
	)
	if err != nil {
		return nil, nil, nil, mapErr(err)
	}
	return mapAll(techs, technicianFrom), mapAll(jobs, stopFrom), timeOffByTechnician(offs), nil
}
