package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/money"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// ---- invoices, credit notes, payments ----

func (s moneyStore) NextNumber(ctx context.Context, business, series string, year int) (int, error) {
	if s.tx == nil {
		return 0, errors.New("postgres: a document number is taken inside the transaction that issues it")
	}
	n, err := s.q.DocumentCounterNext(ctx, business, series, int32(year))
	return int(n), mapErr(err)
}

func (s moneyStore) InsertInvoice(ctx context.Context, inv money.Invoice) (money.Invoice, error) {
	lines, err := json.Marshal(orEmpty(inv.Lines))
	if err != nil {
		return money.Invoice{}, err
	}
	taxes, err := json.Marshal(orEmpty(inv.Taxes))
	if err != nil {
		return money.Invoice{}, err
	}
	id, err := s.q.InvoiceInsert(ctx, db.InvoiceInsertParams{Business: inv.Business, Kind: inv.Kind, Number: inv.Number, Year: int32(inv.Year),
		Seq: int32(inv.Seq), BookingID: inv.BookingID, JobID: inv.JobID, CustomerID: inv.CustomerID, CreditsInvoiceID: inv.CreditsInvoiceID,
		Currency: inv.Currency, Lines: lines, Taxes: taxes, NetMinor: inv.NetMinor, TaxMinor: inv.TaxMinor, TotalMinor: inv.TotalMinor,
		QuoteIds: orEmpty(inv.QuoteIDs), OnSiteMinutes: int32Ptr(inv.OnSiteMinutes), Reason: inv.Reason, IssuedAt: inv.IssuedAt, IssuedBySub: inv.IssuedBy})
	if err != nil {
		if dispatch.HasCode(mapErr(err), "duplicate") {
			return money.Invoice{}, dispatch.Conflict("invoice_exists", "job %v is invoiced already", inv.JobID)
		}
		return money.Invoice{}, mapErr(err)
	}
	return s.GetInvoice(ctx, id, false)
}

// invoiceRow is what InvoiceGet and InvoiceList read alike.
type invoiceRow = db.InvoiceGetRow

