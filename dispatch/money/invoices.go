package money

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// VisitReported settles a visit that ends (lifecycle calls it on each report, in the report's
// transaction, after intake has settled the tier): a paid visit completed is invoiced, a warranty
// visit completed is claimed from its paying party. A paid visit cannot complete while a quote
// waits for the customer, nor with parts beyond the approved quotes (approval_required): the
// report is refused and nothing is written.
func (s *Service) VisitReported(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport) error {
	if r.Update.Status != dispatch.JobCompleted {
		return nil
	}
	st := s.Store.Join(tx)
	if r.Booking.Tier == dispatch.TierWarranty {
		return s.claimVisit(ctx, st, r)
	}
	return s.invoiceVisit(ctx, st, r)
}

// invoiceVisit issues the invoice of a completed paid visit: the approved quotes' lines, or the
// call-out fee when no quote was approved and the business charges it; nothing when there is
// nothing to charge.
func (s *Service) invoiceVisit(ctx context.Context, st Store, r dispatch.VisitReport) error {
	b, j := *r.Booking, r.Job
	quotes, err := st.BookingQuotes(ctx, b.ID)
	if err != nil {
		return err
	}
	bk, err := loadBook(ctx, st, s.Business, skusOf(r.Update.PartsUsed)...)
	if err != nil {
		return err
	}
	var (
		lines    []Line
		quoteIDs []int64
		quoted   = map[string]int64{} // parts approved, by sku
	)
	for _, q := range quotes {
		switch q.Status {
		case QuoteSent:
			return dispatch.Conflict("quote_pending", "quote %d waits for the customer's answer: the visit completes once they approve or decline it", q.ID)
		case QuoteApproved:
			for _, o := range q.Options {
				if o.Key != q.ApprovedOption {
					continue
				}
				lines = append(lines, o.Lines...)
				for _, l := range o.Lines {
					if l.SKU != "" {
						quoted[l.SKU] += l.Quantity
					}
				}
			}
			quoteIDs = append(quoteIDs, q.ID)
		}
	}
	var beyond []string
	for _, p := range r.Update.PartsUsed {
		if quoted[p.SKU] < int64(p.Quantity) {
			beyond = append(beyond, fmt.Sprintf("%d × %s", int64(p.Quantity)-quoted[p.SKU], p.SKU))
		}
		quoted[p.SKU] -= min(quoted[p.SKU], int64(p.Quantity))
	}
	if len(quoteIDs) > 0 && len(beyond) > 0 {
		return dispatch.Conflict("approval_required", "parts beyond the approved quotes (%s): quote them and have the customer approve before completing", strings.Join(beyond, ", "))
	}
	trade := ""
	if len(b.RequiredSkills) > 0 {
		trade = b.RequiredSkills[0]
	}
	if len(quoteIDs) == 0 {
		// A business with a price book charges nothing it did not quote: parts need an approval.
		if len(beyond) > 0 && len(bk.items) > 0 {
			return dispatch.Conflict("approval_required", "parts were used without an approved quote (%s): quote them and have the customer approve before completing", strings.Join(beyond, ", "))
		}
		it, ok := bk.rateFor(KindCallOut, trade, dispatch.TierPaid)
		if !bk.set.CallOutWithoutQuote || !ok {
			return nil // nothing agreed, nothing charged
		}
		when := r.At
		if j.OnSiteAt != nil {
			when = *j.OnSiteAt
		}
		lines = []Line{bk.line(it, 1, AfterHours(when, s.Rules.Zone()))}
	}
	var minutes *int
	if j.OnSiteAt != nil {
		m := int(r.At.Sub(*j.OnSiteAt).Minutes())
		minutes = &m
	}
	inv := Invoice{Business: s.Business, Kind: KindInvoice, BookingID: b.ID, JobID: &j.ID, CustomerID: b.CustomerID, CustomerSubject: b.CustomerSubject,
		Currency: bk.set.Currency, Lines: lines, QuoteIDs: quoteIDs, OnSiteMinutes: minutes, IssuedAt: r.At, IssuedBy: r.Actor.Subject}
	inv, err = s.issue(ctx, st, inv, r.Actor)
	if err != nil {
		return err
	}
	return s.Env.TellCustomer(ctx, st, b, j, "invoice", "Your invoice", fmt.Sprintf("Invoice %s for the repair of your %s: %s.",
		inv.Number, b.Appliance, Format(inv.TotalMinor, inv.Currency)), map[string]any{"invoice_id": inv.ID})
}

// issue numbers inv in its series for the year of its issue (in the business's time zone), sums
// it, and writes it with its audit event, in the caller's transaction.
func (s *Service) issue(ctx context.Context, st Store, inv Invoice, a dispatch.Actor) (Invoice, error) {
	inv.Totals = Total(inv.Lines)
	if inv.TotalMinor < 0 || inv.NetMinor < 0 {
		return Invoice{}, dispatch.Unprocessable("negative_total", "a document's total cannot be negative")
	}
	series := "INV"
	if inv.Kind == KindCreditNote {
		series = "CN"
	}
	inv.Year = inv.IssuedAt.In(s.Rules.Zone()).Year()
	seq, err := st.NextNumber(ctx, s.Business, series, inv.Year)
	if err != nil {
		return Invoice{}, err
	}
	inv.Seq, inv.Number = seq, fmt.Sprintf("%s-%d-%06d", series, inv.Year, seq)
	out, err := st.InsertInvoice(ctx, inv)
	if err != nil {
		return Invoice{}, err
	}
	data := map[string]any{"number": out.Number, "booking_id": out.BookingID, "total_minor": out.TotalMinor, "currency": out.Currency}
	if out.CreditsInvoiceID != nil {
		data["credits_invoice_id"] = *out.CreditsInvoiceID
	}
	return out, st.AddAudit(ctx, dispatch.AuditEvent{At: out.IssuedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: inv.Kind, EntityID: out.ID,
		Action: inv.Kind + "_issued", ToStatus: "issued", Reason: inv.Reason, Data: data})
}

