package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/fcm"
	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/push"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

type bundle struct {
	t      *testing.T
	db     *dbtest.Schema
	store  *postgres.Store
	svc    *services.Set
	fake   *fcmtest.Server
	worker *push.Worker
}

// setup: a real database, a Service whose notifier is the outbox, the real Firebase SDK pointed
// at the local FCM fake, and a worker with short backoffs.
func setup(t *testing.T) *bundle {
	t.Parallel()
	s := dbtest.New(t)
	store := postgres.New(s.Pool)
	svc := services.New(store, dispatch.DefaultRules(), nil, nil)
	svc.Env.Notifier = dispatch.Outbox{}
	fake := fcmtest.NewServer("fieldfix-test")
	t.Cleanup(fake.Close)
	client, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: "fieldfix-test", Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{t: t, db: s, store: store, svc: svc, fake: fake, worker: newWorker(t, store, client)}
}

// newWorker is a worker with short backoffs that has joined the push workers (and leaves when
// the test ends).
func newWorker(t *testing.T, store *postgres.Store, sender push.Sender) *push.Worker {
	t.Helper()
	w := &push.Worker{Store: store.Pushes(), Sender: sender, Backoff: fcm.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Poll: 20 * time.Millisecond, Probe: 50 * time.Millisecond}
	if err := w.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Leave(context.Background()) })
	return w
}

var admin = dispatch.Actor{Subject: "admin", Role: dispatch.RoleAdmin}

// technicianWithDevices creates a technician on shift all week and registers their phones.
func (b *bundle) technicianWithDevices(sub string, tokens ...string) {
	b.t.Helper()
	var shifts []dispatch.Shift
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		shifts = append(shifts, dispatch.Shift{Day: d, Start: "00:00", End: "23:59"})
	}
	if _, err := b.svc.Roster.CreateTechnician(context.Background(), admin, roster.TechnicianRequest{Subject: sub, Name: sub + " Tech",
		Skills: []string{"washer"}, Home: dispatch.Location{Lat: 45.76, Lng: 4.84}, TimeZone: "UTC", WeeklyShifts: shifts}); err != nil {
		b.t.Fatal(err)
	}
	for _, tok := range tokens {
		if _, err := b.svc.Lifecycle.RegisterDevice(context.Background(), dispatch.Actor{Subject: sub, Role: dispatch.RoleTechnician}, tok, "android", "2.0"); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *bundle) book() dispatch.Booking {
	b.t.Helper()
	bk, _, err := b.svc.Intake.CreateBooking(context.Background(), dispatch.Actor{Subject: "cust", Role: dispatch.RoleCustomer}, intake.BookingRequest{
		Appliance: "washer", Problem: "leaks", Address: "Lyon", Location: dispatch.Location{Lat: 45.764, Lng: 4.8357}}, "", "")
	if err != nil {
		b.t.Fatal(err)
	}
	return bk
}

