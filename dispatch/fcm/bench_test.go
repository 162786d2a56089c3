package fcm_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/fcm"
	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
)

// BenchmarkSend measures the transport alone — Build, the SDK, HTTP to the local fake — as
// pushes per second with concurrent senders, the ceiling for the outbox drain benchmark.
func BenchmarkSend(b *testing.B) {
	fake := fcmtest.NewServer(project)
	defer fake.Close()
	fake.SetRecording(false)
	client, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: project, Endpoint: fake.URL})
	if err != nil {
		b.Fatal(err)
	}
	p := offer()
	p.OfferExpiresAt = time.Now().Add(time.Hour)
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := client.Send(context.Background(), []string{"tok"}, p)[0]; r.Outcome != fcm.Delivered {
				b.Errorf("%+v", r)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
	if n := fake.DeliveredCount(); n != b.N {
		b.Fatalf("fake delivered %d of %d", n, b.N)
	}
}
