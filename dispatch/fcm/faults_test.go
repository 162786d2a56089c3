package fcm_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"github.com/fieldfix/fieldfix/dispatch/fcm"
	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
	"google.golang.org/api/option"
)

func TestClassifiesFaults(t *testing.T) {
	tests := []struct {
		name           string
		fault          fcmtest.Fault
		want           fcm.Outcome
		wantCode       string
		wantStatus     int
		wantRetryAfter time.Duration
	}{
		// Retry-After above the SDK's 2-minute ceiling: the SDK gives up at once and says why.
		{"503 with Retry-After", fcmtest.Unavailable(3 * time.Minute), fcm.Retryable, "UNAVAILABLE", 503, 3 * time.Minute},
		{"429 quota", fcmtest.QuotaExceeded(30 * time.Second), fcm.Retryable, "QUOTA_EXCEEDED", 429, 30 * time.Second},
		{"429 without Retry-After", fcmtest.QuotaExceeded(0), fcm.Retryable, "QUOTA_EXCEEDED", 429, 0},
		{"500 internal", fcmtest.Internal(), fcm.Retryable, "INTERNAL", 500, 0},
		{"404 unregistered", fcmtest.Unregistered(), fcm.TokenInvalid, "UNREGISTERED", 404, 0},
		{"400 invalid token", fcmtest.InvalidToken(), fcm.TokenInvalid, "INVALID_ARGUMENT", 400, 0},
		{"400 about the message, not the token",
			fcmtest.Fault{HTTPStatus: 400, Status: "INVALID_ARGUMENT", ErrorCode: "INVALID_ARGUMENT",
				Message: "Invalid value at 'message.android.ttl'"}, fcm.Failed, "INVALID_ARGUMENT", 400, 0},
		{"403 sender mismatch",
			fcmtest.Fault{HTTPStatus: 403, Status: "PERMISSION_DENIED", ErrorCode: "SENDER_ID_MISMATCH",
				Message: "SenderId mismatch"}, fcm.Failed, "SENDER_ID_MISMATCH", 403, 0},
		{"401 APNs credentials",
			fcmtest.Fault{HTTPStatus: 401, Status: "UNAUTHENTICATED", ErrorCode: "THIRD_PARTY_AUTH_ERROR",
				Message: "Auth error from APNS or Web Push Service"}, fcm.Failed, "THIRD_PARTY_AUTH_ERROR", 401, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			b.fake.FailToken(tt.fault, "tok")

			res := sendOne(t, b, "tok", offer())
			if res.Outcome != tt.want || res.Code != tt.wantCode || res.HTTPStatus != tt.wantStatus ||
				res.RetryAfter != tt.wantRetryAfter || res.Err == nil || res.MessageName != "" {
				t.Fatalf("result %+v\nwant outcome %s code %s status %d retry after %v",
					res, tt.want, tt.wantCode, tt.wantStatus, tt.wantRetryAfter)
			}
			if n := b.fake.Count(); n != 1 {
				t.Fatalf("fake received %d requests, want 1 (no hidden retries)", n)
			}
		})
	}
}

