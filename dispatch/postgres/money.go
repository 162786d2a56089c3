package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/money"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s moneyStore) Tx(ctx context.Context, fn func(money.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Money()) })
}

// Join is the store bound to tx, another area's open transaction.
func (s moneyStore) Join(tx dispatch.Tx) money.Store { return joined(tx).Money() }

func (s moneyStore) CustomerBySubject(ctx context.Context, subject string) (dispatch.Customer, error) {
	return intakeStore(s).CustomerBySubject(ctx, subject)
}

// ---- settings and price items ----

func settingsFrom(r db.MoneySetting) (money.Settings, error) {
	out := money.Settings{Business: r.Business, Currency: r.Currency, TaxRateBP: int(r.TaxRateBp), CallOutWithoutQuote: r.CallOutWithoutQuote,
		QuoteSendAheadMinor: r.QuoteSendAheadMinor, Version: int(r.Version), UpdatedAt: r.UpdatedAt.UTC()}
	if err := json.Unmarshal(r.TravelBands, &out.TravelBands); err != nil {
		return money.Settings{}, fmt.Errorf("travel bands of %s: %w", r.Business, err)
	}
	return out, nil
}

func (s moneyStore) Settings(ctx context.Context, business string, lock bool) (money.Settings, error) {
	var (
		r   db.MoneySetting
		err error
	)
	if lock {
		r, err = s.q.MoneySettingsLock(ctx, business)
	} else {
		r, err = s.q.MoneySettingsGet(ctx, business)
	}
	if err != nil {
		return money.Settings{}, notFound(err, "business", business)
	}
	return settingsFrom(r)
}

func (s moneyStore) SaveSettings(ctx context.Context, set money.Settings) (money.Settings, error) {
	bands, err := json.Marshal(orEmpty(set.TravelBands))
	if err != nil {
		return money.Settings{}, err
	}
	r, err := s.q.MoneySettingsSave(ctx, db.MoneySettingsSaveParams{Business: set.Business, Currency: set.Currency, TaxRateBp: int32(set.TaxRateBP),
		CallOutWithoutQuote: set.CallOutWithoutQuote, QuoteSendAheadMinor: set.QuoteSendAheadMinor, TravelBands: bands, UpdatedAt: set.UpdatedAt})
	if err != nil {
		return money.Settings{}, mapErr(err)
	}
	return settingsFrom(r)
}

