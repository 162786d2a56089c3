package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
)

type loader struct {
	secret  []byte
	client  *http.Client // for /metrics
	targets []*rawClient // for the bookings: one per server
	// sectors: each server takes the bookings of one sector of the city (a region's stand-in),
	// instead of each server in turn.
	sectors bool
	seq     atomic.Int64
	tokens  []string // one per customer, signed up front: the generator shares the server's two cores
}

// newLoader signs the customers' tokens and opens a client per server base URL.
func newLoader(c config, bases []string, sectors bool) (*loader, error) {
	l := &loader{secret: []byte(c.secret), client: &http.Client{Timeout: 30 * time.Second}, sectors: sectors}
	for _, b := range bases {
		l.targets = append(l.targets, newRawClient(strings.TrimPrefix(b, "http://"), 30*time.Second))
	}
	return l, l.signTokens()
}

func (l *loader) close() {
	for _, t := range l.targets {
		t.close()
	}
}

// target is the server a booking at angle a (radians around the centre) goes to.
func (l *loader) target(n int64, a float64) *rawClient {
	k := len(l.targets)
	if l.sectors {
		return l.targets[min(k-1, int(a/(2*math.Pi)*float64(k)))]
	}
	return l.targets[n%int64(k)]
}

// customers is how many customers the load books for.
const customers = 10000

// traceSlow, when set (LOADBENCH_TRACE_SLOW, a duration), logs to stderr every fixed-rate request
// slower than it, with the wall clock, to line stalls up with the server's and PostgreSQL's logs.
var traceSlow, _ = time.ParseDuration(os.Getenv("LOADBENCH_TRACE_SLOW"))

// maxReplaysPerRun bounds one pgbench run's transactions (500,000/s for 10 s), so runs replay at
// times of their own: each run's go 2 h × this further into the past (1,141 years) than the one
// numbered before it; the history's, numbered 2, some 2,300 years back.
const maxReplaysPerRun = 5_000_000

// signTokens issues every customer's token (valid for the benchmark's length).
func (l *loader) signTokens() error {
	l.tokens = make([]string, customers)
	for i := range l.tokens {
		tok, err := api.IssueToken(l.secret, dispatch.RoleCustomer, fmt.Sprintf("load-customer-%d", i), time.Now(), 3*time.Hour)
		if err != nil {
			return err
		}
		l.tokens[i] = tok
	}
	return nil
}

type result struct {
	mu    sync.Mutex
	sent  int
	codes map[int]int
	lat   []time.Duration
}

func (r *result) add(code int, d time.Duration) {
	r.mu.Lock()
	r.sent++
	r.codes[code]++
	r.lat = append(r.lat, d)
	r.mu.Unlock()
}

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(p*float64(len(s))))-1)]
}

func (r *result) other() string {
	var parts []string
	for code, n := range r.codes {
		if code != 201 {
			parts = append(parts, fmt.Sprintf("%d×%d", n, code))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

var appliances = []string{"washer", "fridge", "ac", "tv", "water_heater", "dishwasher", "dryer"}

// book sends one booking and returns the status.
func (l *loader) book(ctx context.Context, rng *rand.Rand) int {
	n := l.seq.Add(1)
	tok := l.tokens[n%customers]
	r, a := 9*math.Sqrt(rng.Float64()), rng.Float64()*2*math.Pi
	lat, lng := 45.764+r/111.32*math.Sin(a), 4.8357+r/77.8*math.Cos(a)
	body := `{"service_type":"repair","appliance":"` + appliances[rng.IntN(len(appliances))] +
		`","problem":"does not work","address":"Lyon","channel":"app","location":{"lat":` +
		strconv.FormatFloat(lat, 'f', 6, 64) + `,"lng":` + strconv.FormatFloat(lng, 'f', 6, 64) + `}}`
	req := make([]byte, 0, 512+len(tok)+len(body))
	req = append(req, "POST /v1/bookings HTTP/1.1\r\nHost: fieldfix\r\nAuthorization: Bearer "...)
	req = append(req, tok...)
	req = append(req, "\r\nContent-Type: application/json\r\nIdempotency-Key: load-"...)
	req = strconv.AppendInt(req, n, 10)
	req = append(req, "\r\nContent-Length: "...)
	req = strconv.AppendInt(req, int64(len(body)), 10)
	req = append(req, "\r\n\r\n"...)
	req = append(req, body...)
	code, err := l.target(n, a).do(req)
	if err != nil {
		return 0
	}
	return code
}

// fixedRate sends rate requests a second for d on a fixed schedule, whatever the answers take
// (open loop); latency counts from the scheduled send time, so queueing is not hidden.
func (l *loader) fixedRate(ctx context.Context, rate int, d time.Duration) *result {
	res := &result{codes: map[int]int{}}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4000)
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(at))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			code := l.book(ctx, rng)
			took := time.Since(at)
			res.add(code, took)
			if traceSlow > 0 && took > traceSlow {
				fmt.Fprintf(os.Stderr, "slow %s sent %s took %s\n", time.Now().Format("15:04:05.000"), at.Format("15:04:05.000"), took.Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
	return res
}

// closedLoop keeps n requests in flight for d.
func (l *loader) closedLoop(ctx context.Context, n int, d time.Duration) *result {
	res := &result{codes: map[int]int{}}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for time.Now().Before(deadline) {
				t0 := time.Now()
				code := l.book(ctx, rng)
				res.add(code, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	return res
}