func invoiceFrom(r invoiceRow) (money.Invoice, error) {
	inv := money.Invoice{ID: r.ID, Business: r.Business, Kind: r.Kind, Number: r.Number, Year: int(r.Year), Seq: int(r.Seq), BookingID: r.BookingID,
		JobID: r.JobID, CustomerID: r.CustomerID, CustomerSubject: r.CustomerSubject, CreditsInvoiceID: r.CreditsInvoiceID, Currency: r.Currency,
		QuoteIDs: r.QuoteIds, OnSiteMinutes: intPtr(r.OnSiteMinutes), Reason: r.Reason, IssuedAt: r.IssuedAt.UTC(), IssuedBy: r.IssuedBySub,
		PaidMinor: r.PaidMinor, CreditedMinor: r.CreditedMinor, CreditNoteIDs: r.CreditNoteIds}
	inv.NetMinor, inv.TaxMinor, inv.TotalMinor = r.NetMinor, r.TaxMinor, r.TotalMinor
	if err := json.Unmarshal(r.Lines, &inv.Lines); err != nil {
		return money.Invoice{}, fmt.Errorf("lines of invoice %d: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Taxes, &inv.Taxes); err != nil {
		return money.Invoice{}, fmt.Errorf("taxes of invoice %d: %w", r.ID, err)
	}
	return inv, nil
}

func (s moneyStore) GetInvoice(ctx context.Context, id int64, lock bool) (money.Invoice, error) {
	if lock {
		if err := s.q.InvoiceLock(ctx, id); err != nil {
			return money.Invoice{}, notFound(err, "invoice", id)
		}
	}
	r, err := s.q.InvoiceGet(ctx, id)
	if err != nil {
		return money.Invoice{}, notFound(err, "invoice", id)
	}
	inv, err := invoiceFrom(r)
	if err != nil {
		return money.Invoice{}, err
	}
	ps, err := s.q.PaymentsOf(ctx, id)
	if err != nil {
		return money.Invoice{}, mapErr(err)
	}
	inv.Payments = mapAll(ps, paymentFrom)
	return inv, nil
}

func (s moneyStore) ListInvoices(ctx context.Context, f money.InvoiceFilter) ([]money.Invoice, error) {
	rows, err := s.q.InvoiceList(ctx, db.InvoiceListParams{Business: f.Business, CustomerID: f.CustomerID, BookingID: f.BookingID, Before: f.Before,
		MaxRows: int32(f.Limit)})
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]money.Invoice, 0, len(rows))
	for _, r := range rows {
		inv, err := invoiceFrom(invoiceRow(r))
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

func paymentFrom(r db.Payment) money.Payment {
	return money.Payment{ID: r.ID, InvoiceID: r.InvoiceID, Method: r.Method, AmountMinor: r.AmountMinor, Reference: r.Reference, EventID: deref(r.EventID),
		ReceivedAt: r.ReceivedAt.UTC(), RecordedBy: dispatch.Actor{Subject: r.RecordedBySub, Role: dispatch.Role(r.RecordedByRole)}}
}

func (s moneyStore) InsertPayment(ctx context.Context, p money.Payment) (money.Payment, error) {
	r, err := s.q.PaymentInsert(ctx, db.PaymentInsertParams{InvoiceID: p.InvoiceID, Method: p.Method, AmountMinor: p.AmountMinor, Reference: p.Reference,
		EventID: strPtr(p.EventID), ReceivedAt: p.ReceivedAt, RecordedBySub: p.RecordedBy.Subject, RecordedByRole: string(p.RecordedBy.Role)})
	if err != nil {
		return money.Payment{}, mapErr(err)
	}
	return paymentFrom(r), nil
}

func (s moneyStore) RecordEvent(ctx context.Context, eventID string, at time.Time, invoiceID *int64, outcome string) (bool, error) {
	_, err := s.q.PaymentEventInsert(ctx, eventID, at, invoiceID, outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

// ---- warranty claims ----

func claimFrom(r db.SettlementClaim) (money.Claim, error) {
	c := money.Claim{ID: r.ID, Business: r.Business, Period: r.Period, Party: r.Party, BookingID: r.BookingID, JobID: r.JobID, TechnicianID: r.TechnicianID,
		Currency: r.Currency, LabourMinor: r.LabourMinor, PartsMinor: r.PartsMinor, TravelMinor: r.TravelMinor, TotalMinor: r.TotalMinor,
		OnSiteMinutes: int(r.OnSiteMinutes), DistanceKm: r.DistanceKm, Status: r.Status, RejectReason: deref(r.RejectReason),
		Resubmissions: int(r.Resubmissions), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: int(r.Version)}
	if err := json.Unmarshal(r.Lines, &c.Lines); err != nil {
		return money.Claim{}, fmt.Errorf("lines of claim %d: %w", r.ID, err)
	}
	return c, nil
}

func (s moneyStore) InsertClaim(ctx context.Context, c money.Claim) (money.Claim, error) {
	lines, err := json.Marshal(orEmpty(c.Lines))
	if err != nil {
		return money.Claim{}, err
	}
	r, err := s.q.ClaimInsert(ctx, db.ClaimInsertParams{Business: c.Business, Period: c.Period, Party: c.Party, BookingID: c.BookingID, JobID: c.JobID,
		TechnicianID: c.TechnicianID, Currency: c.Currency, Lines: lines, LabourMinor: c.LabourMinor, PartsMinor: c.PartsMinor, TravelMinor: c.TravelMinor,
		TotalMinor: c.TotalMinor, OnSiteMinutes: int32(c.OnSiteMinutes), DistanceKm: c.DistanceKm, CreatedAt: c.CreatedAt})
	if err != nil {
		if dispatch.HasCode(mapErr(err), "duplicate") {
			return money.Claim{}, dispatch.Conflict("claim_exists", "job %d is claimed already", c.JobID)
		}
		return money.Claim{}, mapErr(err)
	}
	return claimFrom(r)
}

func (s moneyStore) GetClaim(ctx context.Context, id int64, lock bool) (money.Claim, error) {
	var (
		r   db.SettlementClaim
		err error
	)
	if lock {
		r, err = s.q.ClaimLock(ctx, id)
	} else {
		r, err = s.q.ClaimGet(ctx, id)
	}
	if err != nil {
		return money.Claim{}, notFound(err, "claim", id)
	}
	return claimFrom(r)
}

func (s moneyStore) SaveClaim(ctx context.Context, c money.Claim) (money.Claim, error) {
	lines, err := json.Marshal(orEmpty(c.Lines))
	if err != nil {
		return money.Claim{}, err
	}
	r, err := s.q.ClaimSave(ctx, db.ClaimSaveParams{ID: c.ID, Period: c.Period, Lines: lines, LabourMinor: c.LabourMinor, PartsMinor: c.PartsMinor,
		TravelMinor: c.TravelMinor, TotalMinor: c.TotalMinor, Status: c.Status, RejectReason: strPtr(c.RejectReason),
		Resubmissions: int32(c.Resubmissions), UpdatedAt: c.UpdatedAt})
	if err != nil {
		return money.Claim{}, mapErr(err)
	}
	return claimFrom(r)
}

func (s moneyStore) ListClaims(ctx context.Context, business, period, party string) ([]money.Claim, error) {
	rows, err := s.q.ClaimList(ctx, business, period, party)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]money.Claim, 0, len(rows))
	for _, r := range rows {
		c, err := claimFrom(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s moneyStore) ClosePeriod(ctx context.Context, business, period, by string, at time.Time) (bool, error) {
	_, err := s.q.SettlementPeriodClose(ctx, business, period, at, by)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

func (s moneyStore) PeriodClosedAt(ctx context.Context, business, period string) (*time.Time, error) {
	at, err := s.q.SettlementPeriodClosedAt(ctx, business, period)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr(err)
	}
	at = at.UTC()
	return &at, nil
}

func (s moneyStore) PurchaseBrand(ctx context.Context, id int64) (string, error) {
	b, err := s.q.PurchaseBrand(ctx, id)
	if err != nil {
		return "", notFound(err, "purchase", id)
	}
	return b, nil
}

func (s moneyStore) Figures(ctx context.Context, business string, from, to time.Time) (money.Figures, error) {
	r, err := s.q.MoneyKPIs(ctx, from, to, business)
	if err != nil {
		return money.Figures{}, mapErr(err)
	}
	return money.Figures(r), nil
}
