package fcm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"firebase.google.com/go/v4/messaging"
)

// Kind is what a push tells the app; the app routes on the "kind" data key.
type Kind string

// Technician pushes.
const (
	KindOffer        Kind = "offer"        // a job proposed to the technician, until OfferExpiresAt
	KindChange       Kind = "change"       // a job of theirs moved (time, order, details)
	KindCancellation Kind = "cancellation" // a job of theirs was cancelled or taken away
	KindReminder     Kind = "reminder"     // an upcoming visit
)

// Customer pushes.
const (
	KindConfirmed       Kind = "confirmed"
	KindOnTheWay        Kind = "on_the_way"
	KindArrived         Kind = "arrived"
	KindCompleted       Kind = "completed"
	KindFeedbackRequest Kind = "feedback_request"
	KindAcceptanceCode  Kind = "acceptance_code" // the one-time code the customer tells the technician to sign a visit off
	KindServiceReport   Kind = "service_report"  // a closed visit's report (PDF)
	KindReceived        Kind = "received"        // a booking taken
	KindMoved           Kind = "moved"           // the visit's window changed
	KindTierChanged     Kind = "tier_changed"    // warranty settled on site: the booking is paid, or the reverse
	KindQuote           Kind = "quote"           // a quote to approve
	KindInvoice         Kind = "invoice"         // an invoice issued
	KindRevisitPlanned  Kind = "revisit_planned" // the return visit's window (a part on its way)
)

// Dispatcher pushes (besides reminders).
const (
	KindLowStock Kind = "low_stock" // a part's stock at a location fell below its threshold
)

var kinds = map[Kind]bool{
	KindOffer: true, KindChange: true, KindCancellation: true, KindReminder: true,
	KindConfirmed: true, KindOnTheWay: true, KindArrived: true, KindCompleted: true, KindFeedbackRequest: true,
	KindAcceptanceCode: true, KindServiceReport: true, KindReceived: true, KindMoved: true, KindTierChanged: true, KindQuote: true,
	KindInvoice: true, KindRevisitPlanned: true, KindLowStock: true,
}

// Valid reports whether k is a kind the apps know.
func (k Kind) Valid() bool { return kinds[k] }

// Push is one notification to a person's devices, independent of the SDK's types.
type Push struct {
	Kind      Kind
	JobID     int64 // 0 when the push is about a booking only
	BookingID int64
	Title     string
	Body      string // truncated to fit the payload limit
	DeepLink  string // e.g. "fieldfix://jobs/42"; the app opens it on tap
	// OfferExpiresAt is when an offer lapses; zero if none. It bounds TTL: an offer delivered
	// after it lapsed would only mislead.
	OfferExpiresAt time.Time
	// TTL is how long FCM keeps the message for an offline device; 0 means the offer's
	// remaining lifetime, or DefaultTTL when there is no offer.
	TTL time.Duration
}

const (
	// MaxPayloadBytes is FCM's (and APNs') 4 KB limit. Build checks the whole marshalled
	// message without its token against it, which is stricter than FCM's own count.
	MaxPayloadBytes = 4096
	// DefaultTTL is how long a push without an offer waits for an offline device.
	DefaultTTL = time.Hour
	// MaxTTL is FCM's limit, 28 days.
	MaxTTL = 28 * 24 * time.Hour
)

// Errors of Build, for errors.Is. A Push that fails to build fails for every device alike.
var (
	ErrInvalidPush     = errors.New("fcm: invalid push")
	ErrOfferExpired    = errors.New("fcm: offer already expired")
	ErrPayloadTooLarge = errors.New("fcm: payload over 4 KB")
)

// ellipsis marks a truncated body.
const ellipsis = "…"

