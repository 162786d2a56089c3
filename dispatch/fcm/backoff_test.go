package fcm_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/fcm"
)

func TestBackoffGrowsWithJitterUpToTheCap(t *testing.T) {
	b := fcm.Backoff{Base: time.Second, Max: time.Minute, Jitter: rand.New(rand.NewPCG(7, 7)).Float64}
	// The exponential part d doubles from Base up to Max; each delay falls in [d/2, d).
	wantD := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	seen := map[time.Duration]bool{}
	for i, d := range wantD {
		d *= time.Second
		got := b.Delay(i+1, 0)
		if got < d/2 || got >= d {
			t.Errorf("attempt %d: %v, want in [%v, %v)", i+1, got, d/2, d)
		}
		seen[got] = true
	}
	if len(seen) < len(wantD)-1 {
		t.Errorf("delays repeat: %v", seen)
	}
}

func TestBackoffIsRepeatableWithASeed(t *testing.T) {
	seq := func(seed uint64) []time.Duration {
		b := fcm.Backoff{Jitter: rand.New(rand.NewPCG(seed, seed)).Float64}
		var out []time.Duration
		for a := 1; a <= 10; a++ {
			out = append(out, b.Delay(a, 0))
		}
		return out
	}
	a, b, c := seq(1), seq(1), seq(2)
	same, differs := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differs = differs || a[i] != c[i]
	}
	if !same || !differs {
		t.Fatalf("seed 1: %v and %v; seed 2: %v", a, b, c)
	}
}

func TestBackoffHonoursRetryAfter(t *testing.T) {
	b := fcm.Backoff{Base: time.Second, Max: time.Minute, Jitter: func() float64 { return 0.99 }}
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 995 * time.Millisecond},
		{1, 30 * time.Second, 30 * time.Second},             // larger Retry-After wins
		{1, 100 * time.Millisecond, 995 * time.Millisecond}, // smaller one does not shorten the backoff
		{20, 10 * time.Minute, 10 * time.Minute},            // above the cap too: sooner only earns a refusal
		{20, 0, 59700 * time.Millisecond},                   // capped
	}
	for _, tt := range tests {
		if got := b.Delay(tt.attempt, tt.retryAfter); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempt, tt.retryAfter, got, tt.want)
		}
	}
}

func TestBackoffDefaults(t *testing.T) {
	var b fcm.Backoff
	if d := b.Delay(1, 0); d < 500*time.Millisecond || d >= time.Second {
		t.Errorf("first delay %v, want in [0.5s, 1s)", d)
	}
	if d := b.Delay(1000, 0); d < 150*time.Second || d >= 5*time.Minute {
		t.Errorf("late delay %v, want capped at 5m", d)
	}
}
