package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/parts"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s partsStore) Tx(ctx context.Context, fn func(parts.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Parts()) })
}

// Join is the store bound to tx, another area's open transaction.
func (s partsStore) Join(tx dispatch.Tx) parts.Store { return joined(tx).Parts() }

// ---- the catalogue ----

// partRow is a part as PartsUpsert reads it from its JSON array.
type partRow struct {
	SKU            string    `json:"sku"`
	Name           string    `json:"name"`
	Categories     []string  `json:"categories"`
	Models         []string  `json:"models"`
	UnitPriceMinor int64     `json:"unit_price_minor"`
	CostMinor      *int64    `json:"cost_minor"`
	SerialTracked  bool      `json:"serial_tracked"`
	At             time.Time `json:"at"`
}

func (s partsStore) UpsertParts(ctx context.Context, ps []parts.Part) (int, error) {
	rows := make([]partRow, len(ps))
	for i, p := range ps {
		rows[i] = partRow{SKU: p.SKU, Name: p.Name, Categories: orEmpty(p.Categories), Models: orEmpty(p.Models),
			UnitPriceMinor: p.UnitPriceMinor, CostMinor: p.CostMinor, SerialTracked: p.SerialTracked, At: p.UpdatedAt}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return 0, err
	}
	n, err := s.q.PartsUpsert(ctx, payload)
	return int(n), mapErr(err)
}

func partFrom(r db.Part) parts.Part {
	return parts.Part{SKU: r.Sku, Name: r.Name, Categories: orEmpty(r.Categories), Models: orEmpty(r.Models), UnitPriceMinor: r.UnitPriceMinor,
		CostMinor: r.CostMinor, SerialTracked: r.SerialTracked, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func (s partsStore) ListParts(ctx context.Context, f parts.PartFilter) ([]parts.Part, error) {
	rows, err := s.q.PartsList(ctx, db.PartsListParams{Category: f.Category, Model: f.Model, Query: f.Query, After: f.After, MaxRows: int32(f.Limit)})
	return mapAll(rows, partFrom), mapErr(err)
}

func (s partsStore) PartsBySKU(ctx context.Context, skus []string) ([]parts.Part, error) {
	rows, err := s.q.PartsBySKU(ctx, skus)
	return mapAll(rows, partFrom), mapErr(err)
}

// ---- common faults ----

func (s partsStore) AddFault(ctx context.Context, f parts.Fault) (parts.Fault, error) {
	r, err := s.q.PartFaultInsert(ctx, db.PartFaultInsertParams{Category: f.Category, Fault: f.Fault, Sku: f.SKU, Quantity: int32(f.Quantity), CreatedAt: f.CreatedAt})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return parts.Fault{}, dispatch.Conflict("fault_exists", "%s: %q already suggests %s", f.Category, f.Fault, f.SKU)
	}
	if err != nil {
		return parts.Fault{}, mapErr(err)
	}
	f.ID, f.CreatedAt = r.ID, r.CreatedAt.UTC()
	return f, nil
}

func (s partsStore) Faults(ctx context.Context, category string) ([]parts.Fault, error) {
	rows, err := s.q.PartFaultList(ctx, category)
	return mapAll(rows, faultFrom), mapErr(err)
}

func faultFrom(r db.PartFaultListRow) parts.Fault {
	return parts.Fault{ID: r.ID, Category: r.Category, Fault: r.Fault, SKU: r.Sku, Name: r.Name, Quantity: int(r.Quantity), CreatedAt: r.CreatedAt.UTC()}
}

func (s partsStore) DeleteFault(ctx context.Context, id int64) (bool, error) {
	n, err := s.q.PartFaultDelete(ctx, id)
	return n == 1, mapErr(err)
}

func (s partsStore) FaultsFor(ctx context.Context, category, problem string) ([]parts.Fault, error) {
	rows, err := s.q.PartFaultsFor(ctx, category, problem)
	return mapAll(rows, func(r db.PartFaultsForRow) parts.Fault { return faultFrom(db.PartFaultListRow(r)) }), mapErr(err)
}
