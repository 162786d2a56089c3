package dispatch

import (
	"context"
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
	Kind             string // offer, change, cancellation, reminder, confirmed, on_the_way, arrived, completed, feedback_request, tier_changed
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
	Notify(ctx context.Context, st Store, n Notification) error
}

// Outbox enqueues a push of each notification to the recipient's devices in the transaction that
// caused it: the push goes out after commit (the push worker delivers it) and never for a change
// that rolled back.
type Outbox struct{}

// Notify writes the outbox rows.
func (Outbox) Notify(ctx context.Context, st Store, n Notification) error {
	_, err := st.EnqueuePush(ctx, n.ID, n.CreatedAt)
	return err
}

// LogNotifier only logs: with it, notifications live in the in-app inbox alone.
type LogNotifier struct {
	Log interface{ Info(string, ...any) }
}

// Notify logs n with its ids (values, not the pointers that hold them): without FCM this line is
// the push channel an operator reads.
func (l LogNotifier) Notify(_ context.Context, _ Store, n Notification) error {
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
