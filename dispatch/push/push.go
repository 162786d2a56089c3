// Package push delivers the push outbox: rows written by dispatch.Outbox in the transaction of
// each change are leased in batches (FOR UPDATE SKIP LOCKED, so replicas share the work), sent
// through FCM (dispatch/fcm on the Firebase Admin SDK), and settled per device: delivered;
// retried with exponential backoff that honours Retry-After; the device disabled when FCM says
// the token is dead; or failed. A worker that dies mid-send lets its lease run out and the
// delivery is tried again: pushes are at least once, never lost.
package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/fcm"
)

// Store is what the worker needs of the database.
type Store interface {
	ClaimPushes(ctx context.Context, now, leaseUntil time.Time, limit int) ([]dispatch.PushDelivery, error)
	Notifications(ctx context.Context, ids []int64) (map[int64]dispatch.Notification, error)
	SettlePush(ctx context.Context, c dispatch.PushDelivery, status string, next time.Time, messageName, lastError, code string,
		httpStatus int, retryAfter time.Duration, now time.Time) error
	DisableDevice(ctx context.Context, id int64, reason string) error
}

// Sender sends one push to device tokens (fcm.Client).
type Sender interface {
	Send(ctx context.Context, tokens []string, p fcm.Push) []fcm.DeviceResult
}

// Worker drains the outbox.
type Worker struct {
	Store   Store
	Sender  Sender
	Backoff fcm.Backoff
	Log     *slog.Logger
	Metrics dispatch.Metrics // nil: nothing counted
	Now     func() time.Time

	Batch       int           // deliveries leased at once (200)
	Lease       time.Duration // how long a lease lasts before another worker may retry (2 min)
	Poll        time.Duration // how often an idle worker looks (250 ms)
	Concurrency int           // notifications sent at once (16)
	MaxAttempts int           // retryable attempts before giving up (15, about a day of backoff)
	SendTimeout time.Duration // bound on one Send (30 s)
}

func (w *Worker) defaults() {
	if w.Batch <= 0 {
		w.Batch = 200
	}
	if w.Lease <= 0 {
		w.Lease = 2 * time.Minute
	}
	if w.Poll <= 0 {
		w.Poll = 250 * time.Millisecond
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 16
	}
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 15
	}
	if w.SendTimeout <= 0 {
		w.SendTimeout = 30 * time.Second
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
}

// Run drains until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	for ctx.Err() == nil {
		n, err := w.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("push outbox", "err", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(w.Poll):
			}
		}
	}
}

// Drain leases one batch of due deliveries and settles each; it returns how many it leased.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	w.defaults()
	now := w.Now()
	claims, err := w.Store.ClaimPushes(ctx, now, now.Add(w.Lease), w.Batch)
	if err != nil || len(claims) == 0 {
		return 0, err
	}
	byNote := map[int64][]dispatch.PushDelivery{}
	var ids []int64
	for _, c := range claims {
		if _, ok := byNote[c.NotificationID]; !ok {
			ids = append(ids, c.NotificationID)
		}
		byNote[c.NotificationID] = append(byNote[c.NotificationID], c)
	}
	notes, err := w.Store.Notifications(ctx, ids)
	if err != nil {
		return 0, err
	}
	// One person's notifications go out in the order they were made (a customer must not hear
	// "arrived" before "on the way"); different people's go out concurrently.
	slices.Sort(ids)
	var people []string
	byPerson := map[string][]int64{}
	for _, id := range ids {
		n := notes[id]
		who := n.RecipientKind + ":" + n.RecipientSubject
		if _, ok := byPerson[who]; !ok {
			people = append(people, who)
		}
		byPerson[who] = append(byPerson[who], id)
	}
	sem := make(chan struct{}, w.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, who := range people {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, id := range byPerson[who] {
				if err := w.deliver(ctx, notes[id], byNote[id]); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return len(claims), firstErr
}

// Message maps a notification to FCM's push.
func Message(n dispatch.Notification) fcm.Push {
	p := fcm.Push{Kind: fcm.Kind(n.Kind), Title: n.Title, Body: n.Body}
	if n.JobID != nil {
		p.JobID = *n.JobID
	}
	if n.BookingID != nil {
		p.BookingID = *n.BookingID
	}
	if s, ok := n.Data["deep_link"].(string); ok {
		p.DeepLink = s
	}
	if s, ok := n.Data["offer_expires_at"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			p.OfferExpiresAt = t
		}
	}
	return p
}

func (w *Worker) deliver(ctx context.Context, n dispatch.Notification, claims []dispatch.PushDelivery) error {
	tokens := make([]string, len(claims))
	for i, c := range claims {
		tokens[i] = c.Token
	}
	sctx, cancel := context.WithTimeout(ctx, w.SendTimeout)
	results := w.Sender.Send(sctx, tokens, Message(n))
	cancel()
	var errs error
	for i, c := range claims {
		r := results[i]
		now := w.Now()
		status, next, errText := "", now, ""
		if r.Err != nil {
			errText = r.Err.Error()
		}
		switch {
		case r.Outcome == fcm.Delivered:
			status = "delivered"
		case r.Outcome == fcm.TokenInvalid:
			status = "token_invalid"
			if err := w.Store.DisableDevice(ctx, c.DeviceID, "fcm: "+r.Code); err != nil {
				errs = errors.Join(errs, err)
			}
		case r.Outcome == fcm.Retryable && c.Attempts+1 < w.MaxAttempts:
			status, next = "pending", now.Add(w.Backoff.Delay(c.Attempts+1, r.RetryAfter))
		default:
			status = "failed"
		}
		if w.Metrics != nil {
			w.Metrics.Push(string(r.Outcome))
		}
		if err := w.Store.SettlePush(context.WithoutCancel(ctx), c, status, next, r.MessageName, errText, r.Code, r.HTTPStatus, r.RetryAfter, now); err != nil {
			errs = errors.Join(errs, fmt.Errorf("settle delivery %d: %w", c.ID, err))
		}
		if status != "delivered" && status != "pending" {
			w.Log.Warn("push not delivered", "notification_id", n.ID, "device_id", c.DeviceID, "outcome", r.Outcome, "code", r.Code)
		}
	}
	return errs
}
