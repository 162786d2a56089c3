// Package push delivers the push outbox: rows written by dispatch.Outbox in the transaction of
// each change are leased in batches (FOR UPDATE SKIP LOCKED, so replicas share the work), sent
// through FCM (dispatch/fcm on the Firebase Admin SDK), and settled per device: delivered;
// retried with exponential backoff that honours Retry-After; the device disabled when FCM says
// the token is dead; or failed.
//
// Leases belong to the worker, not to a clock: each worker joins the push workers (a row, and
// an advisory lock held by a database session of its own) and beats every second. When a worker
// dies its session ends and the lock is free; the next beat of any live worker (or the first of
// a worker that starts) frees its leases, and they are sent again within a second or two. A
// worker whose host is lost with its session still open is taken for gone after Lease without a
// beat. Pushes are at least once, never lost.
//
// When FCM cannot be reached at all (connection refused, dial timeout), the worker stops sending
// batches: it gives back what it leased and tries one push per Probe, and sends at full
// concurrency again as soon as one gets through. Such attempts are recorded with their cause but
// do not count towards giving up on a push.
package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/fcm"
)

// Store is what the worker needs of the database.
type Store interface {
	JoinPushWorkers(ctx context.Context, name string) (dispatch.PushWorkerSession, error)
	// ReapPushWorkers frees the leases of the workers but self that are gone (session ended, or
	// silent for longer than silent); it returns their names and the leases freed.
	ReapPushWorkers(ctx context.Context, self int64, silent time.Duration) ([]string, int64, error)
	ClaimPushes(ctx context.Context, worker int64, now time.Time, limit int) ([]dispatch.PushDelivery, error)
	ReleasePushes(ctx context.Context, worker int64, ids []int64) error
	Notifications(ctx context.Context, ids []int64) (map[int64]dispatch.Notification, error)
	SettlePush(ctx context.Context, c dispatch.PushDelivery, a dispatch.PushAttempt) error
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
	Name    string // shown in push_workers: the replica ("push-worker")

	Batch int // deliveries leased at once (200)
	// Lease is how long a worker may go without a heartbeat before another takes its leases
	// (15 s): for a host lost with its database session still open. A worker whose session
	// ended (the process died) loses them at the next beat of any other, within a second.
	Lease       time.Duration
	Poll        time.Duration // how often an idle worker looks (250 ms)
	Probe       time.Duration // while FCM is unreachable, how often one push is tried (1 s)
	Concurrency int           // notifications sent at once (16)
	MaxAttempts int           // retryable attempts FCM answered before giving up (15, about a day of backoff)
	SendTimeout time.Duration // bound on one Send (30 s)

	mu          sync.Mutex
	session     dispatch.PushWorkerSession
	unreachable atomic.Bool // the last send could not reach FCM at all
}

// errNotJoined: Drain before Join (or while the database is away and the worker could not join again).
var errNotJoined = errors.New("push worker: not a member of the push workers (Join first)")

func (w *Worker) defaults() {
	if w.Batch <= 0 {
		w.Batch = 200
	}
	if w.Lease <= 0 {
		w.Lease = 15 * time.Second
	}
	if w.Poll <= 0 {
		w.Poll = 250 * time.Millisecond
	}
	if w.Probe <= 0 {
		w.Probe = time.Second
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
	if w.Name == "" {
		w.Name = "push-worker"
	}
}

// heartbeat is how often the worker beats and looks for workers that are gone: a third of the
// lease, at most a second.
func (w *Worker) heartbeat() time.Duration { return min(w.Lease/3, time.Second) }

// Join makes the worker a member of the push workers (unless it is one), so that it may lease,
// and frees at once the leases of workers that are gone (a replica that restarts takes over its
// dead self's).
func (w *Worker) Join(ctx context.Context) error {
	w.defaults()
	if sess := w.current(); sess != nil {
		w.reap(ctx, sess.ID())
		return nil
	}
	sess, err := w.Store.JoinPushWorkers(ctx, w.Name)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.session = sess
	w.mu.Unlock()
	w.Log.Info("push worker joined", "worker_id", sess.ID())
	w.reap(ctx, sess.ID())
	return nil
}

// Leave gives up the worker's leases and its membership.
func (w *Worker) Leave(ctx context.Context) error {
	w.mu.Lock()
	sess := w.session
	w.session = nil
	w.mu.Unlock()
	if sess == nil {
		return nil
	}
	return sess.Leave(ctx)
}

// ID is the worker's id in push_workers (0 while it is not a member).
func (w *Worker) ID() int64 {
	if sess := w.current(); sess != nil {
		return sess.ID()
	}
	return 0
}

func (w *Worker) current() dispatch.PushWorkerSession {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.session
}

func (w *Worker) reap(ctx context.Context, self int64) {
	gone, freed, err := w.Store.ReapPushWorkers(ctx, self, w.Lease)
	switch {
	case err != nil && ctx.Err() == nil:
		w.Log.Warn("push workers: looking for gone workers", "err", err)
	case len(gone) > 0:
		w.Log.Warn("push workers gone; their leases freed", "workers", gone, "leases", freed)
	}
}

// keepAlive beats and reaps every heartbeat until ctx ends; a worker taken for gone, or whose
// session broke, joins again.
func (w *Worker) keepAlive(ctx context.Context) {
	t := time.NewTicker(w.heartbeat())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sess := w.current()
		if sess != nil {
			err := sess.Beat(ctx)
			if err == nil {
				w.reap(ctx, sess.ID())
				continue
			}
			if ctx.Err() != nil {
				return
			}
			w.Log.Warn("push worker lost its membership; joining again", "worker_id", sess.ID(), "err", err)
			_ = w.Leave(ctx)
		}
		if err := w.Join(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("push worker cannot join", "err", err)
		}
	}
}

