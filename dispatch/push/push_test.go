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
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/push"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

type bundle struct {
	t      *testing.T
	db     *dbtest.Schema
	store  *postgres.Store
	svc    *dispatch.Service
	fake   *fcmtest.Server
	worker *push.Worker
}

// setup: a real database, a Service whose notifier is the outbox, the real Firebase SDK pointed
// at the local FCM fake, and a worker with short backoffs.
func setup(t *testing.T) *bundle {
	t.Parallel()
	s := dbtest.New(t)
	store := postgres.New(s.Pool)
	svc := dispatch.NewService(store, dispatch.DefaultRules(), nil, nil)
	svc.Notifier = dispatch.Outbox{}
	fake := fcmtest.NewServer("fieldfix-test")
	t.Cleanup(fake.Close)
	client, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: "fieldfix-test", Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	w := &push.Worker{Store: store, Sender: client, Backoff: fcm.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Poll: 20 * time.Millisecond}
	return &bundle{t: t, db: s, store: store, svc: svc, fake: fake, worker: w}
}

var admin = dispatch.Actor{Subject: "admin", Role: dispatch.RoleAdmin}

// technicianWithDevices creates a technician on shift all week and registers their phones.
func (b *bundle) technicianWithDevices(sub string, tokens ...string) {
	b.t.Helper()
	var shifts []dispatch.Shift
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		shifts = append(shifts, dispatch.Shift{Day: d, Start: "00:00", End: "23:59"})
	}
	if _, err := b.svc.CreateTechnician(context.Background(), admin, dispatch.TechnicianRequest{Subject: sub, Name: sub + " Tech",
		Skills: []string{"washer"}, Home: dispatch.Location{Lat: 45.76, Lng: 4.84}, TimeZone: "UTC", WeeklyShifts: shifts}); err != nil {
		b.t.Fatal(err)
	}
	for _, tok := range tokens {
		if _, err := b.svc.RegisterDevice(context.Background(), dispatch.Actor{Subject: sub, Role: dispatch.RoleTechnician}, tok, "android", "2.0"); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *bundle) book() dispatch.Booking {
	b.t.Helper()
	bk, _, err := b.svc.CreateBooking(context.Background(), dispatch.Actor{Subject: "cust", Role: dispatch.RoleCustomer}, dispatch.BookingRequest{
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
	if m.Android.Priority != "high" || m.Android.CollapseKey != fmt.Sprintf("job-%d", job.ID) || (m.Android.TTL != "600s" && m.Android.TTL != "599s") {
		t.Fatalf("android %+v", m.Android)
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
// leased the push dies before sending; once the lease runs out, a new worker delivers it.
func TestKilledBetweenCommitAndSend(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	b.book() // committed; nothing sent yet
	if b.fake.Count() != 0 || b.count("SELECT count(*) FROM push_deliveries WHERE status = 'pending'") != 1 {
		t.Fatal("the push should wait in the outbox")
	}
	// A worker leases it and dies.
	now := time.Now()
	if claims, err := b.store.ClaimPushes(context.Background(), now, now.Add(300*time.Millisecond), 10); err != nil || len(claims) != 1 {
		t.Fatalf("claim %v %v", claims, err)
	}
	if n, _ := b.worker.Drain(context.Background()); n != 0 {
		t.Fatal("a leased push was taken twice")
	}
	time.Sleep(400 * time.Millisecond)
	if n, err := b.worker.Drain(context.Background()); err != nil || n != 1 || b.fake.DeliveredCount() != 1 {
		t.Fatalf("after the lease: drained %d, delivered %d (%v)", n, b.fake.DeliveredCount(), err)
	}
}

var errRollback = errors.New("rollback")

// TestNoPushForARolledBackChange: the outbox row goes with its transaction.
func TestNoPushForARolledBackChange(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-a1")
	err := b.store.Tx(context.Background(), func(st dispatch.Store) error {
		inTx := *b.svc
		inTx.Store = st
		if _, _, err := inTx.CreateBooking(context.Background(), dispatch.Actor{Subject: "cust", Role: dispatch.RoleCustomer}, dispatch.BookingRequest{
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

// TestCustomerNotificationsThroughFCM: the customer's phone receives, in order, confirmed (with
// the technician's first name), on the way (ETA), arrived and completed, through the real SDK.
func TestCustomerNotificationsThroughFCM(t *testing.T) {
	b := setup(t)
	b.technicianWithDevices("tech-a", "tok-tech")
	cust := dispatch.Actor{Subject: "cust", Role: dispatch.RoleCustomer}
	if _, err := b.svc.RegisterDevice(context.Background(), cust, "tok-customer", "ios", "3.1"); err != nil {
		t.Fatal(err)
	}
	bk := b.book()
	tech := dispatch.Actor{Subject: "tech-a", Role: dispatch.RoleTechnician}
	id := bk.CurrentJob().ID
	if _, err := b.svc.AcceptJob(context.Background(), tech, id); err != nil {
		t.Fatal(err)
	}
	for _, st := range []dispatch.JobStatus{dispatch.JobEnRoute, dispatch.JobOnSite, dispatch.JobCompleted} {
		if _, err := b.svc.UpdateJobStatus(context.Background(), tech, id, dispatch.StatusUpdate{Status: st}); err != nil {
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
	if fmt.Sprint(kinds) != "[confirmed on_the_way arrived completed]" {
		t.Fatalf("the customer's phone got %v", kinds)
	}
}
