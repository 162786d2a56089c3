package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/money"
)

// priceBook is a washer repairer's book: EUR, 20 % VAT, call-out and labour by tier (evenings and
// weekends dearer), a fixed-price service, a part with its cost, travel bands for warranty work.
func (b *testBundle) priceBook() {
	b.t.Helper()
	r := b.do("POST", "/v1/pricebook", b.token(dispatch.RoleAdmin, "admin"), map[string]any{
		"currency": "EUR", "tax_rate_bp": 2000, "call_out_without_quote": true, "quote_send_ahead_minor": 20000,
		"travel_bands": []any{map[string]any{"up_to_km": 10, "amount_minor": 1500}, map[string]any{"up_to_km": 30, "amount_minor": 3000}},
		"items": []any{
			map[string]any{"code": "callout.washer", "kind": "call_out", "trade": "washer", "tier": "paid", "name": "Call-out", "price_minor": 4900, "after_hours_minor": 7900},
			map[string]any{"code": "labour.washer", "kind": "labour", "trade": "washer", "tier": "paid", "name": "Labour (15 min)", "price_minor": 1500, "after_hours_minor": 2250},
			map[string]any{"code": "labour.washer.warranty", "kind": "labour", "trade": "washer", "tier": "warranty", "name": "Warranty labour (15 min)", "price_minor": 1100},
			map[string]any{"code": "svc.drum-bearing", "kind": "service", "trade": "washer", "name": "Replace drum bearing", "price_minor": 12000},
			map[string]any{"code": "part.bearing-6204", "kind": "part", "name": "Bearing 6204", "sku": "BRG-6204", "price_minor": 3499, "cost_minor": 1800, "tax_rate_bp": 550},
			map[string]any{"code": "part.belt", "kind": "part", "name": "Drive belt", "sku": "BELT-1200", "price_minor": 2500, "cost_minor": 900},
		}})
	if r.Status != 200 {
		b.t.Fatalf("price book: %d %s", r.Status, r.Body)
	}
}

// visitOnSite books a washer repair for customer (purchase: a warranty one, or nil for paid) and
// brings its technician on site; it returns the booking and job ids.
func (b *testBundle) bookedVisitOnSite(customer, tech string, purchase any) (bookingID, jobID int64) {
	b.t.Helper()
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, customer), washerBooking(purchase))
	if bk.Status != 201 {
		b.t.Fatalf("booking: %d %s", bk.Status, bk.Body)
	}
	m := bk.json(b.t)
	job := jobOf(b.t, m)
	jobID = int64(job["id"].(float64))
	var sub string
	if err := b.db.Pool.QueryRow(b.t.Context(), "SELECT t.subject FROM jobs j JOIN technicians t ON t.id = j.technician_id WHERE j.id = $1", jobID).Scan(&sub); err != nil {
		b.t.Fatalf("job %d has no technician: %v", jobID, err)
	}
	if tech != "" && sub != tech {
		b.t.Fatalf("job %d went to %s, not %s", jobID, sub, tech)
	}
	tok := b.token(dispatch.RoleTechnician, sub)
	for _, step := range []string{"accept", "en_route", "on_site"} {
		var r response
		if step == "accept" {
			r = b.do("POST", fmt.Sprintf("/v1/jobs/%d/accept", jobID), tok, nil)
		} else {
			r = b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", jobID), tok, map[string]any{"status": step})
		}
		if r.Status != 200 {
			b.t.Fatalf("%s: %d %s", step, r.Status, r.Body)
		}
	}
	return int64(m["id"].(float64)), jobID
}

func (b *testBundle) complete(tech string, jobID int64, parts ...map[string]any) response {
	b.t.Helper()
	body := map[string]any{"status": "completed", "outcome": "fixed"}
	if len(parts) > 0 {
		body["parts_used"] = parts
	}
	return b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", jobID), b.token(dispatch.RoleTechnician, tech), body)
}

func (b *testBundle) quote(tech string, jobID int64, body map[string]any) map[string]any {
	b.t.Helper()
	r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/quotes", jobID), b.token(dispatch.RoleTechnician, tech), body)
	if r.Status != 201 {
		b.t.Fatalf("quote: %d %s", r.Status, r.Body)
	}
	return r.json(b.t)
}

func line(code string, qty int) map[string]any { return map[string]any{"code": code, "quantity": qty} }

