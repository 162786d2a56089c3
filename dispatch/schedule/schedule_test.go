package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/schedule"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestTwoReplicasRunEachTickOnce starts two runners on one database with a schedule that ticks
// every second, and checks that every tick ran exactly once, on one replica or the other.
func TestTwoReplicasRunEachTickOnce(t *testing.T) {
	s := dbtest.New(t)
	store := postgres.New(s.Pool)
	var (
		mu   sync.Mutex
		runs = map[time.Time][]string{}
	)
	job := func(replica string) schedule.Job {
		return schedule.Job{Name: "counter", Spec: "* * * * * *", Run: func(ctx context.Context, tick time.Time) (any, error) {
			mu.Lock()
			runs[tick] = append(runs[tick], replica)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond) // overlap the other replica's attempt
			return map[string]any{"replica": replica}, nil
		}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for _, name := range []string{"replica-a", "replica-b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &schedule.Runner{Jobs: []schedule.Job{job(name)}, Claims: store.Ticks(), Replica: name}
			if err := r.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(runs) < 2 {
		t.Fatalf("only %d ticks ran in 3.5 s", len(runs))
	}
	for tick, who := range runs {
		if len(who) != 1 {
			t.Errorf("tick %s ran %d times: %v", tick.Format(time.RFC3339), len(who), who)
		}
	}
	var rows, finished int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*), count(finished_at) FROM schedule_runs WHERE name = 'counter' AND outcome = 'ok'").Scan(&rows, &finished); err != nil {
		t.Fatal(err)
	}
	if rows != len(runs) || finished != rows {
		t.Fatalf("%d recorded runs (%d finished) for %d ticks", rows, finished, len(runs))
	}
}