// Run joins, drains until ctx ends, and leaves (its leases freed at once).
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	for ctx.Err() == nil {
		err := w.Join(ctx)
		if err == nil {
			break
		}
		w.Log.Warn("push worker cannot join", "err", err)
		sleep(ctx, w.heartbeat())
	}
	if ctx.Err() != nil {
		return
	}
	var alive sync.WaitGroup
	alive.Go(func() { w.keepAlive(ctx) })
	defer func() {
		alive.Wait()
		// Bounded: with the database away, the closed session frees the leases anyway.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.Leave(lctx); err != nil {
			w.Log.Warn("push worker leave", "err", err)
		}
	}()
	for ctx.Err() == nil {
		n, err := w.Drain(ctx)
		if err != nil && ctx.Err() == nil && !errors.Is(err, errNotJoined) {
			w.Log.Error("push outbox", "err", err)
		}
		switch {
		case w.unreachable.Load():
			sleep(ctx, w.Probe)
		case n == 0 || err != nil:
			sleep(ctx, w.Poll)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Drain leases one batch of due deliveries and settles each; it returns how many it leased.
// While FCM is unreachable the batch is one delivery, and what is still unsent when a send
// finds FCM unreachable is given back.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	w.defaults()
	sess := w.current()
	if sess == nil {
		return 0, errNotJoined
	}
	self := sess.ID()
	limit, probe := w.Batch, w.unreachable.Load()
	if probe {
		limit = 1
	}
	claims, err := w.Store.ClaimPushes(ctx, self, w.Now(), limit)
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
		return 0, errors.Join(err, w.Store.ReleasePushes(context.WithoutCancel(ctx), self, deliveryIDs(claims)))
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
	var unsent []dispatch.PushDelivery
	for _, who := range people {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, id := range byPerson[who] {
				if !probe && w.unreachable.Load() {
					mu.Lock()
					unsent = append(unsent, byNote[id]...)
					mu.Unlock()
					continue
				}
				if err := w.deliver(ctx, notes[id], byNote[id]); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(unsent) > 0 {
		if err := w.Store.ReleasePushes(context.WithoutCancel(ctx), self, deliveryIDs(unsent)); err != nil {
			firstErr = errors.Join(firstErr, fmt.Errorf("give back %d unsent deliveries: %w", len(unsent), err))
		}
	}
	return len(claims), firstErr
}

func deliveryIDs(cs []dispatch.PushDelivery) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
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
	started := w.Now()
	sctx, cancel := context.WithTimeout(ctx, w.SendTimeout)
	results := w.Sender.Send(sctx, tokens, Message(n))
	cancel()
	var errs error
	reached, unreachable := false, false
	for i, c := range claims {
		r := results[i]
		a := dispatch.PushAttempt{Next: w.Now(), MessageName: r.MessageName, Code: r.Code, HTTPStatus: r.HTTPStatus,
			RetryAfter: r.RetryAfter, Unreachable: r.Unreachable(), StartedAt: started, At: w.Now()}
		if r.Err != nil {
			a.Error = r.Err.Error()
		}
		unreachable = unreachable || a.Unreachable
		reached = reached || (!a.Unreachable && r.Code != fcm.CodeNotSent)
		switch {
		case r.Outcome == fcm.Delivered:
			a.Status = "delivered"
		case r.Outcome == fcm.TokenInvalid:
			a.Status = "token_invalid"
			if err := w.Store.DisableDevice(ctx, c.DeviceID, "fcm: "+r.Code); err != nil {
				errs = errors.Join(errs, err)
			}
		case a.Unreachable:
			// Nothing was sent: the worker's probe paces the tries, not the push's backoff, so the
			// push is due again the moment FCM answers.
			a.Status = "pending"
		case r.Outcome == fcm.Retryable && c.Attempts-c.Unreachable+1 < w.MaxAttempts:
			a.Status, a.Next = "pending", a.At.Add(w.Backoff.Delay(c.Attempts-c.Unreachable+1, r.RetryAfter))
		default:
			a.Status = "failed"
		}
		if w.Metrics != nil {
			w.Metrics.Push(string(r.Outcome))
		}
		if err := w.Store.SettlePush(context.WithoutCancel(ctx), c, a); err != nil {
			errs = errors.Join(errs, fmt.Errorf("settle delivery %d: %w", c.ID, err))
		}
		if a.Status != "delivered" && a.Status != "pending" {
			w.Log.Warn("push not delivered", "notification_id", n.ID, "device_id", c.DeviceID, "outcome", r.Outcome, "code", r.Code, "err", a.Error)
		}
	}
	switch {
	case reached && w.unreachable.Swap(false):
		w.Log.Info("FCM answers again; sending the backlog")
	case !reached && unreachable && !w.unreachable.Swap(true):
		w.Log.Warn("FCM unreachable; trying one push at a time until it answers", "err", results[0].Err)
	}
	return errs
}
