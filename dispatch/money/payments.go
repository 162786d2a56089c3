package money

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// PaymentRequest is a payment recorded by hand: on site (the technician) or by staff.
type PaymentRequest struct {
	Method      string
	AmountMinor int64
	Reference   string
}

// RecordPayment records money received against an invoice. Payments are decided one at a time
// per invoice (its row locked): one paying more than is due is refused (overpayment), and on an
// invoice paid already the conflict is invoice_paid, so of two racing for the balance one wins.
func (s *Service) RecordPayment(ctx context.Context, a dispatch.Actor, invoiceID int64, p PaymentRequest) (Payment, Invoice, error) {
	if a.Role != dispatch.RoleTechnician && !a.Staff() {
		return Payment{}, Invoice{}, dispatch.Forbidden("payments are recorded by the visit's technician or by staff; customers pay online")
	}
	if !slices.Contains(PaymentMethods, p.Method) || p.Method == "online" {
		return Payment{}, Invoice{}, dispatch.Invalid("method", "invalid_method", "method is card_on_site, transfer or cash (online payments come through the provider's webhook)")
	}
	if p.AmountMinor <= 0 || p.AmountMinor > MaxUnitMinor {
		return Payment{}, Invoice{}, dispatch.Invalid("amount_minor", "invalid_amount", "amount_minor is a whole number of minor units above 0")
	}
	p.Reference = strings.TrimSpace(p.Reference)
	if utf8.RuneCountInString(p.Reference) > 200 {
		return Payment{}, Invoice{}, dispatch.Invalid("reference", "too_long", "reference is at most 200 characters")
	}
	var (
		out Payment
		inv Invoice
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		var err error
		if a.Role == dispatch.RoleTechnician {
			if inv, err = st.GetInvoice(ctx, invoiceID, false); err != nil {
				return err
			}
			if inv.JobID == nil {
				return dispatch.NotFound("invoice", invoiceID)
			}
			if _, _, err := s.visitOf(ctx, st, a, *inv.JobID); err != nil {
				return dispatch.NotFound("invoice", invoiceID)
			}
		}
		out, inv, err = s.pay(ctx, st, a, invoiceID, Payment{Method: p.Method, AmountMinor: p.AmountMinor, Reference: p.Reference})
		return err
	})
	return out, inv, err
}

// pay writes p against the invoice in st's transaction, and reads the invoice after.
func (s *Service) pay(ctx context.Context, st Store, a dispatch.Actor, invoiceID int64, p Payment) (Payment, Invoice, error) {
	inv, err := st.GetInvoice(ctx, invoiceID, true)
	if err != nil {
		return Payment{}, Invoice{}, err
	}
	if inv.Kind != KindInvoice {
		return Payment{}, Invoice{}, dispatch.Unprocessable("not_an_invoice", "%s is a credit note: nothing is paid against it", inv.Number)
	}
	due := inv.DueMinor()
	if due <= 0 {
		return Payment{}, Invoice{}, dispatch.Conflict("invoice_paid", "%s is %s: nothing is due", inv.Number, inv.Status())
	}
	if p.AmountMinor > due {
		return Payment{}, Invoice{}, dispatch.Unprocessable("overpayment", "%s has %s due; %s is more", inv.Number, Format(due, inv.Currency), Format(p.AmountMinor, inv.Currency))
	}
	from := inv.Status()
	p.InvoiceID, p.ReceivedAt, p.RecordedBy = invoiceID, s.Now(), a
	out, err := st.InsertPayment(ctx, p)
	if err != nil {
		return Payment{}, Invoice{}, err
	}
	if inv, err = st.GetInvoice(ctx, invoiceID, false); err != nil {
		return Payment{}, Invoice{}, err
	}
	return out, inv, st.AddAudit(ctx, dispatch.AuditEvent{At: out.ReceivedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "invoice", EntityID: invoiceID,
		Action: "payment_recorded", FromStatus: from, ToStatus: inv.Status(), Data: map[string]any{"payment_id": out.ID, "method": out.Method,
			"amount_minor": out.AmountMinor, "reference": out.Reference, "event_id": out.EventID, "booking_id": inv.BookingID}})
}

