package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// lockedBuffer is a bytes.Buffer safe for the server goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestServeEndToEnd starts the real server through run, seeds the demo city, and books over HTTP
// with tokens printed by `fieldfix token`, as a new user would. Server and command read the same
// token settings (an issuer and an audience here); a token without them is refused.
func TestServeEndToEnd(t *testing.T) {
	s := dbtest.New(t)
	vars := env(map[string]string{"DATABASE_URL": s.URL, "FIELDFIX_JWT_SECRET": "e2e-secret",
		"FIELDFIX_JWT_ISSUER": "e2e-login", "FIELDFIX_JWT_AUDIENCE": "fieldfix-e2e"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var seedOut lockedBuffer
	if err := run(ctx, []string{"seed", "--technicians", "12"}, vars, &seedOut, io.Discard); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if !strings.Contains(seedOut.String(), "seeded the demo city") {
		t.Fatalf("seed output: %s", seedOut.String())
	}
	// The first customer's in-warranty washer and out-of-warranty fridge, as printed.
	purchase := func(category string) string {
		m := regexp.MustCompile(`purchase_id=(\d+)\s+` + category + `\s`).FindStringSubmatch(seedOut.String())
		if m == nil {
			t.Fatalf("no %s purchase printed:\n%s", category, seedOut.String())
		}
		return m[1]
	}

	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, vars, &out, &errOut) }()
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("server did not start: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	var tok bytes.Buffer
	if err := run(ctx, []string{"token", "--role", "customer", "--sub", "demo-customer-1"}, vars, &tok, io.Discard); err != nil {
		t.Fatal(err)
	}
	book := func(appliance, purchaseID string) map[string]any {
		body := `{"service_type":"repair","appliance":"` + appliance + `","problem":"not working","address":"1 place Bellecour, Lyon",
			"location":{"lat":45.7578,"lng":4.8320},"purchase_id":` + purchaseID + `,"channel":"web"}`
		req, _ := http.NewRequest("POST", base+"/v1/bookings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok.String()))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		if res.StatusCode != 201 {
			t.Fatalf("book %s: %d %v", appliance, res.StatusCode, m)
		}
		return m
	}
	hours := func(m map[string]any) float64 {
		c, _ := time.Parse(time.RFC3339Nano, m["created_at"].(string))
		d, _ := time.Parse(time.RFC3339Nano, m["sla_due_at"].(string))
		return d.Sub(c).Hours()
	}
	if m := book("washer", purchase("washer")); m["tier"] != "warranty" || hours(m) != 48 {
		t.Fatalf("washer: %v %vh", m["tier"], hours(m))
	}
	if m := book("fridge", purchase("fridge")); m["tier"] != "paid" || hours(m) != 24 {
		t.Fatalf("fridge: %v %vh", m["tier"], hours(m))
	}
	plain, _ := api.IssueToken([]byte("e2e-secret"), dispatch.RoleCustomer, "demo-customer-1", time.Now(), time.Hour)
	req, _ := http.NewRequest("GET", base+"/v1/bookings", nil)
	req.Header.Set("Authorization", "Bearer "+plain)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token of the right key without the configured issuer and audience: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		res, err := http.Get(base + p)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, res, err)
		}
		res.Body.Close()
	}

	var health bytes.Buffer // the container's HEALTHCHECK
	if err := run(ctx, []string{"healthcheck", "--url", base + "/readyz"}, vars, &health, io.Discard); err != nil || !strings.Contains(health.String(), "ready") {
		t.Fatalf("healthcheck of a ready server: %v %q", err, health.String())
	}

	// A dispatcher's console keeps the live feed open: shutdown must end it, not wait for it (it
	// used to hold Shutdown for its whole grace and serve failed with "context deadline exceeded").
	var dtok bytes.Buffer
	if err := run(ctx, []string{"token", "--role", "dispatcher", "--sub", "d-1"}, vars, &dtok, io.Discard); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("GET", base+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(dtok.String()))
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("events: %v %v", stream, err)
	}
	defer stream.Body.Close()
	streamEnded := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, stream.Body); streamEnded <- err }()

	cancel() // SIGTERM's path: graceful shutdown
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
	select {
	case err := <-streamEnded:
		if err != nil {
			t.Fatalf("the stream ended with %v, not its end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream outlived the server")
	}
}

