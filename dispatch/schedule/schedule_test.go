package schedule_test

import (
	"context"
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
			r := &schedule.Runner{Jobs: []schedule.Job{job(name)}, Claims: store, Replica: name}
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
	r := &schedule.Runner{Claims: postgres.New(s.Pool), Replica: "a"}
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