func TestTickIsClaimedOnce(t *testing.T) {
	s := dbtest.New(t)
	r := &schedule.Runner{Claims: postgres.New(s.Pool).Ticks(), Replica: "a"}
	n := 0
	j := schedule.Job{Name: "once", Spec: "@hourly", Run: func(context.Context, time.Time) (any, error) { n++; return nil, nil }}
	tick := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for range 3 {
		if _, err := r.Tick(context.Background(), j, tick); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 {
		t.Fatalf("the same tick ran %d times", n)
	}
	if _, err := schedule.Parse("every tuesday"); err == nil {
		t.Fatal("a bad cron expression was accepted")
	}
}

// counts records what a runner reports to the metrics.
type counts struct {
	mu                       sync.Mutex
	ok, failed, late, missed int
}

func (c *counts) ScheduleRun(name, outcome string, late bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if outcome == "ok" {
		c.ok++
		if late {
			c.late++
		}
	} else {
		c.failed++
	}
}

func (c *counts) ScheduleMissed(string) { c.mu.Lock(); c.missed++; c.mu.Unlock() }

func (c *counts) get() (ok, failed, late, missed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok, c.failed, c.late, c.missed
}

// behindProxy is a store whose connections go through a proxy the test can cut.
func behindProxy(t *testing.T, s *dbtest.Schema) (*postgres.Store, *dbtest.Proxy) {
	pool, proxy := dbtest.PoolBehindProxy(t, s)
	return postgres.New(pool), proxy
}

// nextEven is the next tick of "*/2 * * * * *" at least 1.2 s away.
func nextEven() time.Time {
	t := time.Now().Truncate(2 * time.Second).Add(2 * time.Second)
	if time.Until(t) < 1200*time.Millisecond {
		t = t.Add(2 * time.Second)
	}
	return t
}

func runFor(t *testing.T, d time.Duration, runners ...*schedule.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func tickRow(t *testing.T, s *dbtest.Schema, name string, tick time.Time) (status string, attempts int, late time.Duration) {
	t.Helper()
	var started time.Time
	err := s.Pool.QueryRow(context.Background(), "SELECT status, attempts, started_at FROM schedule_runs WHERE name = $1 AND tick = $2",
		name, tick).Scan(&status, &attempts, &started)
	if err != nil {
		return "none", 0, 0
	}
	return status, attempts, started.Sub(tick)
}

// TestTickDuringADatabaseRestartRunsLate: the database goes away just before a tick and comes
// back 0.7 s after it; the tick is tried again and runs late instead of being lost.
func TestTickDuringADatabaseRestartRunsLate(t *testing.T) {
	t.Parallel()
	s := dbtest.New(t)
	store, proxy := behindProxy(t, s)
	m := &counts{}
	var ran sync.Map
	r := &schedule.Runner{Claims: store.Ticks(), Replica: "a", Metrics: m, RetryBase: 100 * time.Millisecond, RetryMax: 400 * time.Millisecond,
		Jobs: []schedule.Job{{Name: "watchdog", Spec: "*/2 * * * * *", Run: func(ctx context.Context, tick time.Time) (any, error) {
			ran.Store(tick.Unix(), true)
			return nil, nil
		}}}}
	tick := nextEven()
	go func() {
		time.Sleep(time.Until(tick) - 200*time.Millisecond)
		proxy.Down()
		time.Sleep(900 * time.Millisecond)
		if err := proxy.Up(); err != nil {
			t.Error(err)
		}
	}()
	runFor(t, time.Until(tick)+2500*time.Millisecond, r)
	status, attempts, late := tickRow(t, s, "watchdog", tick)
	t.Logf("tick %s: %s after %d claim(s), %v after its time", tick.Format("15:04:05"), status, attempts, late.Round(time.Millisecond))
	if _, ok := ran.Load(tick.Unix()); !ok || status != "ok" {
		t.Fatalf("the tick during the outage: %s, ran %v", status, ok)
	}
	if late < 600*time.Millisecond {
		t.Errorf("the tick ran %v after its time, while the database was away", late)
	}
	if _, _, lateRuns, missed := m.get(); lateRuns != 1 || missed != 0 {
		t.Errorf("metrics: %d late, %d missed; want 1 late, none missed", lateRuns, missed)
	}
}

// TestTickGivenUpIsMissedOnce: the database is away for longer than the time between two
// ticks; both replicas give the tick up, and once the database is back it is recorded as missed,
// and counted, once; the next tick runs late.
func TestTickGivenUpIsMissedOnce(t *testing.T) {
	t.Parallel()
	s := dbtest.New(t)
	m := &counts{}
	var runners []*schedule.Runner
	var proxies []*dbtest.Proxy
	for _, name := range []string{"a", "b"} {
		store, proxy := behindProxy(t, s)
		proxies = append(proxies, proxy)
		runners = append(runners, &schedule.Runner{Claims: store.Ticks(), Replica: name, Metrics: m, RetryBase: 100 * time.Millisecond,
			RetryMax: 400 * time.Millisecond, Jobs: []schedule.Job{{Name: "watchdog", Spec: "*/2 * * * * *",
				Run: func(context.Context, time.Time) (any, error) { return nil, nil }}}})
	}
	tick := nextEven()
	go func() {
		time.Sleep(time.Until(tick) - 200*time.Millisecond)
		for _, p := range proxies {
			p.Down()
		}
		time.Sleep(2500 * time.Millisecond) // past the next tick
		for _, p := range proxies {
			if err := p.Up(); err != nil {
				t.Error(err)
			}
		}
	}()
	runFor(t, time.Until(tick)+3500*time.Millisecond, runners...)
	status, _, _ := tickRow(t, s, "watchdog", tick)
	nextStatus, _, late := tickRow(t, s, "watchdog", tick.Add(2*time.Second))
	_, _, lateRuns, missed := m.get()
	t.Logf("tick %s: %s; the next: %s, %v late; metrics: %d missed, %d late", tick.Format("15:04:05"), status, nextStatus, late.Round(time.Millisecond), missed, lateRuns)
	if status != "missed" || missed != 1 {
		t.Errorf("the tick the outage swallowed: %s, counted missed %d times; want missed, once", status, missed)
	}
	if nextStatus != "ok" || lateRuns < 1 {
		t.Errorf("the next tick: %s (%d late runs); want it run late", nextStatus, lateRuns)
	}
}

// TestFailedTickIsRetriedByOneReplicaAtATime: every tick's first run fails; two replicas retry,
// and each tick runs to success exactly once, never twice at the same time.
func TestFailedTickIsRetriedByOneReplicaAtATime(t *testing.T) {
	t.Parallel()
	s := dbtest.New(t)
	store := postgres.New(s.Pool)
	var (
		mu                        sync.Mutex
		tries, successes, running = map[int64]int{}, map[int64]int{}, map[int64]int{}
		overlap                   bool
	)
	job := schedule.Job{Name: "flaky", Spec: "* * * * * *", Run: func(ctx context.Context, tick time.Time) (any, error) {
		k := tick.Unix()
		mu.Lock()
		tries[k]++
		first := tries[k] == 1
		running[k]++
		overlap = overlap || running[k] > 1
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		running[k]--
		if !first {
			successes[k]++
		}
		mu.Unlock()
		if first {
			return nil, errors.New("the database restarted")
		}
		return nil, nil
	}}
	var runners []*schedule.Runner
	for _, name := range []string{"a", "b"} {
		runners = append(runners, &schedule.Runner{Claims: store.Ticks(), Replica: name, Jobs: []schedule.Job{job},
			RetryBase: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	}
	runFor(t, 3500*time.Millisecond, runners...)
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Error("one tick ran on two replicas at once")
	}
	full := 0
	for k, n := range successes {
		if n != 1 {
			t.Errorf("tick %d succeeded %d times", k, n)
		}
		full++
	}
	if full < 2 {
		t.Fatalf("only %d ticks were retried to success", full)
	}
}

// TestMissedDailyTickRunsLate: a daily job's tick passed while no replica ran; a replica that
// starts runs it late (each missed tick, for a job whose every tick is its own work; the latest
// for one that catches up on its own; none for a schedule that never ran before).
func TestMissedDailyTickRunsLate(t *testing.T) {
	t.Parallel()
	s := dbtest.New(t)
	store := postgres.New(s.Pool)
	today := time.Now().Add(-2 * time.Minute).Truncate(time.Minute)
	spec := fmt.Sprintf("%d %d * * *", today.Minute(), today.Hour())
	for _, name := range []string{"rollup", "cleanup"} {
		if _, err := s.Pool.Exec(context.Background(), `INSERT INTO schedule_runs (name, tick, replica, started_at, finished_at, status, outcome)
			VALUES ($1, $2, 'old', $2, $2, 'ok', 'ok')`, name, today.AddDate(0, 0, -3)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu  sync.Mutex
		ran = map[string][]string{}
	)
	job := func(name string, eachTick bool) schedule.Job {
		return schedule.Job{Name: name, Spec: spec, CatchUp: 7 * 24 * time.Hour, EachTick: eachTick,
			Run: func(_ context.Context, tick time.Time) (any, error) {
				mu.Lock()
				ran[name] = append(ran[name], tick.Format("01-02"))
				mu.Unlock()
				return nil, nil
			}}
	}
	m := &counts{}
	r := &schedule.Runner{Claims: store.Ticks(), Replica: "a", Metrics: m,
		Jobs: []schedule.Job{job("rollup", true), job("cleanup", false), job("never-ran", false)}}
	runFor(t, 1500*time.Millisecond, r)
	day := func(d int) string { return today.AddDate(0, 0, d).Format("01-02") }
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(ran["rollup"]) != fmt.Sprint([]string{day(-2), day(-1), day(0)}) {
		t.Errorf("rollup ran %v, want the three missed days in order", ran["rollup"])
	}
	if fmt.Sprint(ran["cleanup"]) != fmt.Sprint([]string{day(0)}) {
		t.Errorf("cleanup ran %v, want today's tick only", ran["cleanup"])
	}
	if len(ran["never-ran"]) != 0 {
		t.Errorf("a schedule with no past ran %v", ran["never-ran"])
	}
	if status, _, late := tickRow(t, s, "rollup", today); status != "ok" || late < 2*time.Minute {
		t.Errorf("today's roll-up: %s, %v after its tick", status, late)
	}
	if ok, _, late, _ := m.get(); ok != 4 || late != 4 {
		t.Errorf("metrics: %d runs, %d late; want 4 late runs", ok, late)
	}
}
