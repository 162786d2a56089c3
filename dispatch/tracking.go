package dispatch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// TrackingTTL is how long a tracking link lives after the last message that carried it.
const TrackingTTL = 14 * 24 * time.Hour

// NewTrackingToken is a random, unguessable token: 26 base32 characters, 128 bits.
func NewTrackingToken() string { return rand.Text() }

// SecretHash is how a bearer secret (an upload token, a sign-in code) is kept: the hex SHA-256 of
// it, so the database never holds what opens the door.
func SecretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TrackingURL is the customer's page of the visit whose tracking token is token.
func (e *Env) TrackingURL(token string) string {
	return strings.TrimRight(e.PublicURL, "/") + "/t/" + token
}

// Received is the customer's "booking received" for booking b, its first visit j planned (or
// not yet), told in loc, with the tracking link at url.
func Received(b Booking, j Job, loc *time.Location, url string) Notification {
	what := fmt.Sprintf("your %s %s", b.Appliance, strings.ReplaceAll(string(b.ServiceType), "_", " "))
	body := fmt.Sprintf("We received %s. We are finding a technician and will tell you the time.", what)
	data := map[string]any{"tracking_url": url}
	if j.PlannedStart != nil {
		w := PromisedWindow(*j.PlannedStart, loc)
		body = fmt.Sprintf("We received %s. A technician will come on %s.", what, TellWindow(w, loc))
		data["window_start"], data["window_end"] = w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)
	}
	return Notification{RecipientKind: "customer", RecipientSubject: b.CustomerSubject, Kind: "received",
		Title: "Booking received", Body: body + " Follow your visit: " + url, Data: data}
}

// TellMoved tells of a change to booking b's visit, from before to after, whoever made it (a
// re-optimisation, a dispatcher, a decline, a technician's unavailability, the SLA watchdog):
//   - the customer, when the window they were promised moved, the visit went back to the queue,
//     or the technician they were told of (one who accepted) changed; with the new window in the
//     business's zone. A move inside the window, or to another technician before anyone
//     accepted, changes nothing they were told, and tells them nothing;
//   - the technician who keeps the visit at another time, when no new offer tells them (a new
//     technician hears of it by the offer; the one who lost it is told by the caller, with why).
func (e *Env) TellMoved(ctx context.Context, st NoticeStore, b Booking, before, after Job) error {
	loc := e.Rules.Zone()
	var was, now *Window
	if before.PlannedStart != nil && before.TechnicianID != nil {
		w := PromisedWindow(*before.PlannedStart, loc)
		was = &w
	}
	if after.PlannedStart != nil && after.TechnicianID != nil && after.Live() {
		w := PromisedWindow(*after.PlannedStart, loc)
		now = &w
	}
	named := before.TechnicianID != nil && (before.Status == JobAccepted || before.Status == JobEnRoute)
	techChanged := named && (after.TechnicianID == nil || *after.TechnicianID != *before.TechnicianID)
	windowChanged := (was == nil) != (now == nil) || (was != nil && !was.Start.Equal(now.Start))
	sameTech := before.TechnicianID != nil && after.TechnicianID != nil && *before.TechnicianID == *after.TechnicianID
	if sameTech && after.Status != JobOffered && after.PlannedStart != nil && before.PlannedStart != nil && !after.PlannedStart.Equal(*before.PlannedStart) {
		t, err := st.GetTechnician(ctx, *after.TechnicianID)
		if err != nil {
			return err
		}
		at := after.PlannedStart.In(t.Zone()).Format("Mon 2 Jan 15:04")
		if err := e.TellTechnician(ctx, st, after.TechnicianID, after, "change", "Job moved",
			fmt.Sprintf("Visit %s (%s, %s) now starts %s.", after.Reference(), b.Appliance, b.Address, at)); err != nil {
			return err
		}
	}
	if !windowChanged && !techChanged {
		return nil
	}
	what := fmt.Sprintf("%s %s", b.Appliance, strings.ReplaceAll(string(b.ServiceType), "_", " "))
	var title, body string
	data := map[string]any{}
	switch {
	case now == nil:
		title = "We are finding a new time"
		body = fmt.Sprintf("Your %s visit cannot take place as planned; we are finding a new time and will tell you.", what)
	case was == nil:
		title = "Your visit is planned"
		body = fmt.Sprintf("A technician will come for your %s on %s.", what, TellWindow(*now, loc))
	case !windowChanged:
		title = "Your technician changed"
		body = fmt.Sprintf("Another technician will come for your %s, still on %s; you will know who when they confirm.", what, TellWindow(*now, loc))
	default:
		title = "Your visit moved"
		body = fmt.Sprintf("Your %s visit is now on %s.", what, TellWindow(*now, loc))
		if techChanged {
			body += " Another technician will come; you will know who when they confirm."
		}
	}
	if now != nil {
		data["window_start"], data["window_end"] = now.Start.Format(time.RFC3339), now.End.Format(time.RFC3339)
	}
	return e.TellCustomer(ctx, st, b, after, "moved", title, body, data)
}
