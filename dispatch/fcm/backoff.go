package fcm

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces retries of a Retryable push: exponential from Base, capped at Max, with
// jitter so devices hit by one outage do not come back in lockstep, and never sooner than
// the server's Retry-After. The zero value uses the defaults.
type Backoff struct {
	Base time.Duration // delay before the first retry, before jitter; default 1 s
	Max  time.Duration // cap on the exponential part; default 5 min
	// Jitter returns a number in [0, 1); nil means math/rand/v2's Float64. Inject
	// rand.New(rand.NewPCG(seed, seed)).Float64 for a repeatable sequence (that one is not safe
	// for concurrent use).
	Jitter func() float64
}

const (
	defaultBackoffBase = time.Second
	defaultBackoffMax  = 5 * time.Minute
)

// Delay is how long to wait before retry number attempt (1 for the first retry) when the
// server asked for retryAfter (0 if it did not). The exponential part d = Base·2^(attempt-1),
// capped at Max, becomes a random delay in [d/2, d); a larger Retry-After wins, even above Max,
// since sending sooner only earns another refusal.
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	base, maxDelay := b.Base, b.Max
	if base <= 0 {
		base = defaultBackoffBase
	}
	if maxDelay <= 0 {
		maxDelay = defaultBackoffMax
	}
	maxDelay = max(maxDelay, base)
	jitter := b.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}

	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	d = d/2 + time.Duration(jitter()*float64(d/2))
	return max(d, retryAfter)
}