func TestSlowReplyTimesOutAsRetryable(t *testing.T) {
	b := setup(t)
	b.fake.SetLatency(5 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := b.client.Send(ctx, []string{"tok"}, offer())[0]
	if res.Outcome != fcm.Retryable || res.Code != "DEADLINE_EXCEEDED" {
		t.Fatalf("result %+v, want retryable deadline exceeded", res)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Send took %v after its deadline", el)
	}
}

func TestOneUnregisteredDeviceDoesNotStopTheOthers(t *testing.T) {
	b := setup(t)
	b.fake.FailToken(fcmtest.Unregistered(), "old-phone")
	tokens := []string{"old-phone", "new-phone", "tablet"}

	res := b.client.Send(context.Background(), tokens, offer())
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	want := []fcm.Outcome{fcm.TokenInvalid, fcm.Delivered, fcm.Delivered}
	for i, r := range res {
		if r.Token != tokens[i] || r.Outcome != want[i] {
			t.Errorf("result %d: %s %s, want %s %s", i, r.Token, r.Outcome, tokens[i], want[i])
		}
	}
	got := map[string]bool{}
	for _, m := range b.fake.Messages() {
		got[m.Token] = true
		if m.Message.Data["job_id"] != "42" {
			t.Errorf("message to %s lost its data: %v", m.Token, m.Message.Data)
		}
	}
	if !reflect.DeepEqual(got, map[string]bool{"new-phone": true, "tablet": true}) {
		t.Fatalf("delivered to %v", got)
	}
}

func TestManyDevicesAreSentConcurrently(t *testing.T) {
	b := setup(t)
	b.fake.SetLatency(100 * time.Millisecond)
	var tokens []string
	for i := range 120 {
		tokens = append(tokens, fmt.Sprintf("device-%03d", i))
	}
	b.fake.FailToken(fcmtest.InvalidToken(), "device-007")

	res := b.client.Send(context.Background(), tokens, offer())
	// Overlap is counted at the fake, not timed: a busy machine makes any time bound flaky.
	if n := b.fake.MaxInFlight(); n < 10 {
		t.Fatalf("at most %d of 120 sends were in flight at once; SendEach should overlap them", n)
	}
	names := map[string]bool{}
	for i, r := range res {
		if r.Token != tokens[i] {
			t.Fatalf("result %d is for %s, want %s", i, r.Token, tokens[i])
		}
		if i == 7 {
			if r.Outcome != fcm.TokenInvalid {
				t.Fatalf("device-007: %+v", r)
			}
			continue
		}
		if r.Outcome != fcm.Delivered || names[r.MessageName] {
			t.Fatalf("device %d: %+v", i, r)
		}
		names[r.MessageName] = true
	}
	if n := b.fake.DeliveredCount(); n != 119 {
		t.Fatalf("fake delivered %d, want 119", n)
	}
}

func TestShortOutageIsAbsorbedBySDKRetry(t *testing.T) {
	// The SDK retries a 503 inside one call: at once, then after 1 s, 2 s, 4 s, or Retry-After.
	b := setup(t)
	b.fake.FailNext(1, fcmtest.Unavailable(time.Second))

	start := time.Now()
	res := sendOne(t, b, "tok", offer())
	if res.Outcome != fcm.Delivered {
		t.Fatalf("result %+v, want delivered", res)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("delivered after %v: the SDK did not honour Retry-After: 1", el)
	}
	reqs := b.fake.Requests()
	if len(reqs) != 2 || reqs[0].Status != 503 || reqs[1].Status != 200 {
		t.Fatalf("fake saw %d requests", len(reqs))
	}
}

func TestOutageThenRecoveryDeliversEveryPush(t *testing.T) {
	b := setup(t)
	const outage = 3
	b.fake.FailNext(outage, fcmtest.Unavailable(3*time.Minute))
	backoff := fcm.Backoff{Jitter: func() float64 { return 0.5 }}

	// What the delivery worker does: send, and on Retryable wait Backoff.Delay (here: add it up).
	var waited time.Duration
	attempts := 0
	for {
		attempts++
		res := sendOne(t, b, "tok", offer())
		if res.Outcome == fcm.Delivered {
			break
		}
		if res.Outcome != fcm.Retryable || res.RetryAfter != 3*time.Minute {
			t.Fatalf("attempt %d: %+v, want retryable after 3m", attempts, res)
		}
		if attempts > outage+2 {
			t.Fatal("never recovered")
		}
		d := backoff.Delay(attempts, res.RetryAfter)
		if d < res.RetryAfter {
			t.Fatalf("backoff %v ignores Retry-After %v", d, res.RetryAfter)
		}
		waited += d
	}
	if attempts != outage+1 || waited != outage*3*time.Minute {
		t.Fatalf("%d attempts, waited %v; want %d and %v", attempts, waited, outage+1, outage*3*time.Minute)
	}
	if b.fake.Count() != outage+1 || b.fake.DeliveredCount() != 1 {
		t.Fatalf("fake: %d requests, %d delivered", b.fake.Count(), b.fake.DeliveredCount())
	}
}

func TestOutageForADurationThenRecovery(t *testing.T) {
	b := setup(t)
	b.fake.FailFor(400*time.Millisecond, fcmtest.Unavailable(5*time.Minute))
	tokens := []string{"a", "b"}
	backoff := fcm.Backoff{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond, Jitter: func() float64 { return 0 }}

	pending := tokens
	delivered := map[string]bool{}
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 50 {
			t.Fatalf("still pending %v", pending)
		}
		var next []string
		for _, r := range b.client.Send(context.Background(), pending, offer()) {
			switch r.Outcome {
			case fcm.Delivered:
				delivered[r.Token] = true
			case fcm.Retryable:
				next = append(next, r.Token)
			default:
				t.Fatalf("%+v", r)
			}
		}
		pending = next
		if len(pending) > 0 {
			// Sleep the exponential part only; the 5-minute Retry-After is checked above.
			time.Sleep(backoff.Delay(attempt, 0))
		}
	}
	if len(delivered) != 2 || b.fake.DeliveredCount() != 2 {
		t.Fatalf("delivered %v, fake %d", delivered, b.fake.DeliveredCount())
	}
}