// TestHealthcheck: the container's probe fails on anything but a 200 from /readyz, and finds the
// server at FIELDFIX_ADDR's port on loopback when it listens on every address.
func TestHealthcheck(t *testing.T) {
	status := http.StatusServiceUnavailable
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"code":"not_ready"}`)
	}))
	defer ts.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	vars := env(map[string]string{"FIELDFIX_ADDR": ":" + port})
	err := run(context.Background(), []string{"healthcheck"}, vars, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "http://127.0.0.1:"+port+"/readyz") {
		t.Fatalf("not ready: %v", err)
	}
	status = http.StatusOK
	if err := run(context.Background(), []string{"healthcheck"}, vars, io.Discard, io.Discard); err != nil {
		t.Fatalf("ready: %v", err)
	}
	ts.Close()
	if err := run(context.Background(), []string{"healthcheck"}, vars, io.Discard, io.Discard); err == nil {
		t.Fatal("nothing listening, and the probe passed")
	}
}

func TestTokenRefusesUnknownRole(t *testing.T) {
	err := run(context.Background(), []string{"token", "--role", "root", "--sub", "x"}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Fatalf("err = %v", err)
	}
}

func TestSolveCommands(t *testing.T) {
	solomon := "../../../shared/benchmarks/vrptw/solomon/C101.txt"
	if _, err := os.Stat(solomon); err != nil {
		t.Skip("Solomon instances not beside the repository")
	}
	var out bytes.Buffer
	// Without --solver, and with --solver one as older scripts pass it.
	for _, solver := range [][]string{nil, {"--solver", "one"}} {
		out.Reset()
		args := append(append([]string{"solve", "--format", "solomon"}, solver...), "--time-limit", "300ms", solomon)
		if err := run(context.Background(), args, env(nil), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || lines[0] != "instance,vehicles,distance,compute_ms" || !strings.HasPrefix(lines[1], "C101,") {
			t.Fatalf("%s: csv %q", solver, out.String())
		}
		var d float64
		if _, err := fmt.Sscanf(strings.Split(lines[1], ",")[2], "%f", &d); err != nil || d < 828.93 || d > 900 {
			t.Fatalf("%s: C101 distance %v (%v)", solver, d, err)
		}
	}
	for _, solver := range []string{"vrptw", "other"} {
		if err := run(context.Background(), []string{"solve", "--format", "solomon", "--solver", solver, solomon}, env(nil), io.Discard, io.Discard); err == nil {
			t.Fatalf("--solver %s was accepted", solver)
		}
	}
	problem := filepath.Join(t.TempDir(), "p.json")
	_ = os.WriteFile(problem, []byte(`{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [2]}],
		"jobs": [{"id": 5, "location_index": 1, "delivery": [1]}, {"id": 6, "location_index": 2, "delivery": [1]}],
		"matrix": [[0, 10, 20], [10, 0, 15], [20, 15, 0]]}`), 0o644)
	out.Reset()
	if err := run(context.Background(), []string{"solve", "--format", "vroom", "--time-limit", "50ms", problem}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var sol struct {
		Code    int `json:"code"`
		Summary struct {
			Cost       float64 `json:"cost"`
			Unassigned int     `json:"unassigned"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out.Bytes(), &sol); err != nil || sol.Code != 0 || sol.Summary.Unassigned != 0 || sol.Summary.Cost != 45 {
		t.Fatalf("vroom answer %s (%v)", out.String(), err)
	}

	// Vehicles that differ: skills, an open end, a break; each job only one vehicle can do.
	_ = os.WriteFile(problem, []byte(`{"vehicles": [
		  {"id": 1, "start_index": 0, "end_index": 0, "capacity": [2], "skills": [1], "time_window": [0, 5000]},
		  {"id": 2, "start_index": 0, "skills": [4], "breaks": [{"id": 3, "service": 60, "time_windows": [[100, 200]]}]}],
		"jobs": [{"id": 5, "location_index": 1, "delivery": [1], "skills": [1], "service": 120}, {"id": 6, "location_index": 2, "skills": [4], "service": 120}],
		"matrix": [[0, 10, 20], [10, 0, 15], [20, 15, 0]]}`), 0o644)
	out.Reset()
	if err := run(context.Background(), []string{"solve", "--format", "vroom", "--time-limit", "50ms", problem}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var het struct {
		Summary struct{ Unassigned int } `json:"summary"`
		Routes  []struct {
			Vehicle int64 `json:"vehicle"`
			Steps   []struct {
				Type string `json:"type"`
				ID   int64  `json:"id"`
			} `json:"steps"`
		} `json:"routes"`
	}
	if err := json.Unmarshal(out.Bytes(), &het); err != nil || het.Summary.Unassigned != 0 || len(het.Routes) != 2 {
		t.Fatalf("vroom answer %s (%v)", out.String(), err)
	}
	for _, r := range het.Routes {
		var types []string
		for _, st := range r.Steps {
			types = append(types, st.Type)
		}
		if r.Vehicle == 2 && strings.Join(types, ",") != "start,job,break" && strings.Join(types, ",") != "start,break,job" {
			t.Fatalf("vehicle 2 steps %v", types)
		}
	}
	// A refusal reaches the user as an error.
	_ = os.WriteFile(problem, []byte(`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1}],
		"shipments": [{"amount": [1]}], "matrix": [[0, 1], [1, 0]]}`), 0o644)
	err := run(context.Background(), []string{"solve", "--format", "vroom", problem}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "shipments") {
		t.Fatalf("shipments: %v", err)
	}
}

// TestPoolSizeFromURL: an operator running several replicas sizes each pool in DATABASE_URL.
func TestPoolSizeFromURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want int32
	}{
		{"postgres://u@db/fieldfix", 32},
		{"postgres://u@db/fieldfix?sslmode=disable&pool_max_conns=12", 12},
		{"host=db dbname=fieldfix pool_max_conns=7", 7},
	} {
		pc, err := poolConfig(tc.url, 32)
		if err != nil || pc.MaxConns != tc.want {
			t.Errorf("%s: %v connections (%v), want %d", tc.url, pc.MaxConns, err, tc.want)
		}
	}
	if _, err := poolConfig("postgres://u@db/fieldfix?pool_max_conns=lots", 32); err == nil {
		t.Error("pool_max_conns=lots accepted")
	}
	for cores, want := range map[int]int32{1: 8, 2: 8, 4: 16, 16: 64} {
		if got := servePool(cores); got != want {
			t.Errorf("%d cores: a pool of %d, want %d", cores, got, want)
		}
	}
}

// TestPoolMaxConnsInDatabaseURL: the pool's setting in DATABASE_URL reaches the pool and not
// PostgreSQL, which refused the connection ("unrecognized configuration parameter").
func TestPoolMaxConnsInDatabaseURL(t *testing.T) {
	s := dbtest.New(t)
	u := s.URL + "&pool_max_conns=3"
	if !strings.Contains(s.URL, "?") {
		u = s.URL + "?pool_max_conns=3"
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, env(map[string]string{"DATABASE_URL": u}), &out, io.Discard); err != nil {
		t.Fatalf("migrate with pool_max_conns: %v", err)
	}
}
