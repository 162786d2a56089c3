package dispatch

import (
	"context"
	"time"
)

// PushDelivery is one outbox row: a notification to one device, leased to a push worker.
type PushDelivery struct {
	ID, NotificationID, DeviceID int64
	Token                        string
	Attempts                     int   // made so far
	Unreachable                  int   // of which never reached FCM (connection refused, dial timeout)
	LeasedBy                     int64 // the push worker holding it
}

// PushAttempt is how one attempt to push a delivery ended.
type PushAttempt struct {
	Status      string    // pending (try again at Next), delivered, token_invalid, failed
	Next        time.Time // when pending
	MessageName string    // FCM's, when delivered
	Code        string    // FCM's error code, or UNREACHABLE when FCM never answered
	HTTPStatus  int       // 0 without an answer
	RetryAfter  time.Duration
	Error       string // the cause in words: FCM's message or the network error
	Unreachable bool   // FCM was never reached; such attempts do not count towards giving up
	StartedAt   time.Time
	At          time.Time
}

// PushWorkerSession is a push worker's membership in the database: its leases are its own while
// the session lives and beats; a worker whose session ended or fell silent is gone, and another
// worker frees its leases.
type PushWorkerSession interface {
	ID() int64
	// Beat renews the membership; an error matching ErrNotFound means the worker was taken for
	// gone (its leases freed) and must join again.
	Beat(ctx context.Context) error
	// Leave frees the worker's leases and ends the membership.
	Leave(ctx context.Context) error
}