// Build turns p into an FCM message without a target; now is the send time (TTL and
// apns-expiration are computed from it). The body is shortened when the payload would pass
// MaxPayloadBytes; if it still does not fit, Build returns ErrPayloadTooLarge.
func Build(p Push, now time.Time) (*messaging.Message, error) {
	if !p.Kind.Valid() {
		return nil, fmt.Errorf("%w: kind %q", ErrInvalidPush, p.Kind)
	}
	if p.JobID <= 0 && p.BookingID <= 0 && p.Kind != KindLowStock { // a stock alert is about a location (its deep link)
		return nil, fmt.Errorf("%w: %s without a job or booking id", ErrInvalidPush, p.Kind)
	}
	if p.Title == "" {
		return nil, fmt.Errorf("%w: %s without a title", ErrInvalidPush, p.Kind)
	}
	if p.Kind == KindOffer && p.OfferExpiresAt.IsZero() {
		return nil, fmt.Errorf("%w: offer without an expiry", ErrInvalidPush)
	}
	ttl, err := ttlFor(p, now)
	if err != nil {
		return nil, err
	}

	collapse := collapseKey(p)
	data := map[string]string{
		"kind":       string(p.Kind),
		"job_id":     strconv.FormatInt(p.JobID, 10),
		"booking_id": strconv.FormatInt(p.BookingID, 10),
	}
	if !p.OfferExpiresAt.IsZero() {
		data["offer_expires_at"] = p.OfferExpiresAt.UTC().Format(time.RFC3339)
	}
	if p.DeepLink != "" {
		data["deep_link"] = p.DeepLink
	}

	m := &messaging.Message{
		Data:         data,
		Notification: &messaging.Notification{Title: p.Title, Body: p.Body},
		Android: &messaging.AndroidConfig{
			CollapseKey: collapse,
			Priority:    "high",
			TTL:         &ttl,
			// The tag makes a newer push for the job replace the one on screen.
			Notification: &messaging.AndroidNotification{Tag: collapse},
		},
		APNS: &messaging.APNSConfig{
			Headers: map[string]string{
				"apns-priority":    "10",
				"apns-push-type":   "alert",
				"apns-expiration":  strconv.FormatInt(now.Add(ttl).Unix(), 10),
				"apns-collapse-id": collapse,
			},
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{
				Sound:    "default",
				Category: string(p.Kind), // lets the iOS app attach accept/decline actions to offers
				ThreadID: collapse,
			}},
		},
	}
	if err := fitPayload(m); err != nil {
		return nil, fmt.Errorf("%s push for job %d: %w", p.Kind, p.JobID, err)
	}
	return m, nil
}

// ttlFor is p.TTL, else the offer's remaining lifetime, else DefaultTTL, in whole seconds.
func ttlFor(p Push, now time.Time) (time.Duration, error) {
	ttl := p.TTL
	if !p.OfferExpiresAt.IsZero() {
		left := p.OfferExpiresAt.Sub(now)
		if left < time.Second {
			return 0, fmt.Errorf("%w: job %d expired at %s", ErrOfferExpired, p.JobID, p.OfferExpiresAt.Format(time.RFC3339))
		}
		if ttl <= 0 || ttl > left {
			ttl = left
		}
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	ttl = min(ttl, MaxTTL)
	// Round down: a message that outlives its offer by a fraction of a second is still stale.
	return ttl.Truncate(time.Second), nil
}

// collapseKey groups every push about one job (or booking) so an offline device gets the latest only.
func collapseKey(p Push) string {
	if p.Kind == KindLowStock {
		return "stock-" + p.DeepLink
	}
	if p.JobID > 0 {
		return "job-" + strconv.FormatInt(p.JobID, 10)
	}
	return "booking-" + strconv.FormatInt(p.BookingID, 10)
}

// PayloadSize is the marshalled size of m without its target, the number held to MaxPayloadBytes.
func PayloadSize(m *messaging.Message) (int, error) {
	c := *m
	c.Token, c.Topic, c.Condition, c.Fid = "", "", "", ""
	b, err := json.Marshal(&c)
	if err != nil {
		return 0, fmt.Errorf("marshal message: %w", err)
	}
	return len(b), nil
}

// fitPayload shortens the notification body, keeping the longest prefix (on a rune boundary,
// with an ellipsis) for which m fits MaxPayloadBytes.
func fitPayload(m *messaging.Message) error {
	n, err := PayloadSize(m)
	if err != nil || n <= MaxPayloadBytes {
		return err
	}
	body := m.Notification.Body
	fits := func(cut int) (bool, error) {
		m.Notification.Body = body[:cut] + ellipsis
		if cut == 0 {
			m.Notification.Body = ""
		}
		n, err := PayloadSize(m)
		return n <= MaxPayloadBytes, err
	}
	// JSON escaping makes some bytes cost up to six, so search for the cut rather than compute it.
	lo, hi := 0, len(body) // fits(lo) is assumed, fits(hi) is known false
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		for mid > lo && !utf8.RuneStart(body[mid]) {
			mid--
		}
		if mid == lo {
			break
		}
		ok, err := fits(mid)
		if err != nil {
			return err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	ok, err := fits(lo)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %d bytes even without a body", ErrPayloadTooLarge, n)
	}
	return nil
}
