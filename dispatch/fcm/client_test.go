package fcm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"

	"github.com/fieldfix/fieldfix/dispatch/fcm"
	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
)

const project = "fieldfix-test"

// t0 is the send time every test's clock shows.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type testBundle struct {
	fake   *fcmtest.Server
	client *fcm.Client
}

func setup(t *testing.T) testBundle {
	t.Helper()
	fake := fcmtest.NewServer(project)
	t.Cleanup(fake.Close)
	client, err := fcm.NewClient(context.Background(), fcm.Config{
		ProjectID: project,
		Endpoint:  fake.URL, // without "/v1": NewClient adds it
		Now:       func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	return testBundle{fake: fake, client: client}
}

func offer() fcm.Push {
	return fcm.Push{
		Kind:           fcm.KindOffer,
		JobID:          42,
		BookingID:      17,
		Title:          "New job: washer repair",
		Body:           "Drum does not spin · 12 Rue de la Paix · 10:30",
		DeepLink:       "fieldfix://jobs/42",
		OfferExpiresAt: t0.Add(10 * time.Minute),
	}
}

func sendOne(t *testing.T, b testBundle, token string, p fcm.Push) fcm.DeviceResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := b.client.Send(ctx, []string{token}, p)
	if len(res) != 1 || res[0].Token != token {
		t.Fatalf("results %+v, want one for %s", res, token)
	}
	return res[0]
}

func TestOfferWireFormat(t *testing.T) {
	b := setup(t)

	res := sendOne(t, b, "tech-phone-1", offer())
	if res.Outcome != fcm.Delivered || res.MessageName != "projects/fieldfix-test/messages/1" || res.Err != nil {
		t.Fatalf("result %+v, want delivered as message 1", res)
	}

	got := b.fake.Messages()
	if len(got) != 1 {
		t.Fatalf("fake received %d messages, want 1", len(got))
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"message": map[string]any{
			"token": "tech-phone-1",
			"data": map[string]any{
				"kind":             "offer",
				"job_id":           "42",
				"booking_id":       "17",
				"offer_expires_at": "2026-03-02T09:10:00Z",
				"deep_link":        "fieldfix://jobs/42",
			},
			"notification": map[string]any{
				"title": "New job: washer repair",
				"body":  "Drum does not spin · 12 Rue de la Paix · 10:30",
			},
			"android": map[string]any{
				"collapse_key": "job-42",
				"priority":     "high",
				"ttl":          "600s",
				"notification": map[string]any{"tag": "job-42"},
			},
			"apns": map[string]any{
				"headers": map[string]any{
					"apns-priority":    "10",
					"apns-push-type":   "alert",
					"apns-expiration":  strconv.FormatInt(t0.Add(10*time.Minute).Unix(), 10),
					"apns-collapse-id": "job-42",
				},
				"payload": map[string]any{
					"aps": map[string]any{"sound": "default", "category": "offer", "thread-id": "job-42"},
				},
			},
		},
	}
	if !reflect.DeepEqual(body, want) {
		gotJSON, _ := json.MarshalIndent(body, "", "  ")
		wantJSON, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("fake received\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	if v := got[0].Header.Get("X-Goog-Api-Format-Version"); v != "2" {
		t.Errorf("X-GOOG-API-FORMAT-VERSION %q, want 2", v)
	}
	if a := got[0].Header.Get("Authorization"); a != "" {
		t.Errorf("Authorization %q sent without credentials", a)
	}
}

func TestBuildTTLAndCollapse(t *testing.T) {
	tests := []struct {
		name         string
		push         fcm.Push
		wantTTL      time.Duration
		wantCollapse string
	}{
		{"offer lives until it expires", offer(), 10 * time.Minute, "job-42"},
		{"offer TTL is never longer than the offer",
			func() fcm.Push { p := offer(); p.TTL = time.Hour; return p }(), 10 * time.Minute, "job-42"},
		{"offer TTL may be shorter",
			func() fcm.Push { p := offer(); p.TTL = 2 * time.Minute; return p }(), 2 * time.Minute, "job-42"},
		{"fractions of a second are dropped",
			func() fcm.Push {
				p := offer()
				p.OfferExpiresAt = t0.Add(90*time.Second + 700*time.Millisecond)
				return p
			}(),
			90 * time.Second, "job-42"},
		{"no offer: default TTL",
			fcm.Push{Kind: fcm.KindOnTheWay, JobID: 42, BookingID: 17, Title: "Your technician is on the way"},
			fcm.DefaultTTL, "job-42"},
		{"explicit TTL", fcm.Push{Kind: fcm.KindReminder, JobID: 42, Title: "Visit at 10:30", TTL: 15 * time.Minute},
			15 * time.Minute, "job-42"},
		{"TTL capped at FCM's 28 days", fcm.Push{Kind: fcm.KindFeedbackRequest, BookingID: 17, Title: "How did we do?", TTL: 60 * 24 * time.Hour},
			fcm.MaxTTL, "booking-17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := fcm.Build(tt.push, t0)
			if err != nil {
				t.Fatal(err)
			}
			if *m.Android.TTL != tt.wantTTL {
				t.Errorf("android ttl %v, want %v", *m.Android.TTL, tt.wantTTL)
			}
			if exp := m.APNS.Headers["apns-expiration"]; exp != strconv.FormatInt(t0.Add(tt.wantTTL).Unix(), 10) {
				t.Errorf("apns-expiration %s, want now+%v", exp, tt.wantTTL)
			}
			if m.Android.CollapseKey != tt.wantCollapse || m.APNS.Headers["apns-collapse-id"] != tt.wantCollapse {
				t.Errorf("collapse %q / %q, want %q", m.Android.CollapseKey, m.APNS.Headers["apns-collapse-id"], tt.wantCollapse)
			}
			if _, ok := m.Data["offer_expires_at"]; ok != !tt.push.OfferExpiresAt.IsZero() {
				t.Errorf("offer_expires_at present=%v for %s", ok, tt.push.Kind)
			}
			if m.Data["kind"] != string(tt.push.Kind) {
				t.Errorf("kind %q", m.Data["kind"])
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name string
		push fcm.Push
		want error
	}{
		{"unknown kind", fcm.Push{Kind: "promo", JobID: 1, Title: "Sale"}, fcm.ErrInvalidPush},
		{"no ids", fcm.Push{Kind: fcm.KindConfirmed, Title: "Booked"}, fcm.ErrInvalidPush},
		{"no title", fcm.Push{Kind: fcm.KindConfirmed, BookingID: 3}, fcm.ErrInvalidPush},
		{"offer without expiry", fcm.Push{Kind: fcm.KindOffer, JobID: 1, Title: "Job"}, fcm.ErrInvalidPush},
		{"expired offer", func() fcm.Push { p := offer(); p.OfferExpiresAt = t0.Add(-time.Second); return p }(), fcm.ErrOfferExpired},
		{"title alone too big", func() fcm.Push { p := offer(); p.Title = strings.Repeat("T", 5000); return p }(), fcm.ErrPayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			if _, err := fcm.Build(tt.push, t0); !errors.Is(err, tt.want) {
				t.Fatalf("Build: %v, want %v", err, tt.want)
			}
			res := sendOne(t, b, "tok", tt.push)
			if res.Outcome != fcm.Failed || !errors.Is(res.Err, tt.want) {
				t.Fatalf("Send: %+v, want failed with %v", res, tt.want)
			}
			if n := b.fake.Count(); n != 0 {
				t.Fatalf("fake received %d requests for a push that cannot be built", n)
			}
		})
	}
}

func TestLongBodyIsTruncatedToFit(t *testing.T) {
	b := setup(t)
	p := offer()
	p.Body = strings.Repeat("Kühlschrank <brummt> & tropft. ", 300) // multi-byte runes and JSON escapes

	res := sendOne(t, b, "tok", p)
	if res.Outcome != fcm.Delivered {
		t.Fatalf("result %+v, want delivered", res)
	}
	got := b.fake.Messages()[0]
	body := got.Message.Notification.Body
	if !strings.HasSuffix(body, "…") || !utf8.ValidString(body) || !strings.HasPrefix(p.Body, strings.TrimSuffix(body, "…")) {
		t.Fatalf("body not truncated cleanly: ...%q", body[max(0, len(body)-40):])
	}
	size, err := fcm.PayloadSize(got.Message)
	if err != nil {
		t.Fatal(err)
	}
	if size > fcm.MaxPayloadBytes || size < fcm.MaxPayloadBytes-64 {
		t.Fatalf("payload %d bytes, want just under %d", size, fcm.MaxPayloadBytes)
	}
	if len(got.Body) > fcm.MaxPayloadBytes+len(`{"message":{"token":"tok",}}`) {
		t.Fatalf("request body %d bytes", len(got.Body))
	}

	// A body that fits is left alone.
	short := offer()
	if m, _ := fcm.Build(short, t0); m.Notification.Body != short.Body {
		t.Fatalf("short body changed to %q", m.Notification.Body)
	}
}

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

	start := time.Now()
	res := b.client.Send(context.Background(), tokens, offer())
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("120 devices took %v; SendEach should overlap them", el)
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

func TestNewClientConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := fcm.NewClient(ctx, fcm.Config{Endpoint: "http://127.0.0.1:1"}); err == nil {
		t.Error("no project id: want an error")
	}
	if _, err := fcm.NewClient(ctx, fcm.Config{ProjectID: project, CredentialsFile: t.TempDir() + "/missing.json"}); err == nil {
		t.Error("missing credentials file: want an error")
	}
	for in, want := range map[string]string{
		"http://127.0.0.1:9000":           "http://127.0.0.1:9000/v1",
		"http://127.0.0.1:9000/":          "http://127.0.0.1:9000/v1",
		"http://127.0.0.1:9000/v1":        "http://127.0.0.1:9000/v1",
		"https://staging.example/fcm/v1/": "https://staging.example/fcm/v1",
	} {
		if got := fcm.EndpointURL(in); got != want {
			t.Errorf("EndpointURL(%q) = %q, want %q", in, got, want)
		}
	}

	// Endpoint given with "/v1" works the same.
	fake := fcmtest.NewServer(project)
	defer fake.Close()
	c, err := fcm.NewClient(ctx, fcm.Config{ProjectID: project, Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	p := offer()
	p.OfferExpiresAt = time.Now().Add(time.Minute)
	if r := c.Send(ctx, []string{"tok"}, p)[0]; r.Outcome != fcm.Delivered {
		t.Fatalf("%+v", r)
	}
	if c.Send(ctx, nil, p) != nil {
		t.Fatal("no tokens: want no results")
	}
}

func TestNewClientWithCredentialsFileAuthenticates(t *testing.T) {
	fake := fcmtest.NewServer(project)
	defer fake.Close()
	creds := t.TempDir() + "/service-account.json"
	if err := fake.WriteServiceAccount(creds); err != nil {
		t.Fatal(err)
	}
	c, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: project, CredentialsFile: creds, Endpoint: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := offer()
	p.OfferExpiresAt = time.Now().Add(time.Minute)
	if r := c.Send(context.Background(), []string{"tok"}, p)[0]; r.Outcome != fcm.Delivered {
		t.Fatalf("%+v", r)
	}
	if a := fake.Messages()[0].Header.Get("Authorization"); a != "Bearer "+fcmtest.AccessToken {
		t.Fatalf("Authorization %q, want the fake's access token", a)
	}

	// Credentials of another kind are refused before any request.
	other := t.TempDir() + "/external.json"
	if err := os.WriteFile(other, []byte(`{"type":"external_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: project, CredentialsFile: other}); err == nil {
		t.Fatal("external_account credentials: want an error")
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
