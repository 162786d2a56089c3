package fcmtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
)

const project = "fieldfix-test"

func post(t *testing.T, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("reply is not JSON: %v: %s", err, raw)
	}
	return resp, got
}

func sendURL(s *fcmtest.Server) string {
	return s.Endpoint() + "/projects/" + project + "/messages:send"
}

func msg(token string) string {
	return `{"message":{"token":"` + token + `","data":{"job_id":"7"}}}`
}

func TestSuccessReplyNamesTheMessage(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()

	for i, want := range []string{"projects/fieldfix-test/messages/1", "projects/fieldfix-test/messages/2"} {
		resp, got := post(t, sendURL(s), msg("tok"))
		if resp.StatusCode != http.StatusOK || got["name"] != want {
			t.Fatalf("send %d: %d %v, want 200 name %q", i, resp.StatusCode, got, want)
		}
	}
	reqs := s.Messages()
	if len(reqs) != 2 || reqs[0].Token != "tok" || reqs[0].Message.Data["job_id"] != "7" ||
		string(reqs[0].Body) != msg("tok") || reqs[1].Name != "projects/fieldfix-test/messages/2" {
		t.Fatalf("recorded %+v", reqs)
	}
}

func TestValidateOnlyIsNotDelivered(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()
	_, got := post(t, sendURL(s), `{"validate_only":true,"message":{"token":"tok"}}`)
	if got["name"] != "projects/fieldfix-test/messages/fake_message_id" {
		t.Fatalf("dry run reply %v", got)
	}
	if s.Count() != 1 || s.DeliveredCount() != 0 {
		t.Fatalf("count %d delivered %d, want 1 and 0", s.Count(), s.DeliveredCount())
	}
}

func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name       string
		fault      fcmtest.Fault
		wantStatus int
		wantRPC    string
		wantCode   string
		retryAfter string
	}{
		{"unregistered", fcmtest.Unregistered(), 404, "NOT_FOUND", "UNREGISTERED", ""},
		{"invalid token", fcmtest.InvalidToken(), 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", ""},
		{"outage", fcmtest.Unavailable(90 * time.Second), 503, "UNAVAILABLE", "UNAVAILABLE", "90"},
		{"outage rounds up", fcmtest.Unavailable(1500 * time.Millisecond), 503, "UNAVAILABLE", "UNAVAILABLE", "2"},
		{"quota", fcmtest.QuotaExceeded(30 * time.Second), 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "30"},
		{"internal", fcmtest.Internal(), 500, "INTERNAL", "INTERNAL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fcmtest.NewServer(project)
			defer s.Close()
			s.FailToken(tt.fault, "bad")

			resp, got := post(t, sendURL(s), msg("bad"))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ra := resp.Header.Get("Retry-After"); ra != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, tt.retryAfter)
			}
			e := got["error"].(map[string]any)
			if e["code"] != float64(tt.wantStatus) || e["status"] != tt.wantRPC || e["message"] == "" {
				t.Errorf("error %v", e)
			}
			d := e["details"].([]any)[0].(map[string]any)
			if d["@type"] != "type.googleapis.com/google.firebase.fcm.v1.FcmError" || d["errorCode"] != tt.wantCode {
				t.Errorf("details %v", d)
			}
			if r := s.Requests(); len(r) != 1 || r[0].Status != tt.wantStatus || r[0].ErrorCode != tt.wantCode {
				t.Errorf("recorded %+v", r)
			}

			// Other tokens are not affected.
			if resp, _ := post(t, sendURL(s), msg("good")); resp.StatusCode != 200 {
				t.Errorf("other token: %d", resp.StatusCode)
			}
		})
	}
}

func TestInvalidTokenNamesTheField(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()
	s.FailToken(fcmtest.InvalidToken(), "bad")
	_, got := post(t, sendURL(s), msg("bad"))
	details := got["error"].(map[string]any)["details"].([]any)
	br := details[1].(map[string]any)
	fv := br["fieldViolations"].([]any)[0].(map[string]any)
	if br["@type"] != "type.googleapis.com/google.rpc.BadRequest" || fv["field"] != "message.token" {
		t.Fatalf("details %v", details)
	}
}

func TestFailNextThenRecovers(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()
	s.FailNext(2, fcmtest.Unavailable(time.Second))
	var statuses []int
	for range 3 {
		resp, _ := post(t, sendURL(s), msg("tok"))
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != 503 || statuses[1] != 503 || statuses[2] != 200 {
		t.Fatalf("statuses %v, want 503 503 200", statuses)
	}
}

func TestFailForADuration(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()
	s.FailFor(200*time.Millisecond, fcmtest.Unavailable(time.Second))
	if resp, _ := post(t, sendURL(s), msg("tok")); resp.StatusCode != 503 {
		t.Fatalf("during outage: %d", resp.StatusCode)
	}
	time.Sleep(250 * time.Millisecond)
	if resp, _ := post(t, sendURL(s), msg("tok")); resp.StatusCode != 200 {
		t.Fatalf("after outage: %d", resp.StatusCode)
	}
}

func TestRefusals(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()
	big := strings.Repeat("x", fcmtest.MaxPayloadBytes+1)
	tests := []struct {
		name, url, body string
		want            int
	}{
		{"other project", s.Endpoint() + "/projects/other/messages:send", msg("tok"), 403},
		{"unknown path", s.Endpoint() + "/projects/" + project + "/messages", msg("tok"), 404},
		{"batch API", s.URL + "/batch", msg("tok"), 404},
		{"not JSON", sendURL(s), `{`, 400},
		{"no target", sendURL(s), `{"message":{"data":{"a":"b"}}}`, 400},
		{"too big", sendURL(s), `{"message":{"token":"t","notification":{"body":"` + big + `"}}}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := post(t, tt.url, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.want, got)
			}
			if _, ok := got["error"].(map[string]any)["status"]; !ok {
				t.Fatalf("not a google.rpc error body: %v", got)
			}
		})
	}
	if s.DeliveredCount() != 0 {
		t.Fatalf("refused requests were delivered")
	}
}

func TestSlowRepliesAndWait(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()
	s.SetLatency(150 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.WaitMessages(ctx, 1); err == nil {
		t.Fatal("WaitMessages returned before anything was sent")
	}

	var wg sync.WaitGroup
	start := time.Now()
	for range 20 {
		wg.Go(func() { post(t, sendURL(s), msg("tok")) })
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	got, err := s.WaitMessages(ctx2, 20)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(got) != 20 {
		t.Fatalf("got %d", len(got))
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("replies took %v, want at least the latency", el)
	}
	names := map[string]bool{}
	for _, r := range got {
		names[r.Name] = true
	}
	if len(names) != 20 {
		t.Fatalf("message names not unique: %v", names)
	}
}

func TestCountsWithoutRecording(t *testing.T) {
	s := fcmtest.NewServer(project)
	defer s.Close()
	s.SetRecording(false)
	s.FailToken(fcmtest.Unregistered(), "gone")
	post(t, sendURL(s), msg("tok"))
	post(t, sendURL(s), msg("gone"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := s.WaitMessages(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 2 || s.DeliveredCount() != 1 || len(s.Requests()) != 0 {
		t.Fatalf("count %d delivered %d recorded %d", s.Count(), s.DeliveredCount(), len(s.Requests()))
	}
}