// CreditLine is a line of a credit note: an amount, net of tax, for what it corrects.
type CreditLine struct {
	Description string
	NetMinor    int64
	TaxRateBP   int
}

// IssueCreditNote corrects an issued invoice (staff): the whole invoice when no lines are given,
// else the given lines; never more than is left of the invoice to credit.
func (s *Service) IssueCreditNote(ctx context.Context, a dispatch.Actor, invoiceID int64, reason string, lines []CreditLine) (Invoice, error) {
	if !a.Staff() {
		return Invoice{}, dispatch.Forbidden("credit notes are issued by staff")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 1000 {
		return Invoice{}, dispatch.Invalid("reason", "missing_field", "a credit note says why (at most 1000 characters)")
	}
	if len(lines) > MaxLines {
		return Invoice{}, dispatch.Invalid("lines", "invalid_lines", "at most %d lines", MaxLines)
	}
	for i, l := range lines {
		if l.NetMinor <= 0 || l.NetMinor > MaxUnitMinor || l.TaxRateBP < 0 || l.TaxRateBP > 10000 ||
			strings.TrimSpace(l.Description) == "" || utf8.RuneCountInString(l.Description) > 200 {
			return Invoice{}, dispatch.Invalid("lines", "invalid_line", "lines[%d]: a description (at most 200 characters), a net_minor above 0 and a tax_rate_bp of 0 to 10000", i)
		}
	}
	var out Invoice
	err := s.Store.Tx(ctx, func(st Store) error {
		inv, err := st.GetInvoice(ctx, invoiceID, true)
		if err != nil {
			return err
		}
		if inv.Kind != KindInvoice {
			return dispatch.Unprocessable("not_an_invoice", "%s is a credit note: credit the invoice it corrects", inv.Number)
		}
		cn := Invoice{Business: s.Business, Kind: KindCreditNote, BookingID: inv.BookingID, CustomerID: inv.CustomerID, CustomerSubject: inv.CustomerSubject,
			CreditsInvoiceID: &inv.ID, Currency: inv.Currency, Reason: reason, IssuedAt: s.Now(), IssuedBy: a.Subject}
		if len(lines) == 0 {
			cn.Lines = inv.Lines
		}
		for _, l := range lines {
			cn.Lines = append(cn.Lines, Line{Code: "credit", Kind: "adjustment", Description: strings.TrimSpace(l.Description), Quantity: 1,
				UnitMinor: l.NetMinor, NetMinor: l.NetMinor, TaxRateBP: l.TaxRateBP})
		}
		if left := inv.TotalMinor - inv.CreditedMinor; Total(cn.Lines).TotalMinor > left {
			return dispatch.Unprocessable("credit_exceeds_invoice", "%s has %s left to credit; this credit note is %s", inv.Number,
				Format(left, inv.Currency), Format(Total(cn.Lines).TotalMinor, inv.Currency))
		}
		out, err = s.issue(ctx, st, cn, a)
		return err
	})
	return out, err
}

// Invoice reads an invoice or credit note: its customer, or staff.
func (s *Service) Invoice(ctx context.Context, a dispatch.Actor, id int64) (Invoice, error) {
	if a.Role != dispatch.RoleCustomer && !a.Staff() {
		return Invoice{}, dispatch.Forbidden("invoices are read by their customer and by staff")
	}
	inv, err := s.Store.GetInvoice(ctx, id, false)
	if err != nil {
		return Invoice{}, err
	}
	if a.Role == dispatch.RoleCustomer && inv.CustomerSubject != a.Subject {
		return Invoice{}, dispatch.NotFound("invoice", id)
	}
	return inv, nil
}

// Invoices lists the caller's invoices (customer) or all (staff), newest first.
func (s *Service) Invoices(ctx context.Context, a dispatch.Actor, bookingID *int64, page dispatch.Page) ([]Invoice, error) {
	f := InvoiceFilter{Business: s.Business, BookingID: bookingID, Page: page.Norm()}
	switch {
	case a.Staff():
	case a.Role == dispatch.RoleCustomer:
		b, err := s.Store.CustomerBySubject(ctx, a.Subject)
		if dispatch.KindOf(err) == dispatch.KindNotFound {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		f.CustomerID = &b.ID
	default:
		return nil, dispatch.Forbidden("invoices are read by their customer and by staff")
	}
	return s.Store.ListInvoices(ctx, f)
}

// periodOf is the YYYY-MM of t in zone.
func periodOf(t time.Time, zone *time.Location) string { return t.In(zone).Format("2006-01") }