func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func intPtr(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func priceItemFrom(r db.PriceItem) money.PriceItem {
	return money.PriceItem{ID: r.ID, Business: r.Business, Code: r.Code, Kind: r.Kind, Trade: r.Trade, Tier: dispatch.Tier(r.Tier), Name: r.Name,
		SKU: deref(r.Sku), PriceMinor: r.PriceMinor, AfterHoursMinor: r.AfterHoursMinor, CostMinor: r.CostMinor, TaxRateBP: intPtr(r.TaxRateBp),
		Active: r.Active, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func (s moneyStore) PriceItems(ctx context.Context, business string) ([]money.PriceItem, error) {
	rows, err := s.q.PriceItemList(ctx, business)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, priceItemFrom), nil
}

func (s moneyStore) UpsertPriceItem(ctx context.Context, p money.PriceItem) (money.PriceItem, error) {
	r, err := s.q.PriceItemUpsert(ctx, db.PriceItemUpsertParams{Business: p.Business, Code: p.Code, Kind: p.Kind, Trade: p.Trade, Tier: string(p.Tier),
		Name: p.Name, Sku: strPtr(p.SKU), PriceMinor: p.PriceMinor, AfterHoursMinor: p.AfterHoursMinor, CostMinor: p.CostMinor,
		TaxRateBp: int32Ptr(p.TaxRateBP), Active: p.Active, CreatedAt: p.CreatedAt})
	if err != nil {
		if dispatch.HasCode(mapErr(err), "duplicate") {
			return money.PriceItem{}, dispatch.Conflict("sku_taken", "sku %s is another item's already", p.SKU)
		}
		return money.PriceItem{}, mapErr(err)
	}
	return priceItemFrom(r), nil
}

// ---- quotes ----

func quoteFrom(r db.Quote) (money.Quote, error) {
	q := money.Quote{ID: r.ID, Business: r.Business, BookingID: r.BookingID, JobID: r.JobID, Status: r.Status, Currency: r.Currency, SentAhead: r.SentAhead,
		CreatedBy: dispatch.Actor{Subject: r.CreatedBySub, Role: dispatch.Role(r.CreatedByRole)}, CreatedAt: r.CreatedAt.UTC(), DecidedAt: utcPtr(r.DecidedAt),
		ApprovedOption: deref(r.ApprovedOption), ApprovedTotalMinor: r.ApprovedTotalMinor, TextSeen: deref(r.TextSeen), DeclineReason: deref(r.DeclineReason),
		Version: int(r.Version)}
	if r.DecidedBySub != nil {
		q.DecidedBy = &dispatch.Actor{Subject: *r.DecidedBySub, Role: dispatch.Role(deref(r.DecidedByRole))}
	}
	if err := json.Unmarshal(r.Options, &q.Options); err != nil {
		return money.Quote{}, fmt.Errorf("options of quote %d: %w", r.ID, err)
	}
	return q, nil
}

func (s moneyStore) InsertQuote(ctx context.Context, q money.Quote) (money.Quote, error) {
	opts, err := json.Marshal(q.Options)
	if err != nil {
		return money.Quote{}, err
	}
	r, err := s.q.QuoteInsert(ctx, db.QuoteInsertParams{Business: q.Business, BookingID: q.BookingID, JobID: q.JobID, Currency: q.Currency, Options: opts,
		SentAhead: q.SentAhead, CreatedBySub: q.CreatedBy.Subject, CreatedByRole: string(q.CreatedBy.Role), CreatedAt: q.CreatedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		id, err := s.q.QuoteOpenFor(ctx, q.BookingID)
		if err != nil {
			return money.Quote{}, mapErr(err)
		}
		return money.Quote{}, dispatch.Conflict("quote_pending", "quote %d of booking %d waits for the customer's answer: one quote at a time", id, q.BookingID)
	}
	if err != nil {
		return money.Quote{}, mapErr(err)
	}
	return quoteFrom(r)
}

func (s moneyStore) GetQuote(ctx context.Context, id int64, lock bool) (money.Quote, error) {
	var (
		r   db.Quote
		err error
	)
	if lock {
		r, err = s.q.QuoteLock(ctx, id)
	} else {
		r, err = s.q.QuoteGet(ctx, id)
	}
	if err != nil {
		return money.Quote{}, notFound(err, "quote", id)
	}
	return quoteFrom(r)
}

func (s moneyStore) DecideQuote(ctx context.Context, q money.Quote) (money.Quote, error) {
	p := db.QuoteDecideParams{ID: q.ID, Status: q.Status, DecidedAt: q.DecidedAt, DecidedBySub: &q.DecidedBy.Subject, DecidedByRole: new(string(q.DecidedBy.Role)),
		ApprovedOption: strPtr(q.ApprovedOption), ApprovedTotalMinor: q.ApprovedTotalMinor, TextSeen: strPtr(q.TextSeen), DeclineReason: strPtr(q.DeclineReason)}
	if q.Status == money.QuoteDeclined && p.DeclineReason == nil {
		p.DeclineReason = new("")
	}
	r, err := s.q.QuoteDecide(ctx, p)
	if errors.Is(err, pgx.ErrNoRows) {
		return money.Quote{}, dispatch.Conflict("quote_decided", "quote %d was answered already", q.ID)
	}
	if err != nil {
		return money.Quote{}, mapErr(err)
	}
	return quoteFrom(r)
}

func (s moneyStore) BookingQuotes(ctx context.Context, bookingID int64) ([]money.Quote, error) {
	rows, err := s.q.QuotesOfBooking(ctx, bookingID)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]money.Quote, 0, len(rows))
	for _, r := range rows {
		q, err := quoteFrom(r)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// CatalogueParts are the catalogue's parts among skus, as the price book's part items.
func (s moneyStore) CatalogueParts(ctx context.Context, skus []string) ([]money.PriceItem, error) {
	rows, err := s.q.PartsBySKU(ctx, skus)
	return mapAll(rows, func(r db.Part) money.PriceItem {
		return money.PriceItem{Business: "main", Code: r.Sku, Kind: money.KindPart, Name: r.Name, SKU: r.Sku, PriceMinor: r.UnitPriceMinor,
			CostMinor: r.CostMinor, Active: true, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}), mapErr(err)
}
