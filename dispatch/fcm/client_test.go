package fcm_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// TestProofAndStockKindsBuild: the acceptance code, the service report, the return visit's window
// and a quote reach the customer's phone (each was refused as an unknown kind before), a
// low-stock alert (about a location, no job) the dispatcher's.
func TestProofAndStockKindsBuild(t *testing.T) {
	for _, p := range []fcm.Push{
		{Kind: fcm.KindAcceptanceCode, JobID: 4, BookingID: 3, Title: "Your acceptance code: 123456"},
		{Kind: fcm.KindServiceReport, JobID: 4, BookingID: 3, Title: "Your service report"},
		{Kind: fcm.KindRevisitPlanned, JobID: 5, BookingID: 3, Title: "We come back on Thursday"},
		{Kind: fcm.KindQuote, JobID: 4, BookingID: 3, Title: "A quote to approve"},
		{Kind: fcm.KindLowStock, Title: "Low stock: GSK-1 at Van of Ana", DeepLink: "fieldfix://stock?location=7"},
	} {
		m, err := fcm.Build(p, t0)
		if err != nil || m.Data["kind"] != string(p.Kind) {
			t.Fatalf("%s: %v", p.Kind, err)
		}
	}
	if _, err := fcm.Build(fcm.Push{Kind: fcm.KindServiceReport, Title: "Your service report"}, t0); !errors.Is(err, fcm.ErrInvalidPush) {
		t.Fatalf("a report without its visit built: %v", err)
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
