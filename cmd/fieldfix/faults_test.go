package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

func undelivered(t *testing.T, s *dbtest.Schema) int {
	var n int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM push_deliveries WHERE status <> 'delivered'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestKilledServersPushesAreTakenOver: a server leases 25 pushes and is killed with SIGKILL in
// the middle of sending them (FCM is slow). They must not wait out a lease (set to a minute here):
// a server started 3 s later, and a second replica alive all along, send every one well inside it
// (half of it, counted from the restarted server's start, or from the kill). The bounds are loose
// because a busy machine takes seconds to start a server; make bench-faults measures the times.
func TestKilledServersPushesAreTakenOver(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart bool
		within  time.Duration
	}{{"restart", true, 30 * time.Second}, {"second replica", false, 30 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			s := dbtest.New(t)
			fake := fcmtest.NewServer("kill-test")
			defer fake.Close()
			fake.SetLatency(time.Hour) // the first server's sends hang until it dies
			env := []string{"DATABASE_URL=" + s.URL, "FIELDFIX_JWT_SECRET=x", "FIELDFIX_LOG_LEVEL=error",
				"FIREBASE_PROJECT_ID=kill-test", "FIELDFIX_FCM_ENDPOINT=" + fake.Endpoint(), "FIELDFIX_PUSH_LEASE=60s"}
			first := startChild(t, env)
			if err := dbtest.QueuePushes(context.Background(), s.Pool, 25, "tech-"); err != nil {
				t.Fatal(err)
			}
			// One request at FCM: the batch is leased (one claim took all 25) and being sent.
			for deadline := time.Now().Add(20 * time.Second); fake.Arrived() == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the first server sent nothing")
				}
			}
			var second *child
			if !tc.restart {
				second = startChild(t, env)
			}
			fake.ClearFaults()
			_ = first.cmd.Process.Signal(syscall.SIGKILL)
			_ = first.cmd.Wait()
			start := time.Now()
			if tc.restart {
				time.Sleep(3 * time.Second) // as in the black-box run that found it
				second = startChild(t, env)
				start = time.Now()
			}
			defer func() { _ = second.cmd.Process.Kill(); _ = second.cmd.Wait() }()
			after := map[bool]string{true: "restart", false: "kill"}[tc.restart]
			for undelivered(t, s) > 0 {
				if time.Since(start) > 90*time.Second {
					t.Fatalf("%d pushes still undelivered %v after the %s", undelivered(t, s), time.Since(start).Round(time.Second), after)
				}
				time.Sleep(20 * time.Millisecond)
			}
			took := time.Since(start)
			t.Logf("every push sent %v after the %s", took.Round(time.Millisecond), after)
			if took > tc.within {
				t.Errorf("took %v, want within %v", took.Round(time.Millisecond), tc.within)
			}
		})
	}
}

// TestDatabaseRestartLosesNoTick: the database goes away half a second before an SLA watchdog
// tick and is back 1.2 s later: the tick runs late instead of never. A daily KPI roll-up whose
// tick passed while no server ran runs when the server starts. /metrics shows both.
func TestDatabaseRestartLosesNoTick(t *testing.T) {
	s := dbtest.New(t)
	proxy, viaProxy, err := dbtest.NewProxy(s.URL)
	if err != nil {
		t.Skip(err)
	}
	defer proxy.Down()
	missed := time.Now().Add(-2 * time.Minute).Truncate(time.Minute)
	if _, err := s.Pool.Exec(context.Background(), `INSERT INTO schedule_runs (name, tick, replica, started_at, finished_at, outcome)
		VALUES ('kpi-rollup', $1, 'yesterday', $1, $1, 'ok')`, missed.AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, []string{"DATABASE_URL=" + viaProxy, "FIELDFIX_JWT_SECRET=x", "FIELDFIX_LOG_LEVEL=error",
		"FIELDFIX_CRON_WATCHDOG=*/3 * * * * *", fmt.Sprintf("FIELDFIX_CRON_KPI_ROLLUP=%d %d * * *", missed.Minute(), missed.Hour())})
	defer func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() }()
	tick := time.Now().Truncate(3 * time.Second).Add(3 * time.Second)
	if time.Until(tick) < time.Second {
		tick = tick.Add(3 * time.Second)
	}
	time.Sleep(time.Until(tick) - 500*time.Millisecond)
	proxy.Down()
	time.Sleep(1200 * time.Millisecond)
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	ran := func(name string, tick time.Time) (time.Duration, bool) {
		var started time.Time
		var outcome string
		err := s.Pool.QueryRow(context.Background(), "SELECT started_at, outcome FROM schedule_runs WHERE name = $1 AND tick = $2",
			name, tick).Scan(&started, &outcome)
		return started.Sub(tick), err == nil && outcome == "ok"
	}
	deadline := tick.Add(3 * time.Second)
	late, ok := ran("sla-watchdog", tick)
	for ; !ok && time.Now().Before(deadline); late, ok = ran("sla-watchdog", tick) {
		time.Sleep(50 * time.Millisecond)
	}
	if !ok {
		t.Fatalf("the watchdog's tick %s, cut off by the database restart, never ran", tick.Format("15:04:05"))
	}
	t.Logf("watchdog tick %s ran %v after its time", tick.Format("15:04:05"), late.Round(time.Millisecond))
	if late, ok := ran("kpi-rollup", missed); !ok {
		t.Errorf("the roll-up of %s, missed while no server ran, never ran", missed.Format("15:04"))
	} else {
		t.Logf("kpi-rollup tick %s, missed while no server ran, ran %v late", missed.Format("15:04"), late.Round(time.Second))
	}
	res, err := http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`fieldfix_schedule_late_runs_total{schedule="sla-watchdog"} 1`, `fieldfix_schedule_late_runs_total{schedule="kpi-rollup"} 1`,
		`fieldfix_schedule_missed_ticks_total{schedule="sla-watchdog"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
