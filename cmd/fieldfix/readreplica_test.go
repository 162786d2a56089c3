package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// replicaPair is a primary and a streaming standby of it (scripts/replica-db.sh, which make test
// runs; TEST_REPLICA_URLS="primary standby" points at another pair).
func replicaPair(t *testing.T) (primary, standby string) {
	t.Helper()
	urls := os.Getenv("TEST_REPLICA_URLS")
	if urls == "" {
		out, err := exec.Command("../../scripts/replica-db.sh").Output()
		if err != nil {
			t.Fatalf("scripts/replica-db.sh: %v", err)
		}
		urls = string(out)
	}
	f := strings.Fields(urls)
	if len(f) != 2 {
		t.Fatalf("TEST_REPLICA_URLS %q: want two URLs", urls)
	}
	return f[0], f[1]
}

// TestReadReplicaServesTheBoardAndSaysHowStale runs `fieldfix serve` on a primary with
// FIELDFIX_READ_DATABASE_URL on a real standby (pg_basebackup), pauses the standby's replay and
// writes: the server that tolerates an hour of lag serves the old list and says how stale its
// board is; the one that tolerates a second goes back to the primary; once replay resumes both
// agree again.
func TestReadReplicaServesTheBoardAndSaysHowStale(t *testing.T) {
	ctx := context.Background()
	primaryURL, standbyURL := replicaPair(t)
	s, drop, err := dbtest.ScratchOn(ctx, primaryURL, "r_", 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	standby, err := pgx.Connect(ctx, standbyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close(ctx)
	replayed := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("the standby never replayed %s", what)
	}
	replayed("the schema", func() bool {
		var n *string
		return standby.QueryRow(ctx, "SELECT to_regclass($1)::text", s.Name+".technicians").Scan(&n) == nil && n != nil
	})

	read := dbtest.WithSearchPath(standbyURL, s.Name)
	env := func(maxLag string) []string {
		return []string{"DATABASE_URL=" + s.URL, "FIELDFIX_READ_DATABASE_URL=" + read, "FIELDFIX_READ_MAX_LAG=" + maxLag,
			"FIELDFIX_JWT_SECRET=replica-secret", "FIELDFIX_LOG_LEVEL=error"}
	}
	patient, strict := startChild(t, env("1h")), startChild(t, env("1s"))
	defer func() {
		for _, c := range []*child{patient, strict} {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	}()
	token := func(role dispatch.Role) string {
		tok, err := api.IssueToken([]byte("replica-secret"), role, string(role), time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin, dispatcherToken := token(dispatch.RoleAdmin), token(dispatch.RoleDispatcher)
	call := func(c *child, method, path string, body any) map[string]any {
		t.Helper()
		var buf bytes.Buffer
		if body != nil {
			_ = json.NewEncoder(&buf).Encode(body)
		}
		req, _ := http.NewRequest(method, c.base+path, &buf)
		req.Header.Set("Authorization", "Bearer "+admin)
		if strings.HasSuffix(path, "/board") {
			req.Header.Set("Authorization", "Bearer "+dispatcherToken)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if resp.StatusCode >= 300 || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
		return out
	}
	hire := func(name string) {
		call(patient, "POST", "/v1/technicians", map[string]any{"name": name, "skills": []string{"washer"},
			"home": map[string]any{"lat": 45.76, "lng": 4.84}, "time_zone": "Europe/Paris"})
	}
	listed := func(c *child) int {
		return len(call(c, "GET", "/v1/technicians", nil)["items"].([]any))
	}
	board := func(c *child) (string, float64) {
		b := call(c, "GET", "/v1/board", nil)
		return b["read_from"].(string), b["stale_seconds"].(float64)
	}

	hire("Amélie Arnaud")
	replayed("the first technician", func() bool { return listed(patient) == 1 })
	time.Sleep(1100 * time.Millisecond) // past the router's one-second memory of the last lag
	if from, stale := board(patient); from != "replica" || stale != 0 {
		t.Fatalf("caught up: board read from %s, %v s stale", from, stale)
	}

	if _, err := standby.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			_, _ = standby.Exec(ctx, "SELECT pg_wal_replay_resume()")
			resumed = true
		}
	}
	defer resume()
	hire("Bastien Blanc")
	time.Sleep(2100 * time.Millisecond) // the strict server's second of tolerance, and the router's memory, pass
	if n := listed(patient); n != 1 {
		t.Fatalf("the patient server listed %d technicians: not from the paused replica", n)
	}
	if from, stale := board(patient); from != "replica" || stale < 1 {
		t.Fatalf("paused: the patient server's board read from %s, %v s stale", from, stale)
	}
	if from, _ := board(strict); from != "primary" {
		t.Fatalf("paused: the strict server's board read from %s", from)
	}
	if n := listed(strict); n != 2 {
		t.Fatalf("the strict server listed %d technicians, not the primary's 2", n)
	}

	resume()
	replayed("the second technician", func() bool { return listed(patient) == 2 })
	time.Sleep(1100 * time.Millisecond)
	if from, stale := board(patient); from != "replica" || stale != 0 {
		t.Fatalf("resumed: board read from %s, %v s stale", from, stale)
	}
}