// invoicesOf lists the invoices of a booking, as staff.
func (b *testBundle) invoicesOf(bookingID int64) []map[string]any {
	b.t.Helper()
	r := b.do("GET", fmt.Sprintf("/v1/invoices?booking_id=%d", bookingID), b.token(dispatch.RoleDispatcher, "disp"), nil)
	if r.Status != 200 {
		b.t.Fatalf("invoices: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, x := range r.json(b.t)["items"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// race runs send n times at once and counts the statuses.
func race(n int, send func() int) map[int]int {
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { statuses <- send() })
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	return got
}

func num(m map[string]any, k string) int64 { f, _ := m[k].(float64); return int64(f) }

// TestPaidRepairFromQuoteToPayment: the technician quotes good/better/best on site, the customer
// approves "better" (another customer cannot, a second answer is refused), the visit completes
// with the quoted part, the invoice carries the approved lines with totals reproducible from them,
// is immutable in the database, and is paid in part on site and the rest by the provider's
// signed webhook (a replay, a bad signature and an overpayment change nothing).
func TestPaidRepairFromQuoteToPayment(t *testing.T) {
	b := setup(t)
	b.priceBook()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	bookingID, jobID := b.bookedVisitOnSite("ana", "tech-a", nil)
	q := b.quote("tech-a", jobID, map[string]any{"options": []any{
		map[string]any{"key": "good", "label": "Belt only", "lines": []any{line("callout.washer", 1), line("part.belt", 1), line("labour.washer", 2)}},
		map[string]any{"key": "better", "label": "Bearing", "lines": []any{line("callout.washer", 1), line("svc.drum-bearing", 1), line("BRG-6204", 2)}},
		map[string]any{"key": "best", "label": "Bearing and belt", "lines": []any{line("callout.washer", 1), line("svc.drum-bearing", 1), line("BRG-6204", 2), line("BELT-1200", 1)}},
	}})
	opts := q["options"].([]any)
	better := opts[1].(map[string]any)
	// 4900 + 12000 at 20 % = 16900 → 3380; 2 × 3499 = 6998 at 5.5 % → 384.89 → 385. Total 16900+6998+3380+385.
	if num(better, "net_minor") != 23898 || num(better, "tax_minor") != 3765 || num(better, "total_minor") != 27663 {
		t.Fatalf("better: %v", better)
	}
	if q["status"] != "sent" || q["sent_ahead"] != false || !strings.Contains(better["text"].(string), "Total EUR 276.63") {
		t.Fatalf("quote %v", q)
	}
	qid := num(q, "id")
	ana := b.token(dispatch.RoleCustomer, "ana")
	if r := b.do("GET", fmt.Sprintf("/v1/bookings/%d/quotes", bookingID), ana, nil); r.Status != 200 || len(r.json(t)["items"].([]any)) != 1 {
		t.Fatalf("customer's quotes: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", qid), b.token(dispatch.RoleCustomer, "bob"), map[string]any{"option": "better"}), 404, "quote_not_found")
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", qid), ana, nil), 400, "missing_field")
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", qid), ana, map[string]any{"option": "gold"}), 400, "invalid_option")
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", qid), b.token(dispatch.RoleTechnician, "tech-a"), map[string]any{"option": "best"}), 403, "forbidden_role")
	wantProblem(t, b.complete("tech-a", jobID), 409, "quote_pending")

	// Two answers race: one wins, the other is told it was decided.
	got := race(2, func() int {
		return b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", qid), ana, map[string]any{"option": "better"}).Status
	})
	if got[200] != 1 || got[409] != 1 {
		t.Fatalf("two approvals: %v, want one 200 and one 409", got)
	}
	approved := b.do("GET", fmt.Sprintf("/v1/quotes/%d", qid), ana, nil).json(t)
	if approved["status"] != "approved" || approved["approved_option"] != "better" || approved["decided_by"] != "ana" || approved["decided_at"] == nil ||
		approved["text_seen"] != better["text"] || num(approved, "approved_total_minor") != 27663 {
		t.Fatalf("approval record %v", approved)
	}
	wantProblem(t, b.complete("tech-a", jobID, map[string]any{"sku": "BRG-6204", "quantity": 3}), 409, "approval_required")
	if r := b.complete("tech-a", jobID, map[string]any{"sku": "BRG-6204", "quantity": 2}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	invs := b.invoicesOf(bookingID)
	if len(invs) != 1 {
		t.Fatalf("invoices %v", invs)
	}
	inv := invs[0]
	if inv["number"] != "INV-2026-000001" || num(inv, "total_minor") != 27663 || inv["status"] != "open" || num(inv, "due_minor") != 27663 {
		t.Fatalf("invoice %v", inv)
	}
	var sumNet, sumTax int64
	for _, l := range inv["lines"].([]any) {
		sumNet += num(l.(map[string]any), "net_minor")
	}
	for _, x := range inv["taxes"].([]any) {
		sumTax += num(x.(map[string]any), "tax_minor")
	}
	if sumNet != num(inv, "net_minor") || sumTax != num(inv, "tax_minor") || sumNet+sumTax != num(inv, "total_minor") {
		t.Fatalf("totals are not their lines: net %d tax %d in %v", sumNet, sumTax, inv)
	}
	invID := num(inv, "id")
	if _, err := b.db.Pool.Exec(t.Context(), "UPDATE invoices SET total_minor = 1 WHERE id = $1", invID); err == nil {
		t.Fatal("an issued invoice was changed in the database")
	}
	if _, err := b.db.Pool.Exec(t.Context(), "DELETE FROM invoices WHERE id = $1", invID); err == nil {
		t.Fatal("an issued invoice was deleted")
	}
	// The customer reads it, as JSON and PDF; another customer does not see it.
	if r := b.do("GET", fmt.Sprintf("/v1/invoices/%d", invID), ana, nil); r.Status != 200 {
		t.Fatalf("customer's invoice: %d", r.Status)
	}
	if r := b.do("GET", fmt.Sprintf("/v1/invoices/%d.pdf", invID), ana, nil); r.Status != 200 || r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
		t.Fatalf("pdf: %d %s %.20q", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/invoices/%d", invID), b.token(dispatch.RoleCustomer, "bob"), nil), 404, "invoice_not_found")
	if items := b.do("GET", "/v1/invoices", b.token(dispatch.RoleCustomer, "bob"), nil).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("bob sees %v", items)
	}

	// On site: 100.00 by card; more than is due is refused.
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	pay := func(amount int64) response {
		return b.do("POST", fmt.Sprintf("/v1/invoices/%d/payments", invID), tech, map[string]any{"method": "card_on_site", "amount_minor": amount, "reference": "tpe-991"})
	}
	wantProblem(t, pay(-5), 400, "invalid_amount")
	wantProblem(t, pay(27664), 422, "overpayment")
	r := pay(10000)
	if r.Status != 201 || r.json(t)["invoice"].(map[string]any)["status"] != "partly_paid" {
		t.Fatalf("card payment: %d %s", r.Status, r.Body)
	}
	// Online, the rest: a signed notification.
	secret := []byte("whsec-test")
	b.svc.Money.Provider.Secret = secret
	event := []byte(fmt.Sprintf(`{"id":"evt_1","type":"payment.succeeded","invoice_id":%d,"amount_minor":17663,"currency":"EUR","reference":"pi_42"}`, invID))
	hook := func(body []byte, sig string) response {
		return b.do("POST", "/v1/payments/webhook", "", body, money.SignatureHeader, sig)
	}
	wantProblem(t, hook(event, money.Sign([]byte("wrong"), event, b.clock.Now())), 403, "invalid_signature")
	wantProblem(t, hook(event, money.Sign(secret, event, b.clock.Now().Add(-time.Hour))), 403, "stale_signature")
	wantProblem(t, hook(event, ""), 403, "invalid_signature")
	if r := hook(event, money.Sign(secret, event, b.clock.Now())); r.Status != 200 || r.json(t)["applied"] != true {
		t.Fatalf("webhook: %d %s", r.Status, r.Body)
	}
	wantProblem(t, hook(event, money.Sign(secret, event, b.clock.Now())), 409, "event_replayed")
	paid := b.do("GET", fmt.Sprintf("/v1/invoices/%d", invID), ana, nil).json(t)
	if paid["status"] != "paid" || num(paid, "paid_minor") != 27663 || num(paid, "due_minor") != 0 || len(paid["payments"].([]any)) != 2 {
		t.Fatalf("after the webhook: %v", paid)
	}
	wantProblem(t, pay(1), 409, "invoice_paid")
	var events int
	_ = b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM payment_events").Scan(&events)
	if events != 1 {
		t.Fatalf("%d provider events recorded, want 1", events)
	}
	if n := b.auditCount("invoice", invID, "payment_recorded"); n != 2 {
		t.Fatalf("%d payment audit events", n)
	}
}

// TestDeclinedQuoteChargesTheCallOut: the customer declines; the visit completes and the booking
// closes with the call-out fee (the business charges it); a business that does not charge it
// issues nothing.
func TestDeclinedQuoteChargesTheCallOut(t *testing.T) {
	b := setup(t)
	b.priceBook()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	bookingID, jobID := b.bookedVisitOnSite("ana", "tech-a", nil)
	q := b.quote("tech-a", jobID, map[string]any{"lines": []any{line("callout.washer", 1), line("svc.drum-bearing", 1)}})
	r := b.do("POST", fmt.Sprintf("/v1/quotes/%d/decline", num(q, "id")), b.token(dispatch.RoleCustomer, "ana"), map[string]any{"reason": "too dear"})
	if r.Status != 200 || r.json(t)["status"] != "declined" || r.json(t)["decline_reason"] != "too dear" {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", num(q, "id")), b.token(dispatch.RoleCustomer, "ana"), nil), 409, "quote_decided")
	if r := b.complete("tech-a", jobID); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	invs := b.invoicesOf(bookingID)
	if len(invs) != 1 || num(invs[0], "total_minor") != 5880 || len(invs[0]["lines"].([]any)) != 1 || len(invs[0]["quote_ids"].([]any)) != 0 {
		t.Fatalf("invoice after a declined quote: %v", invs)
	}

	// A business that does not charge the call-out.
	if r := b.do("POST", "/v1/pricebook", b.token(dispatch.RoleAdmin, "admin"), map[string]any{"call_out_without_quote": false}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	booking2, job2 := b.bookedVisitOnSite("ana", "tech-a", nil)
	if r := b.complete("tech-a", job2); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	if invs := b.invoicesOf(booking2); len(invs) != 0 {
		t.Fatalf("invoiced without a quote or call-out: %v", invs)
	}
}

// TestExtraWorkNeedsASecondApproval: a part beyond the approved quote refuses the completion;
// the technician quotes it, the customer approves, and the invoice holds both quotes.
func TestExtraWorkNeedsASecondApproval(t *testing.T) {
	b := setup(t)
	b.priceBook()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	bookingID, jobID := b.bookedVisitOnSite("ana", "tech-a", nil)
	ana := b.token(dispatch.RoleCustomer, "ana")
	q1 := b.quote("tech-a", jobID, map[string]any{"lines": []any{line("callout.washer", 1), line("labour.washer", 4)}})
	if r := b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", num(q1, "id")), ana, nil); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.complete("tech-a", jobID, map[string]any{"sku": "BELT-1200", "quantity": 1}), 409, "approval_required")
	if st := b.do("GET", fmt.Sprintf("/v1/bookings/%d", bookingID), ana, nil).json(t); st["status"] == "completed" {
		t.Fatal("a refused completion completed the booking")
	}
	q2 := b.quote("tech-a", jobID, map[string]any{"lines": []any{line("BELT-1200", 1)}})
	wantProblem(t, b.quote2("tech-a", jobID), 409, "quote_pending")
	wantProblem(t, b.complete("tech-a", jobID, map[string]any{"sku": "BELT-1200", "quantity": 1}), 409, "quote_pending")
	if r := b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", num(q2, "id")), b.token(dispatch.RoleDispatcher, "disp"), nil); r.Status != 200 || r.json(t)["decided_by_role"] != "dispatcher" {
		t.Fatalf("dispatcher records the approval: %d %s", r.Status, r.Body)
	}
	if r := b.complete("tech-a", jobID, map[string]any{"sku": "BELT-1200", "quantity": 1}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	inv := b.invoicesOf(bookingID)[0]
	// 4900 + 4 × 1500 + 2500 = 13400 net, 2680 VAT.
	if num(inv, "net_minor") != 13400 || num(inv, "total_minor") != 16080 || len(inv["quote_ids"].([]any)) != 2 {
		t.Fatalf("invoice %v", inv)
	}
}

func (b *testBundle) quote2(tech string, jobID int64) response {
	return b.do("POST", fmt.Sprintf("/v1/jobs/%d/quotes", jobID), b.token(dispatch.RoleTechnician, tech), map[string]any{"lines": []any{line("labour.washer", 1)}})
}

// TestQuoteAndPriceBookRefusals: bad input is a clear 4xx and changes nothing.
func TestQuoteAndPriceBookRefusals(t *testing.T) {
	b := setup(t)
	admin := b.token(dispatch.RoleAdmin, "admin")
	wantProblem(t, b.do("POST", "/v1/pricebook", admin, map[string]any{"items": []any{map[string]any{"code": "x", "kind": "part", "name": "X", "sku": "X", "price_minor": -1}}}), 400, "invalid_price")
	wantProblem(t, b.do("POST", "/v1/pricebook", admin, map[string]any{"items": []any{map[string]any{"code": "x", "kind": "part", "name": "X", "price_minor": 1}}}), 400, "missing_sku")
	wantProblem(t, b.do("POST", "/v1/pricebook", admin, map[string]any{"currency": "euro"}), 400, "invalid_currency")
	wantProblem(t, b.do("POST", "/v1/pricebook", admin, map[string]any{"tax_rate_bp": 20.5}), 400, "invalid_type")
	wantProblem(t, b.do("POST", "/v1/pricebook", b.token(dispatch.RoleDispatcher, "disp"), map[string]any{"tax_rate_bp": 1000}), 403, "forbidden_role")
	if items := b.do("GET", "/v1/pricebook", admin, nil).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("refused items were written: %v", items)
	}
	b.priceBook()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	b.technician("tech-b", []string{"fridge"}, 45.76, 4.84)
	_, jobID := b.bookedVisitOnSite("ana", "tech-a", nil)
	post := func(tech string, body any) response {
		return b.do("POST", fmt.Sprintf("/v1/jobs/%d/quotes", jobID), b.token(dispatch.RoleTechnician, tech), body)
	}
	wantProblem(t, post("tech-a", map[string]any{"lines": []any{line("labour.washer", -2)}}), 400, "invalid_quantity")
	wantProblem(t, post("tech-a", map[string]any{"lines": []any{line("labour.washer", 0)}}), 400, "invalid_quantity")
	wantProblem(t, post("tech-a", map[string]any{"lines": []any{line("gold.plating", 1)}}), 422, "unknown_price")
	wantProblem(t, post("tech-a", map[string]any{"lines": []any{line("labour.washer.warranty", 1)}}), 422, "unknown_price")
	wantProblem(t, post("tech-a", map[string]any{}), 400, "missing_field")
	wantProblem(t, post("tech-a", map[string]any{"options": []any{map[string]any{"key": "good", "lines": []any{line("labour.washer", 1)}},
		map[string]any{"key": "good", "lines": []any{line("labour.washer", 2)}}}}), 400, "invalid_option")
	wantProblem(t, post("tech-b", map[string]any{"lines": []any{line("labour.washer", 1)}}), 404, "job_not_found")
	var quotes int
	_ = b.db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM quotes").Scan(&quotes)
	if quotes != 0 {
		t.Fatalf("%d quotes written by refused requests", quotes)
	}
	// A warranty booking is not quoted.
	bosch := b.salesRecord("wim", map[string]any{"category": "washer", "brand": "Bosch", "purchased_at": "2026-06-01", "warranty_months": 24})
	_, wjob := b.bookedVisitOnSite("wim", "tech-a", bosch)
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%d/quotes", wjob), b.token(dispatch.RoleTechnician, "tech-a"), map[string]any{"lines": []any{line("labour.washer", 1)}}), 422, "not_paid")
}

// TestCreditNoteCorrectsAnInvoice: a partial credit note, one that would credit more than is
// left (refused), the rest credited; the credit notes are numbered in their own series.
func TestCreditNoteCorrectsAnInvoice(t *testing.T) {
	b := setup(t)
	b.priceBook()
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	bookingID, jobID := b.bookedVisitOnSite("ana", "tech-a", nil)
	q := b.quote("tech-a", jobID, map[string]any{"lines": []any{line("callout.washer", 1), line("labour.washer", 2)}}) // 7900 net, 9480 total
	if r := b.do("POST", fmt.Sprintf("/v1/quotes/%d/approve", num(q, "id")), b.token(dispatch.RoleCustomer, "ana"), nil); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if r := b.complete("tech-a", jobID); r.Status != 200 {
		t.Fatal(r.Status, string(r.Body))
	}
	invID := num(b.invoicesOf(bookingID)[0], "id")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	path := fmt.Sprintf("/v1/invoices/%d/credit-notes", invID)
	wantProblem(t, b.do("POST", path, disp, map[string]any{"reason": ""}), 400, "missing_field")
	wantProblem(t, b.do("POST", path, b.token(dispatch.RoleCustomer, "ana"), map[string]any{"reason": "x"}), 403, "forbidden_role")
	r := b.do("POST", path, disp, map[string]any{"reason": "labour overstated", "lines": []any{map[string]any{"description": "15 min labour", "net_minor": 1500, "tax_rate_bp": 2000}}})
	if r.Status != 201 {
		t.Fatalf("credit note: %d %s", r.Status, r.Body)
	}
	cn := r.json(t)
	if cn["number"] != "CN-2026-000001" || num(cn, "total_minor") != 1800 || num(cn, "credits_invoice_id") != invID {
		t.Fatalf("credit note %v", cn)
	}
	wantProblem(t, b.do("POST", path, disp, map[string]any{"reason": "all of it", "lines": []any{map[string]any{"description": "too much", "net_minor": 7000, "tax_rate_bp": 2000}}}), 422, "credit_exceeds_invoice")
	inv := b.do("GET", fmt.Sprintf("/v1/invoices/%d", invID), disp, nil).json(t)
	if num(inv, "credited_minor") != 1800 || num(inv, "due_minor") != 9480-1800 || inv["status"] != "open" {
		t.Fatalf("invoice after a credit note: %v", inv)
	}
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/invoices/%d/payments", num(cn, "id")), disp, map[string]any{"method": "cash", "amount_minor": 100}), 422, "not_an_invoice")
	if r := b.do("POST", fmt.Sprintf("/v1/invoices/%d/payments", invID), disp, map[string]any{"method": "transfer", "amount_minor": 9480 - 1800}); r.Status != 201 ||
		r.json(t)["invoice"].(map[string]any)["status"] != "paid" {
		t.Fatalf("pay the rest: %d %s", r.Status, r.Body)
	}
}

// TestInvoiceNumbersGaplessUnderConcurrentIssue: six visits complete at once; their invoices are
// numbered 1 to 6, each once; and two payments racing for one invoice's balance: one wins.
func TestInvoiceNumbersGaplessUnderConcurrentIssue(t *testing.T) {
	b := setup(t)
	b.priceBook()
	const n = 6
	jobs := map[int64]string{}
	for i := range n {
		sub := fmt.Sprintf("tech-%d", i)
		b.technician(sub, []string{"washer"}, 45.76, 4.84)
	}
	for i := range n {
		_, jobID := b.bookedVisitOnSite(fmt.Sprintf("cust-%d", i), "", nil)
		var sub string
		_ = b.db.Pool.QueryRow(t.Context(), "SELECT t.subject FROM jobs j JOIN technicians t ON t.id = j.technician_id WHERE j.id = $1", jobID).Scan(&sub)
		jobs[jobID] = sub
	}
	var wg sync.WaitGroup
	for jobID, sub := range jobs {
		wg.Go(func() {
			if r := b.complete(sub, jobID); r.Status != 200 {
				t.Errorf("complete %d: %d %s", jobID, r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	rows, err := b.db.Pool.Query(t.Context(), "SELECT seq, number FROM invoices WHERE kind = 'invoice' ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for rows.Next() {
		var seq int
		var number string
		if err := rows.Scan(&seq, &number); err != nil {
			t.Fatal(err)
		}
		if number != fmt.Sprintf("INV-2026-%06d", seq) {
			t.Errorf("number %s for seq %d", number, seq)
		}
		seqs = append(seqs, seq)
	}
	if len(seqs) != n {
		t.Fatalf("%d invoices for %d visits", len(seqs), n)
	}
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("numbers %v are not 1..%d without gaps", seqs, n)
		}
	}
	// Two payments race for the whole balance of one invoice.
	var invID int64
	_ = b.db.Pool.QueryRow(t.Context(), "SELECT id FROM invoices WHERE seq = 1 AND kind = 'invoice'").Scan(&invID)
	got := race(2, func() int {
		return b.do("POST", fmt.Sprintf("/v1/invoices/%d/payments", invID), b.token(dispatch.RoleDispatcher, "disp"),
			map[string]any{"method": "cash", "amount_minor": 5880}).Status
	})
	if got[http.StatusCreated] != 1 || got[http.StatusConflict] != 1 {
		t.Fatalf("two payments of the balance: %v, want one 201 and one 409", got)
	}
}
