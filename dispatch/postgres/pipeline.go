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

// ChangedPlans reads in one round trip, of the technicians ids, those whose plan_version differs
// from known (same order; -1 for none held): their rows and versions, their live jobs ending after
// stopsFrom and their time off ending after offFrom. The three reads are separate statements: a
// plan that moves between them comes back newer than its version says, and is read again next time.
func (s *Store) ChangedPlans(ctx context.Context, ids, known []int64, stopsFrom, offFrom time.Time) ([]dispatch.PlanRead, error) {
	var (
		techs []db.Technician
		jobs  []db.ChangedPlanJobsRow
		offs  []db.TechnicianTimeOff
	)
	err := s.pipeline(ctx,
		func(q *db.Queries) (err error) { techs, err = q.ChangedPlanTechnicians(ctx, ids, known); return err },
		func(q *db.Queries) (err error) { jobs, err = q.ChangedPlanJobs(ctx, stopsFrom, ids, known); return err },
		func(q *db.Queries) (err error) {
			offs, err = q.ChangedPlanTimeOff(ctx, offFrom, ids, known)
			return err
		},
	)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.PlanRead, len(techs))
	at := make(map[int64]*dispatch.PlanRead, len(techs))
	for i, t := range techs {
		out[i] = dispatch.PlanRead{Technician: technicianFrom(t), Version: t.PlanVersion, Stops: []dispatch.Stop{}}
		at[t.ID] = &out[i]
	}
	for _, j := range jobs {
		if p := at[*j.TechnicianID]; p != nil { // else it changed after the first read: next time
			p.Stops = append(p.Stops, stopFrom(db.LiveJobsOfRow(j)))
		}
	}
	for _, o := range offs {
		if p := at[o.TechnicianID]; p != nil {
			p.TimeOff = append(p.TimeOff, dispatch.Window{Start: o.StartsAt.UTC(), End: o.EndsAt.UTC()})
		}
	}
	return out, nil
}
