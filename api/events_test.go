package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/roster"
)

// TestEventStream: a dispatcher's SSE stream sees a booking created and its job offered, and only
// after the transaction committed.
func TestEventStream(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.srv.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+b.token(dispatch.RoleDispatcher, "disp"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for deadline := time.Now().Add(5 * time.Second); b.hub.Subscribers() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("stream never subscribed")
		}
	}
	// A booking refused for bad input changes nothing and announces nothing.
	b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "c"), map[string]any{"appliance": "toaster"})
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "c"), washerBooking(nil)).json(t)

	sc := bufio.NewScanner(res.Body)
	var got []map[string]any
	for sc.Scan() && len(got) < 3 {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok && data != "{}" {
			var m map[string]any
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
			if m["entity"] == "technician" {
				continue // the technician created before the stream opened may still be in flight
			}
			got = append(got, m)
		}
	}
	if len(got) < 3 {
		t.Fatalf("events %v (%v)", got, sc.Err())
	}
	if got[0]["entity"] != "booking" || got[0]["action"] != "created" || got[0]["entity_id"] != bk["id"] {
		t.Fatalf("first event %v", got[0])
	}
	if got[1]["action"] != "planned" || got[2]["action"] != "offered" || got[2]["booking_id"] != bk["id"] {
		t.Fatalf("then %v, %v", got[1], got[2])
	}
	wantProblem(t, b.do("GET", "/v1/events", b.token(dispatch.RoleCustomer, "c"), nil), 403, "forbidden_role")
}

// TestEventStreamLargeTransaction: a transaction's audit events reach the stream in order, all of
// them, though they are announced 20 to a notification; a rolled-back transaction's never do.
func TestEventStreamLargeTransaction(t *testing.T) {
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.srv.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+b.token(dispatch.RoleDispatcher, "disp"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	for deadline := time.Now().Add(5 * time.Second); b.hub.Subscribers() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("stream never subscribed")
		}
	}
	audit := func(st roster.Store, id int64) error {
		return st.AddAudit(ctx, dispatch.AuditEvent{At: b.clock.Now(), ActorSub: "disp", ActorRole: dispatch.RoleDispatcher,
			Entity: "job", EntityID: id, Action: "tested", Data: map[string]any{"booking_id": id}})
	}
	store := b.svc.Roster.Store // any area that audits
	rollback := errors.New("roll back")
	if err := store.Tx(ctx, func(st roster.Store) error { _ = audit(st, 999); return rollback }); !errors.Is(err, rollback) {
		t.Fatalf("rolled back: %v", err)
	}
	const n = 45
	if err := store.Tx(ctx, func(st roster.Store) error {
		for i := int64(1); i <= n; i++ {
			if err := audit(st, i); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(res.Body)
	var got []map[string]any
	for len(got) < n && sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && data != "{}" {
			var m map[string]any
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
			got = append(got, m)
		}
	}
	if len(got) < n {
		t.Fatalf("%d events of %d (%v)", len(got), n, sc.Err())
	}
	for i, m := range got {
		if m["entity_id"] != float64(i+1) || m["action"] != "tested" || m["booking_id"] != float64(i+1) {
			t.Fatalf("event %d: %v", i, m)
		}
		if i > 0 && m["id"].(float64) <= got[i-1]["id"].(float64) {
			t.Fatalf("event %d out of order: %v after %v", i, m, got[i-1])
		}
	}
	evs, err := b.svc.Board.ListAudit(ctx, dispatch.Actor{Subject: "disp", Role: dispatch.RoleDispatcher}, board.AuditFilter{Entity: "job", Page: dispatch.Page{Limit: 200}})
	if err != nil || len(evs) != n {
		t.Fatalf("audit trail: %d events, %v", len(evs), err)
	}
}

// TestEventStreamClosesAtTokenExpiry: a token is checked when the stream opens; issue 19 saw the
// stream go on after the token's exp. It ends at exp with a token_expired event, and the same token
// cannot open it again.
func TestEventStreamClosesAtTokenExpiry(t *testing.T) {
	b := setup(t)
	tok, err := api.IssueToken(secret, dispatch.RoleDispatcher, "disp", b.clock.Now(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.srv.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	opened := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	body, err := io.ReadAll(res.Body) // to the end of the stream
	took := time.Since(opened)
	if err != nil {
		t.Fatalf("the stream did not end at the token's expiry: after %s, %v; read %q", took.Round(time.Millisecond), err, body)
	}
	if !strings.HasSuffix(string(body), "event: token_expired\ndata: {}\n\n") {
		t.Fatalf("the stream ended without saying why: %q", body)
	}
	if took < 1500*time.Millisecond {
		t.Fatalf("the stream ended after %s, before the token expired", took)
	}
	// The server's clock reaches the expiry and its leeway: the token opens nothing more.
	b.clock.Set(b.clock.Now().Add(2*time.Second + 31*time.Second))
	wantProblem(t, b.do("GET", "/v1/events", tok, nil), 401, "unauthorized")
}
