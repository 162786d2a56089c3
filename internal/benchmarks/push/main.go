// Command push drains a queue of pushes end to end — outbox rows in PostgreSQL → push worker →
// Firebase Admin SDK → a local FCM fake — and prints pushes per second and the peak heap.
//
//	go run ./internal/benchmarks/push [-pushes 10000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/fcm"
	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/push"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

func main() {
	n := flag.Int("pushes", 10000, "pushes queued before draining")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench-push:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx := context.Background()
	db, drop, err := dbtest.Scratch(ctx, "bench_push_", 16)
	if err != nil {
		return err
	}
	defer drop()
	pool := db.Pool
	// n offers to 500 phones, queued as the outbox would queue them.
	now := time.Now()
	if _, err := pool.Exec(ctx, `
		INSERT INTO devices (owner_kind, owner_subject, token, platform, created_at, last_seen_at)
		SELECT 'technician', 'tech-' || g, 'token-' || g, 'android', $1, $1 FROM generate_series(1, 500) g`, now); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO notifications (recipient_kind, recipient_subject, kind, job_id, booking_id, title, body, data, created_at)
		SELECT 'technician', 'tech-' || (g % 500 + 1), 'change', g, g, 'Job moved', 'Your 14:00 visit is now at 15:00.',
		       jsonb_build_object('deep_link', 'fieldfix://jobs/' || g), $1
		FROM generate_series(1, $2::int) g`, now, n); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO push_deliveries (notification_id, device_id, token, status, next_attempt_at, created_at, updated_at)
		SELECT n.id, d.id, d.token, 'pending', $1, $1, $1
		FROM notifications n JOIN devices d ON d.owner_subject = n.recipient_subject`, now); err != nil {
		return err
	}
	fake := fcmtest.NewServer("bench")
	defer fake.Close()
	fake.SetRecording(false) // memory must not grow with the queue, the fake's included
	client, err := fcm.NewClient(ctx, fcm.Config{ProjectID: "bench", Endpoint: fake.Endpoint()})
	if err != nil {
		return err
	}
	w := &push.Worker{Store: postgres.New(pool).Pushes(), Sender: client}
	if err := w.Join(ctx); err != nil {
		return err
	}
	defer w.Leave(ctx)

	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	drained := 0
	for {
		k, err := w.Drain(ctx)
		if err != nil {
			return err
		}
		if k == 0 {
			break
		}
		drained += k
	}
	elapsed := time.Since(start)
	close(stop)
	var delivered int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM push_deliveries WHERE status = 'delivered'").Scan(&delivered); err != nil {
		return err
	}
	fmt.Printf("| pushes queued | delivered | time | pushes/s | heap before | peak heap while draining |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Printf("| %d | %d (fake saw %d) | %s | %.0f | %.1f MiB | %.1f MiB |\n", n, delivered, fake.DeliveredCount(), elapsed.Round(time.Millisecond),
		float64(delivered)/elapsed.Seconds(), float64(before.HeapInuse)/(1<<20), float64(peak.Load())/(1<<20))
	return nil
}