func TestOversizeMessageFromTheSDKIsAPermanentFailure(t *testing.T) {
	// Bypass Build to see how FCM's own 4 KB refusal is classified: not the token's fault.
	b := setup(t)
	app, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: project},
		option.WithEndpoint(b.fake.Endpoint()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	mc, err := app.Messaging(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = mc.Send(context.Background(), &messaging.Message{
		Token: "tok", Data: map[string]string{"blob": strings.Repeat("x", 5000)},
	})
	res := fcm.Classify("tok", "", err, t0)
	if res.Outcome != fcm.Failed || res.Code != "INVALID_ARGUMENT" || res.HTTPStatus != 400 {
		t.Fatalf("result %+v, want failed INVALID_ARGUMENT", res)
	}
	if b.fake.DeliveredCount() != 0 {
		t.Fatal("oversize message delivered")
	}
}

func TestClassifyRetryAfterDate(t *testing.T) {
	b := setup(t)
	// Reuse the fake for a real SDK error, then check the HTTP-date form on its own.
	b.fake.FailToken(fcmtest.QuotaExceeded(3*time.Minute), "tok")
	res := sendOne(t, b, "tok", offer())
	if res.RetryAfter != 3*time.Minute {
		t.Fatalf("retry after %v", res.RetryAfter)
	}
	if res := fcm.Classify("tok", "", context.Canceled, t0); res.Outcome != fcm.Retryable || res.Code != "CANCELLED" {
		t.Fatalf("cancelled: %+v", res)
	}
	if res := fcm.Classify("tok", "", errors.New("boom"), t0); res.Outcome != fcm.Failed {
		t.Fatalf("plain error: %+v", res)
	}
	if res := fcm.Classify("tok", "projects/p/messages/9", nil, t0); res.Outcome != fcm.Delivered || res.MessageName != "projects/p/messages/9" {
		t.Fatalf("nil error: %+v", res)
	}
}

// TestUnreachableFCMFailsFast: with nothing listening at the endpoint, a send fails in
// milliseconds as UNREACHABLE with the network error, for one token and for several, instead
// of going through the SDK's four retries of a network error (7 s).
func TestUnreachableFCMFailsFast(t *testing.T) {
	fake := fcmtest.NewServer(project)
	fake.Stop() // connections to its address are refused now
	client, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: project, Endpoint: fake.URL, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tokens := range [][]string{{"tok"}, {"tok-1", "tok-2", "tok-3"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		res := client.Send(ctx, tokens, offer())
		took := time.Since(start)
		cancel()
		t.Logf("%d token(s): %v", len(tokens), took)
		if took > time.Second {
			t.Errorf("%d token(s): a refused connection took %v to fail", len(tokens), took)
		}
		for _, r := range res {
			if r.Outcome != fcm.Retryable || r.Code != fcm.CodeUnreachable || !r.Unreachable() || r.HTTPStatus != 0 ||
				r.Err == nil || !strings.Contains(r.Err.Error(), "connection refused") {
				t.Errorf("result %+v (err %v), want retryable UNREACHABLE with the network error", r, r.Err)
			}
		}
	}
	// Once FCM listens again, the same client gets through.
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	if r := client.Send(context.Background(), []string{"tok"}, offer())[0]; r.Outcome != fcm.Delivered {
		t.Fatalf("after FCM came back: %+v", r)
	}
}

// TestEveryFailureHasACode: an answer FCM's SDK cannot read (a proxy's HTML error page) still
// says what happened.
func TestEveryFailureHasACode(t *testing.T) {
	b := setup(t)
	b.fake.FailToken(fcmtest.Fault{HTTPStatus: 502, Message: "<html>Bad Gateway</html>"}, "tok")
	r := sendOne(t, b, "tok", offer())
	if r.Outcome != fcm.Retryable || r.Code == "" || r.HTTPStatus != 502 {
		t.Fatalf("result %+v, want retryable with a code and the status", r)
	}
}
