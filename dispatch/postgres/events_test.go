package postgres_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestFeedDeliversLateCommits: an event whose transaction took its id first but committed after
// a later one was read still reaches the feed; a rolled-back one never does; each comes once.
func TestFeedDeliversLateCommits(t *testing.T) {
	s := dbtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 16)
	ready := make(chan struct{})
	var once sync.Once
	go postgres.New(s.Pool).FollowEvents(ctx, 5*time.Millisecond, func(e []byte) {
		var ev struct{ Action string }
		if err := json.Unmarshal(e, &ev); err != nil {
			t.Errorf("event %s: %v", e, err)
		}
		got <- ev.Action
	}, func() { once.Do(func() { close(ready) }) })
	<-ready
	insert := `INSERT INTO audit_events (at, actor_sub, actor_role, entity, entity_id, action) VALUES (now(), 'test', 'system', 'job', 1, $1)`
	wait := func(want string) {
		t.Helper()
		select {
		case a := <-got:
			if a != want {
				t.Fatalf("feed gave %q, want %q", a, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("feed never gave %q", want)
		}
	}
	late, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Exec(ctx, insert, "late"); err != nil { // takes the lower id
		t.Fatal(err)
	}
	gone, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.Exec(ctx, insert, "rolled-back"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, insert, "early"); err != nil {
		t.Fatal(err)
	}
	wait("early")
	if err := gone.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // several polls with both ids still missing
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wait("late")
	if _, err := s.Pool.Exec(ctx, insert, "after"); err != nil {
		t.Fatal(err)
	}
	wait("after")
	select {
	case a := <-got:
		t.Fatalf("unexpected event %q", a)
	case <-time.After(100 * time.Millisecond):
	}
}
