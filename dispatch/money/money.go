// Package money owns what repairs cost and who pays: the price book, quotes the customer approves,
// invoices and credit notes, payments against them, and the warranty claims on manufacturers.
package money

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Store is the money area's store.
type Store interface {
	dispatch.NoticeStore
	Book
	Quotes
	Invoices
	Claims
	// Figures are the money KPIs of [from, to).
	Figures(ctx context.Context, business string, from, to time.Time) (Figures, error)
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// Join is the store bound to tx, another area's open transaction (for a hook).
	Join(tx dispatch.Tx) Store
	GetBooking(ctx context.Context, id int64) (dispatch.Booking, error)
	GetJob(ctx context.Context, id int64) (dispatch.Job, error)
	CustomerBySubject(ctx context.Context, subject string) (dispatch.Customer, error)
	TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error)
	AddAudit(ctx context.Context, e dispatch.AuditEvent) error
}

// Book keeps the business's money settings and its price items.
type Book interface {
	// Settings are the business's; lock holds its row until the transaction ends.
	Settings(ctx context.Context, business string, lock bool) (Settings, error)
	SaveSettings(ctx context.Context, s Settings) (Settings, error)
	PriceItems(ctx context.Context, business string) ([]PriceItem, error)
	// UpsertPriceItem adds the item, or replaces the one of its code.
	UpsertPriceItem(ctx context.Context, p PriceItem) (PriceItem, error)
	// CatalogueParts are the parts catalogue's entries among skus as price items of kind part
	// (code and sku the SKU, the catalogue's price and cost); unknown SKUs are left out.
	CatalogueParts(ctx context.Context, skus []string) ([]PriceItem, error)
}

// Quotes keeps quotes and the customers' answers.
type Quotes interface {
	// InsertQuote adds q; a booking with a quote waiting for an answer is a conflict (quote_pending).
	InsertQuote(ctx context.Context, q Quote) (Quote, error)
	// GetQuote reads a quote; lock holds its row until the transaction ends.
	GetQuote(ctx context.Context, id int64, lock bool) (Quote, error)
	DecideQuote(ctx context.Context, q Quote) (Quote, error)
	BookingQuotes(ctx context.Context, bookingID int64) ([]Quote, error)
}

// Invoices keeps invoices, credit notes and payments: written once, never changed.
type Invoices interface {
	// NextNumber takes the next number of a series in the calling transaction (gapless: the
	// counter's row stays locked until the transaction ends, and is rolled back with it).
	NextNumber(ctx context.Context, business, series string, year int) (int, error)
	InsertInvoice(ctx context.Context, inv Invoice) (Invoice, error)
	// GetInvoice reads an invoice with its payments and credit notes; lock holds its row.
	GetInvoice(ctx context.Context, id int64, lock bool) (Invoice, error)
	ListInvoices(ctx context.Context, f InvoiceFilter) ([]Invoice, error)
	InsertPayment(ctx context.Context, p Payment) (Payment, error)
	// RecordEvent notes a provider's event id; false when it was seen already.
	RecordEvent(ctx context.Context, eventID string, at time.Time, invoiceID *int64, outcome string) (bool, error)
}

// Claims keeps warranty claims on the paying parties, by period.
type Claims interface {
	// InsertClaim adds c; a job claimed already is a conflict.
	InsertClaim(ctx context.Context, c Claim) (Claim, error)
	GetClaim(ctx context.Context, id int64, lock bool) (Claim, error)
	SaveClaim(ctx context.Context, c Claim) (Claim, error)
	ListClaims(ctx context.Context, business, period, party string) ([]Claim, error)
	// ClosePeriod closes a period; false when it was closed already.
	ClosePeriod(ctx context.Context, business, period, by string, at time.Time) (bool, error)
	PeriodClosedAt(ctx context.Context, business, period string) (*time.Time, error)
	// PurchaseBrand is the brand of a purchase: the party its warranty work is claimed from.
	PurchaseBrand(ctx context.Context, id int64) (string, error)
}

// Service prices repairs, takes the customer's approval, invoices paid visits, records payments
// and claims warranty work from the party that pays for it.
type Service struct {
	*dispatch.Env
	Store    Store
	Business string        // whose settings, price book and numbering series ("main")
	Provider WebhookConfig // the payment provider's webhook
}

// WebhookConfig is how payment providers' notifications are checked.
type WebhookConfig struct {
	Secret    []byte        // HMAC-SHA256 key; empty: the webhook is off
	Tolerance time.Duration // how far a signature's timestamp may be from now (5 min)
}

// New is the money area of the business "main".
func New(store Store, env *dispatch.Env) *Service {
	return &Service{Env: env, Store: store, Business: "main", Provider: WebhookConfig{Tolerance: 5 * time.Minute}}
}

// Settings are a business's money settings.
type Settings struct {
	Business            string
	Currency            string // ISO 4217
	TaxRateBP           int    // the default tax rate, in basis points
	CallOutWithoutQuote bool   // a paid visit done without an approved quote is charged the call-out fee
	QuoteSendAheadMinor int64  // a quote made before the visit reaching this total is sent ahead
	TravelBands         []TravelBand
	Version             int
	UpdatedAt           time.Time
}