// WebhookEvent is a payment provider's notification: a payment of an invoice succeeded.
type WebhookEvent struct {
	ID          string `json:"id"`
	Type        string `json:"type"` // payment.succeeded; other types are acknowledged and ignored
	InvoiceID   int64  `json:"invoice_id"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	Reference   string `json:"reference"`
}

// SignatureHeader carries the provider's signature: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" under the shared secret>".
const SignatureHeader = "FieldFix-Signature"

// Sign is the signature header's value for body at t under secret (what a provider sends).
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks header against body: the HMAC compared in constant time, the timestamp
// within tolerance of now (an old notification replayed is refused even with a new event id).
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			// Lowercase hex only, as Sign writes it: one spelling per signature, so a header
			// is accepted only when it holds the signature itself.
			if b, err := hex.DecodeString(v); err == nil && hex.EncodeToString(b) == v {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return &dispatch.Error{Kind: dispatch.KindForbidden, Code: "invalid_signature", Message: "the " + SignatureHeader + " header is missing or malformed: t=<unix seconds>,v1=<hex hmac-sha256>"}
	}
	want := mac(secret, ts, body)
	ok := false
	for _, sig := range sigs {
		ok = hmac.Equal(sig, want) || ok // every candidate compared, in constant time
	}
	if !ok {
		return &dispatch.Error{Kind: dispatch.KindForbidden, Code: "invalid_signature", Message: "the signature does not match the body"}
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return &dispatch.Error{Kind: dispatch.KindForbidden, Code: "stale_signature", Message: "the signature's timestamp is outside the tolerance: a replay, or a clock far off"}
	}
	return nil
}

// Webhook takes a provider's signed notification: once the signature holds, the event id is
// recorded (a second delivery of it is a conflict, event_replayed, and changes nothing) and a
// payment.succeeded event records an online payment of its invoice. An event that cannot apply
// (unknown invoice, another currency, more than is due) is refused and changes nothing, its id
// left free for a corrected delivery.
func (s *Service) Webhook(ctx context.Context, header string, body []byte) (WebhookEvent, *Payment, error) {
	if len(s.Provider.Secret) == 0 {
		return WebhookEvent{}, nil, &dispatch.Error{Kind: dispatch.KindNotFound, Code: "webhook_disabled", Message: "no payment webhook secret is configured"}
	}
	if err := VerifySignature(s.Provider.Secret, header, body, s.Now(), s.Provider.Tolerance); err != nil {
		return WebhookEvent{}, nil, err
	}
	var ev WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return WebhookEvent{}, nil, dispatch.Invalid("body", "invalid_json", "the notification is not the expected JSON: %v", err)
	}
	ev.ID = strings.TrimSpace(ev.ID)
	if ev.ID == "" || utf8.RuneCountInString(ev.ID) > 200 || utf8.RuneCountInString(ev.Reference) > 200 {
		return WebhookEvent{}, nil, dispatch.Invalid("id", "missing_field", "an event has an id (at most 200 characters)")
	}
	var out *Payment
	err := s.Store.Tx(ctx, func(st Store) error {
		if ev.Type != "payment.succeeded" {
			fresh, err := st.RecordEvent(ctx, ev.ID, s.Now(), nil, "ignored:"+ev.Type)
			if err == nil && !fresh {
				return dispatch.Conflict("event_replayed", "event %s was received already", ev.ID)
			}
			return err
		}
		if ev.AmountMinor <= 0 {
			return dispatch.Invalid("amount_minor", "invalid_amount", "amount_minor is above 0")
		}
		inv, err := st.GetInvoice(ctx, ev.InvoiceID, false)
		if err != nil {
			return err
		}
		fresh, err := st.RecordEvent(ctx, ev.ID, s.Now(), &ev.InvoiceID, "paid")
		if err != nil {
			return err
		}
		if !fresh {
			return dispatch.Conflict("event_replayed", "event %s was received already", ev.ID)
		}
		if ev.Currency != inv.Currency {
			return dispatch.Unprocessable("currency_mismatch", "%s is in %s, the payment in %q", inv.Number, inv.Currency, ev.Currency)
		}
		p, _, err := s.pay(ctx, st, dispatch.Actor{Subject: "payment-provider", Role: dispatch.RoleSystem}, ev.InvoiceID,
			Payment{Method: "online", AmountMinor: ev.AmountMinor, Reference: ev.Reference, EventID: ev.ID})
		out = &p
		return err
	})
	return ev, out, err
}
