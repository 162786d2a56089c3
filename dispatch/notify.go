package dispatch

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Device is a phone (FCM token) of a technician, customer or dispatcher.
type Device struct {
	ID             int64
	OwnerKind      string // technician, customer, dispatcher
	OwnerSubject   string
	Token          string
	Platform       string // android, ios, web
	AppVersion     string
	Active         bool
	DisabledReason string
	CreatedAt      time.Time
	LastSeenAt     time.Time
}

// Notification is one message to a person: kept in their inbox, pushed to their devices.
type Notification struct {
	ID               int64
	RecipientKind    string
	RecipientSubject string
	Kind             string // offer, change, cancellation, reminder, received, moved, confirmed, on_the_way, arrived, completed, feedback_request, tier_changed
	JobID            *int64
	BookingID        *int64
	Title, Body      string
	Data             map[string]any
	CreatedAt        time.Time
}

// Notifier delivers notifications beyond the inbox. It is called inside the transaction of the
// change that causes the notification, so an implementation that enqueues (an outbox) commits or
// rolls back with it.
type Notifier interface {
	Notify(ctx context.Context, st PushQueue, n Notification) error
}

// PushQueue enqueues a notification's pushes in the caller's transaction: the outbox's rows.
type PushQueue interface {
	// EnqueuePush writes the outbox rows that push notification id to its recipient's active devices.
	EnqueuePush(ctx context.Context, notificationID int64, now time.Time) (int64, error)
}

// NoticeStore is what notifications are written through, in the caller's transaction.
type NoticeStore interface {
	PushQueue
	AddNotification(ctx context.Context, n Notification) (Notification, error)
	GetTechnician(ctx context.Context, id int64) (Technician, error)
	// TrackingLink is booking bookingID's tracking token, lasting at least until expires: the one
	// it has, else token, issued at.
	TrackingLink(ctx context.Context, bookingID int64, token string, at, expires time.Time) (string, error)
}

// Outbox enqueues a push of each notification to the recipient's devices in the transaction that
// caused it: the push goes out after commit (the push worker delivers it) and never for a change
// that rolled back.
type Outbox struct{}

// Notify writes the outbox rows.
func (Outbox) Notify(ctx context.Context, st PushQueue, n Notification) error {
	_, err := st.EnqueuePush(ctx, n.ID, n.CreatedAt)
	return err
}

// LogNotifier only logs: with it, notifications live in the in-app inbox alone.
type LogNotifier struct {
	Log interface{ Info(string, ...any) }
}

// Notify logs n with its ids (values, not the pointers that hold them): without FCM this line is
// the push channel an operator reads.
func (l LogNotifier) Notify(_ context.Context, _ PushQueue, n Notification) error {
	if l.Log == nil {
		return nil
	}
	args := []any{"notification_id", n.ID, "to", n.RecipientKind + ":" + n.RecipientSubject, "kind", n.Kind}
	if n.JobID != nil {
		args = append(args, "job_id", *n.JobID)
	}
	if n.BookingID != nil {
		args = append(args, "booking_id", *n.BookingID)
	}
	l.Log.Info("notification", append(args, "title", n.Title)...)
	return nil
}

// JobLinkPrefix starts the deep link to a job in the technician app; the job's id follows.
const JobLinkPrefix = "fieldfix://jobs/"

// JobLink is the deep link to job id in the technician app.
func JobLink(id int64) string { return JobLinkPrefix + strconv.FormatInt(id, 10) }

// Notify writes n to its recipient's inbox and hands it to the notifier, in st's transaction.
func (e *Env) Notify(ctx context.Context, st NoticeStore, n Notification) error {
	n.CreatedAt = e.Now()
	saved, err := st.AddNotification(ctx, n)
	if err != nil {
		return err
	}
	if e.Notifier == nil {
		return nil
	}
	return e.Notifier.Notify(ctx, st, saved)
}

// TellTechnician sends a change or a cancellation of job j to technician techID (none: nobody,
// nor a technician without a login, who has no app).
func (e *Env) TellTechnician(ctx context.Context, st NoticeStore, techID *int64, j Job, kind, title, body string) error {
	if techID == nil {
		return nil
	}
	t, err := st.GetTechnician(ctx, *techID)
	if err != nil || t.Subject == nil {
		return err
	}
	return e.Notify(ctx, st, Notification{RecipientKind: "technician", RecipientSubject: *t.Subject, Kind: kind, JobID: &j.ID,
		BookingID: &j.BookingID, Title: title, Body: body, Data: map[string]any{"deep_link": JobLink(j.ID)}})
}

// TellCustomer notifies booking b's customer of job j (inbox, and push to their devices), with
// the booking's tracking link (issued, or extended, for TrackingTTL from now).
func (e *Env) TellCustomer(ctx context.Context, st NoticeStore, b Booking, j Job, kind, title, body string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	now := e.Now()
	token, err := st.TrackingLink(ctx, b.ID, NewTrackingToken(), now, now.Add(TrackingTTL))
	if err != nil {
		return err
	}
	data["deep_link"] = fmt.Sprintf("fieldfix://bookings/%d", b.ID)
	data["tracking_url"] = e.TrackingURL(token)
	body += " Follow your visit: " + e.TrackingURL(token)
	return e.Notify(ctx, st, Notification{RecipientKind: "customer", RecipientSubject: b.CustomerSubject, Kind: kind, JobID: &j.ID,
		BookingID: &b.ID, Title: title, Body: body, Data: data})
}