// TravelBand is the warranty travel allowance for a distance up to UpToKm (bands ascend).
type TravelBand struct {
	UpToKm      float64 `json:"up_to_km"`
	AmountMinor int64   `json:"amount_minor"`
}

// Kinds of price items.
const (
	KindCallOut = "call_out"
	KindLabour  = "labour" // priced per quarter hour
	KindService = "service"
	KindPart    = "part"
)

// PriceItem is one entry of the price book.
type PriceItem struct {
	ID              int64
	Business        string
	Code            string
	Kind            string
	Trade           string        // a skill; "" for all
	Tier            dispatch.Tier // paid or warranty rates; "" for both
	Name            string
	SKU             string // parts
	PriceMinor      int64
	AfterHoursMinor *int64 // evenings (before 08:00, from 18:00) and weekends
	CostMinor       *int64 // parts at cost, for warranty claims
	TaxRateBP       *int   // the business's when nil
	Active          bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Quote statuses.
const (
	QuoteSent     = "sent"
	QuoteApproved = "approved"
	QuoteDeclined = "declined"
)

// Quote is a priced proposal for a paid booking: one option, or good/better/best.
type Quote struct {
	ID                 int64
	Business           string
	BookingID, JobID   int64
	Status             string
	Currency           string
	Options            []Option
	SentAhead          bool
	CreatedBy          dispatch.Actor
	CreatedAt          time.Time
	DecidedAt          *time.Time
	DecidedBy          *dispatch.Actor
	ApprovedOption     string
	ApprovedTotalMinor *int64
	TextSeen           string
	DeclineReason      string
	Version            int
}

// Option is one choice of a quote, with its lines, sums and the text the customer reads.
type Option struct {
	Key   string `json:"key"` // standard, good, better, best
	Label string `json:"label"`
	Lines []Line `json:"lines"`
	Totals
	Text string `json:"text"`
}

// Document kinds.
const (
	KindInvoice    = "invoice"
	KindCreditNote = "credit_note"
)

// Invoice is an issued invoice or credit note, with what was paid and credited against it.
type Invoice struct {
	ID               int64
	Business         string
	Kind             string
	Number           string
	Year, Seq        int
	BookingID        int64
	JobID            *int64
	CustomerID       int64
	CustomerSubject  string
	CreditsInvoiceID *int64
	Currency         string
	Lines            []Line
	Totals
	QuoteIDs      []int64
	OnSiteMinutes *int
	Reason        string
	IssuedAt      time.Time
	IssuedBy      string
	// Read with the invoice: its payments and credit notes.
	Payments      []Payment
	CreditNoteIDs []int64
	PaidMinor     int64
	CreditedMinor int64
}

// Payment statuses of an invoice.
const (
	StatusOpen       = "open"
	StatusPartlyPaid = "partly_paid"
	StatusPaid       = "paid"
	StatusCredited   = "credited" // credited whole, nothing paid
)

// DueMinor is what is still owed: the total less credits and payments.
func (i Invoice) DueMinor() int64 { return i.TotalMinor - i.CreditedMinor - i.PaidMinor }

// Status is open, partly paid, paid, or credited (credited whole before any payment).
func (i Invoice) Status() string {
	switch {
	case i.Kind == KindCreditNote:
		return "issued"
	case i.DueMinor() <= 0 && i.PaidMinor == 0:
		return StatusCredited
	case i.DueMinor() <= 0:
		return StatusPaid
	case i.PaidMinor > 0:
		return StatusPartlyPaid
	}
	return StatusOpen
}

// InvoiceFilter narrows a list of invoices.
type InvoiceFilter struct {
	Business   string
	CustomerID *int64
	BookingID  *int64
	dispatch.Page
}

// Payment methods.
var PaymentMethods = []string{"card_on_site", "transfer", "cash", "online"}

// Payment is money received against an invoice.
type Payment struct {
	ID          int64
	InvoiceID   int64
	Method      string
	AmountMinor int64
	Reference   string
	EventID     string // the provider's event, for online payments
	ReceivedAt  time.Time
	RecordedBy  dispatch.Actor
}

// Claim statuses.
const (
	ClaimSubmitted = "submitted"
	ClaimRejected  = "rejected"
)

// Claim is what the paying party owes for one warranty visit.
type Claim struct {
	ID            int64
	Business      string
	Period        string // YYYY-MM of the visit's end, in the business's time zone
	Party         string // the manufacturer or seller: the purchase's brand
	BookingID     int64
	JobID         int64
	TechnicianID  *int64
	Currency      string
	Lines         []Line
	LabourMinor   int64
	PartsMinor    int64
	TravelMinor   int64
	TotalMinor    int64
	OnSiteMinutes int
	DistanceKm    float64
	Status        string
	RejectReason  string
	Resubmissions int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int
}