func (b *bundle) count(sql string, args ...any) int {
	b.t.Helper()
	var n int
	if err := b.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// TestOfferPushWireFormat: the exact JSON FCM receives for an offer.
func TestOfferPushWireFormat(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	bk := b.book()
	drained := time.Now()
	if n, err := b.worker.Drain(context.Background()); err != nil || n != 1 {
		t.Fatalf("drained %d (%v)", n, err)
	}
	reqs := b.fake.Messages()
	if len(reqs) != 1 {
		t.Fatalf("%d messages", len(reqs))
	}
	var body struct {
		Message struct {
			Token        string            `json:"token"`
			Data         map[string]string `json:"data"`
			Notification map[string]string `json:"notification"`
			Android      struct {
				Priority    string `json:"priority"`
				TTL         string `json:"ttl"`
				CollapseKey string `json:"collapse_key"`
			} `json:"android"`
			APNS struct {
				Headers map[string]string `json:"headers"`
			} `json:"apns"`
		} `json:"message"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	m, job := body.Message, bk.CurrentJob()
	if m.Token != "tok-a1" || m.Data["kind"] != "offer" || m.Data["job_id"] != fmt.Sprint(job.ID) || m.Data["booking_id"] != fmt.Sprint(bk.ID) ||
		m.Data["deep_link"] != fmt.Sprintf("fieldfix://jobs/%d", job.ID) || m.Data["offer_expires_at"] != job.OfferExpiresAt.Format(time.RFC3339) {
		t.Fatalf("data %v token %s", m.Data, m.Token)
	}
	if !strings.HasPrefix(m.Notification["title"], "New job") || m.Notification["body"] == "" {
		t.Fatalf("notification %v", m.Notification)
	}
	// TTL: the offer's life left when the message was built, rounded down to whole seconds. It was
	// built between the drain's start and FCM's receipt, so it lies between the life left at those
	// two instants (less the rounding), however slow the machine.
	ttl, err := time.ParseDuration(m.Android.TTL)
	// The worker reads the expiry from the notification, in RFC 3339's whole seconds.
	expires := job.OfferExpiresAt.Truncate(time.Second)
	atDrain, atReceipt := expires.Sub(drained), expires.Sub(reqs[0].ReceivedAt)
	if m.Android.Priority != "high" || m.Android.CollapseKey != fmt.Sprintf("job-%d", job.ID) ||
		err != nil || ttl > 600*time.Second || ttl != ttl.Truncate(time.Second) || ttl > atDrain || ttl <= atReceipt-time.Second {
		t.Fatalf("android %+v; the offer had %v left at the drain, %v at receipt", m.Android, atDrain, atReceipt)
	}
	if m.APNS.Headers["apns-priority"] != "10" || m.APNS.Headers["apns-push-type"] != "alert" {
		t.Fatalf("apns %v", m.APNS.Headers)
	}
	if len(reqs[0].Body) > fcm.MaxPayloadBytes+200 {
		t.Fatalf("payload %d bytes", len(reqs[0].Body))
	}
	if b.count("SELECT count(*) FROM push_deliveries WHERE status = 'delivered' AND message_name <> ''") != 1 ||
		b.count("SELECT count(*) FROM push_attempts WHERE outcome = 'delivered'") != 1 {
		t.Fatal("delivery not recorded")
	}
}

// TestOutageThenRecovery: FCM refuses for a while (429 with Retry-After), then recovers; every
// push is delivered and every attempt recorded.
func TestOutageThenRecovery(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	b.fake.FailFor(800*time.Millisecond, fcmtest.QuotaExceeded(100*time.Millisecond))
	for range 5 {
		b.book()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.worker.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for b.count("SELECT count(*) FROM push_deliveries WHERE status <> 'delivered'") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("undelivered after the outage: %d", b.count("SELECT count(*) FROM push_deliveries WHERE status <> 'delivered'"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	total := b.count("SELECT count(*) FROM push_deliveries")
	if total < 5 || b.count("SELECT count(*) FROM push_attempts WHERE outcome = 'retryable'") == 0 {
		t.Fatalf("%d deliveries; retries recorded: %d", total, b.count("SELECT count(*) FROM push_attempts WHERE outcome = 'retryable'"))
	}
	if b.fake.DeliveredCount() != total {
		t.Fatalf("fake delivered %d of %d", b.fake.DeliveredCount(), total)
	}
}

// TestUnregisteredTokenIsDisabled: one phone's token is dead; it is disabled, not retried, and
// the technician's other phone still gets the push.
func TestUnregisteredTokenIsDisabled(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-dead", "tok-alive")
	b.fake.FailToken(fcmtest.Unregistered(), "tok-dead")
	b.book()
	for range 3 {
		if _, err := b.worker.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.fake.Messages(); len(got) != 1 || got[0].Token != "tok-alive" {
		t.Fatalf("delivered %v", got)
	}
	if b.count("SELECT count(*) FROM devices WHERE token = 'tok-dead' AND NOT active") != 1 {
		t.Fatal("dead token still active")
	}
	if b.count("SELECT count(*) FROM push_attempts a JOIN push_deliveries d ON d.id = a.delivery_id WHERE d.token = 'tok-dead'") != 1 {
		t.Fatal("a dead token was tried more than once")
	}
	// The next push skips the disabled device.
	b.book()
	if _, err := b.worker.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.count("SELECT count(*) FROM push_deliveries WHERE token = 'tok-dead'") != 1 {
		t.Fatal("a disabled device was enqueued again")
	}
}

// TestKilledBetweenCommitAndSend: the change commits while no worker runs, and a worker that
// leased the push dies before sending (PostgreSQL ends its session, as when its process is
// killed); the next worker to beat frees the lease at once and delivers it.
func TestKilledBetweenCommitAndSend(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	b.book() // committed; nothing sent yet
	if b.fake.Count() != 0 || b.count("SELECT count(*) FROM push_deliveries WHERE status = 'pending'") != 1 {
		t.Fatal("the push should wait in the outbox")
	}
	// Another worker leases it and dies.
	dying := newWorker(t, b.store, nil)
	if n, err := b.claimFor(dying); err != nil || n != 1 {
		t.Fatalf("claim %d %v", n, err)
	}
	if n, _ := b.worker.Drain(context.Background()); n != 0 {
		t.Fatal("a leased push was taken twice")
	}
	b.killSession(dying)
	start := time.Now()
	b.run(b.worker)
	if _, err := b.fake.WaitMessages(timeout(t, 10*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	t.Logf("taken over and delivered %v after the dead worker's session ended", time.Since(start).Round(time.Millisecond))
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the dead worker's lease held the push for %v", took)
	}
}

// TestSilentWorkerLosesItsLeases: a worker whose session stays open but that stops beating (its
// host is lost) keeps its leases for Lease, then another worker takes them; a worker that beats
// keeps them.
func TestSilentWorkerLosesItsLeases(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	b.book()
	silent := newWorker(t, b.store, nil)
	if n, err := b.claimFor(silent); err != nil || n != 1 {
		t.Fatalf("claim %d %v", n, err)
	}
	b.worker.Lease = 400 * time.Millisecond
	b.run(b.worker)
	time.Sleep(200 * time.Millisecond)
	if b.fake.Count() != 0 {
		t.Fatal("a lease was taken from a worker silent for less than the lease")
	}
	if _, err := b.fake.WaitMessages(timeout(t, 10*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	if b.count("SELECT count(*) FROM push_workers") != 1 {
		t.Fatal("the silent worker is still registered")
	}
}

// TestLiveWorkerKeepsItsLeases: a second worker running beside one that holds a lease and beats
// does not take it, however long the send takes.
func TestLiveWorkerKeepsItsLeases(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	// A send that outlasts several leases. The lease is long enough that a loaded machine still
	// beats in time (a beat every third of it), short enough that a taken lease shows in seconds.
	b.fake.SetLatency(5 * time.Second)
	holder := newWorker(t, b.store, b.worker.Sender)
	holder.Lease, b.worker.Lease = 1500*time.Millisecond, 1500*time.Millisecond
	b.run(holder)
	b.book()
	for b.count("SELECT count(*) FROM push_deliveries WHERE leased_by IS NOT NULL") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	b.run(b.worker)
	if _, err := b.fake.WaitMessages(timeout(t, 10*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)        // a taken lease would show as a second request by now
	if n := b.fake.Arrived(); n != 1 { // arrivals, answered or not: a second send shows at once
		t.Fatalf("FCM got %d requests for one push: a live worker's lease was taken", n)
	}
}

// TestDeadFCMFailsFastAndTheBacklogDrains: FCM refuses connections while pushes queue. Each
// failed attempt takes milliseconds and records why; the worker then tries one push at a time
// instead of hammering; when FCM listens again the backlog goes out at full concurrency.
func TestDeadFCMFailsFastAndTheBacklogDrains(t *testing.T) {
	b := setup(t)
	const people = 40
	for i := range people {
		b.technicianWithDevices(fmt.Sprintf("tech-%02d", i), fmt.Sprintf("tok-%02d", i))
	}
	b.fake.Stop()
	b.run(b.worker)
	if _, err := b.db.Pool.Exec(context.Background(), `INSERT INTO notifications (recipient_kind, recipient_subject, kind, job_id, booking_id, title, body, data, created_at)
		SELECT 'technician', owner_subject, 'change', id, id, 'Job moved', 'Now at 15:00.', '{}', now() FROM devices`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(context.Background(), `INSERT INTO push_deliveries (notification_id, device_id, token, status, next_attempt_at, created_at, updated_at)
		SELECT n.id, d.id, d.token, 'pending', now(), now(), now() FROM notifications n JOIN devices d ON d.owner_subject = n.recipient_subject`); err != nil {
		t.Fatal(err)
	}
	outage := 700 * time.Millisecond
	time.Sleep(outage)
	if err := b.fake.Start(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	for b.count("SELECT count(*) FROM push_deliveries WHERE status <> 'delivered'") > 0 {
		if time.Since(up) > 10*time.Second {
			t.Fatalf("%d pushes undelivered 10 s after FCM came back", b.count("SELECT count(*) FROM push_deliveries WHERE status <> 'delivered'"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	drained := time.Since(up)
	var failedN, withCause, refused int
	var slowest float64
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE code = 'UNREACHABLE' AND error <> ''),
		count(*) FILTER (WHERE error LIKE '%connection refused%'), coalesce(max(extract(epoch FROM at - started_at)), 0)
		FROM push_attempts WHERE outcome <> 'delivered'`).Scan(&failedN, &withCause, &refused, &slowest); err != nil {
		t.Fatal(err)
	}
	t.Logf("FCM down %v: %d failed attempts (%d with their cause), the slowest %.0f ms; backlog of %d drained %v after FCM came back",
		outage, failedN, withCause, slowest*1000, people, drained.Round(time.Millisecond))
	if failedN == 0 || withCause != failedN || refused != failedN {
		t.Errorf("%d failed attempts, %d with code UNREACHABLE and an error, %d saying connection refused", failedN, withCause, refused)
	}
	if slowest > 1 {
		t.Errorf("an attempt at a refused connection took %.1f s", slowest)
	}
	// One round of concurrent sends finds FCM down; after that one push per probe (50 ms here),
	// not the whole backlog again and again.
	if limit := 16 + int(outage/(50*time.Millisecond))*2 + 4; failedN > limit {
		t.Errorf("%d failed attempts during a %v outage, want at most %d", failedN, outage, limit)
	}
	if b.count("SELECT count(*) FROM push_deliveries WHERE status = 'delivered' AND attempts - unreachable = 1") != people {
		t.Error("attempts that never reached FCM were counted towards giving up")
	}
}

// run runs w until the test ends.
func (b *bundle) run(w *push.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	b.t.Cleanup(func() { cancel(); <-done })
}

// claimFor leases every due delivery to w, as w's Drain would before sending.
func (b *bundle) claimFor(w *push.Worker) (int, error) {
	claims, err := b.store.Pushes().ClaimPushes(context.Background(), w.ID(), time.Now(), 100)
	return len(claims), err
}

// killSession ends w's database session, as PostgreSQL does when w's process dies.
func (b *bundle) killSession(w *push.Worker) {
	b.t.Helper()
	var ok bool
	err := b.db.Pool.QueryRow(context.Background(), `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
		JOIN push_workers w ON l.locktype = 'advisory' AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = w.lock_key
		WHERE w.id = $1`, w.ID()).Scan(&ok)
	if err != nil || !ok {
		b.t.Fatalf("terminate the worker's session: %v", err)
	}
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var errRollback = errors.New("rollback")

// TestNoPushForARolledBackChange: the outbox row goes with its transaction.
func TestNoPushForARolledBackChange(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	err := b.store.Intake().Tx(context.Background(), func(st intake.Store) error {
		inTx := *b.svc.Intake
		inTx.Store = st
		if _, _, err := inTx.CreateBooking(context.Background(), dispatch.Actor{Subject: "cust", Role: dispatch.RoleCustomer}, intake.BookingRequest{
			Appliance: "washer", Problem: "leaks", Address: "Lyon", Location: dispatch.Location{Lat: 45.764, Lng: 4.8357}}, "", ""); err != nil {
			return err
		}
		if b.count("SELECT count(*) FROM push_deliveries") != 0 {
			return errors.New("visible before commit") // another connection must not see it
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if n, _ := b.worker.Drain(context.Background()); n != 0 || b.fake.Count() != 0 || b.count("SELECT count(*) FROM push_deliveries") != 0 {
		t.Fatal("a rolled-back change pushed")
	}
}

// TestCustomerNotificationsThroughFCM: the customer's phone receives, in order, received,
// confirmed (with the technician's first name), on the way (ETA), arrived, the service report and
// completed, through the real SDK (received and the report were refused as unknown kinds until
// fcm knew them).
func TestCustomerNotificationsThroughFCM(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-tech")
	cust := dispatch.Actor{Subject: "cust", Role: dispatch.RoleCustomer}
	if _, err := b.svc.Lifecycle.RegisterDevice(context.Background(), cust, "tok-customer", "ios", "3.1"); err != nil {
		t.Fatal(err)
	}
	bk := b.book()
	tech := dispatch.Actor{Subject: "tech-a", Role: dispatch.RoleTechnician}
	id := bk.CurrentJob().ID
	if _, err := b.svc.Lifecycle.AcceptJob(context.Background(), tech, id); err != nil {
		t.Fatal(err)
	}
	for _, st := range []dispatch.JobStatus{dispatch.JobEnRoute, dispatch.JobOnSite, dispatch.JobCompleted} {
		if _, err := b.svc.Lifecycle.UpdateJobStatus(context.Background(), tech, id, dispatch.StatusUpdate{Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	// One drain takes them all at once: the worker keeps one person's pushes in order.
	if _, err := b.worker.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range b.fake.Messages() {
		if m.Token == "tok-customer" {
			kinds = append(kinds, m.Message.Data["kind"])
			if m.Message.Data["kind"] == "confirmed" && !strings.Contains(m.Message.Notification.Body, "tech-a") {
				t.Errorf("confirmed without the technician's first name: %q", m.Message.Notification.Body)
			}
			if m.Message.Data["kind"] == "on_the_way" && !strings.Contains(m.Message.Notification.Body, "Expected at") {
				t.Errorf("on the way without an ETA: %q", m.Message.Notification.Body)
			}
		}
	}
	if fmt.Sprint(kinds) != "[received confirmed on_the_way arrived service_report completed]" {
		t.Fatalf("the customer's phone got %v", kinds)
	}
}
