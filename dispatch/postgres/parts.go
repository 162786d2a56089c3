package postgres

import (
	"context"
	"encoding/json"
	"time"

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
