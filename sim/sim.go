// Package sim simulates a day in the demo city against a running FieldFix server, over HTTP
// only: customers book at a Poisson rate, simulated technicians register their phones, take their
// offers (accept, sometimes decline), drive (location pings), arrive, finish (sometimes needing a
// second visit) and customers rate the visit. About 40% of the customers' products are in
// warranty (they register the purchase, and the technician sees the proof on site), as in a real
// city. The sim keeps a simulated clock (Clock) that starts at Config.Start and runs Speed times
// faster than the wall clock (60: an hour a minute): a technician leaves for a visit when, on that
// clock, the drive brings them to its planned start, and the report's response times and SLA are
// measured on it. A server run on the same clock (Config.ServerOnClock: `fieldfix sim` runs one
// in-process) keeps every time on it too, so its KPIs and board tell the simulated day; a server
// on its own wall clock sees the compressed durations. It prints figures as it goes and doubles
// as a load generator. It only ever talks to Config.BaseURL and stops by itself after
// Config.Duration.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
)

// Config drives a simulation.
type Config struct {
	BaseURL     string
	Tokens      api.JWT       // the server's token settings, to mint the simulated people's tokens
	Duration    time.Duration // wall-clock length of the run
	Rate        float64       // bookings per wall-clock second
	Speed       float64       // simulated seconds per wall-clock second (60: an hour a minute)
	Technicians int           // simulated technicians tech-01..tech-NN (the seed's subjects)
	Decline     float64       // probability a technician declines an offer
	Incomplete  float64       // probability a visit needs a second one
	Warranty    float64       // share of bookings about a product in warranty (0.4)
	Seed        uint64
	Report      time.Duration // how often KPIs are printed
	Out         io.Writer
	Center      dispatch.Location // the city; default Lyon
	// Clock is the simulated clock (nil: one from Start, or the wall clock's now, at Speed).
	Clock *Clock
	Start time.Time
	// ServerOnClock says the server runs on Clock too: tokens are issued on it, and its KPIs and
	// board are read for the simulated period.
	ServerOnClock bool
}

// Summary is what a run did.
type Summary struct {
	Bookings   int
	Statuses   map[int]int
	P50, P99   time.Duration
	Accepted   int64
	Declined   int64
	OnSite     int64
	Completed  int64
	Incomplete int64
	Rated      int64
	Errors     int64
	LastKPIs   map[string]any // the server's GET /v1/kpis by tier at the end, for the simulated period
	Board      BoardCounts    // the server's GET /v1/board at the end
	Wall       time.Duration  // how long the run took
	Speed      float64
	// ServerOnClock: the server ran on the simulated clock, so LastKPIs and Board are of the simulated day.
	ServerOnClock bool
	BookingRate   float64
	Tiers         map[string]int // bookings made, by tier
	// On the simulated clock: from SimStart to SimEnd; arrivals measured on it.
	SimStart, SimEnd time.Time
	Arrivals         map[string]int           // by tier
	OnTime           map[string]int           // arrivals by the SLA due time, by tier
	Response         map[string]time.Duration // median booking → arrival, by tier
	Lateness         time.Duration            // median arrival after the planned start
}

// BoardCounts is what the server's board held when the run ended.
type BoardCounts struct {
	Day                 string
	Unassigned, AtRisk  int
	Routes, PlannedJobs int
	ByStatus            map[string]int // the routes' jobs by state
}

type runner struct {
	cfg    Config
	client *http.Client
	mu     sync.Mutex
	lat    []time.Duration
	codes  map[int]int
	owner  map[int64]string // booking id → customer subject
	s      Summary
	clock  *Clock
	start  time.Time                  // the simulated clock when the run began
	booked map[int64]bookingRecord    // booking id → when (simulated) and due
	resp   map[string][]time.Duration // simulated booking → arrival, by tier
	late   []time.Duration            // simulated arrival − planned start
}

// bookingRecord is a booking as the simulated clock saw it.
type bookingRecord struct {
	tier     string
	at, due  time.Time // simulated
	customer string
}

// simNow is the simulated clock: Start at the start, Speed times faster than the wall since.
func (r *runner) simNow() time.Time { return r.clock.Now() }

// Run simulates until cfg.Duration has passed or ctx ends.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.Center == (dispatch.Location{}) {
		cfg.Center = dispatch.Location{Lat: 45.764, Lng: 4.8357}
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 60
	}
	if cfg.Report <= 0 {
		cfg.Report = 10 * time.Second
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Warranty < 0 || cfg.Warranty > 1 {
		return Summary{}, fmt.Errorf("warranty share %v is not between 0 and 1", cfg.Warranty)
	}
	if cfg.Clock == nil {
		if cfg.Start.IsZero() {
			cfg.Start = time.Now()
		}
		cfg.Clock = NewClock(cfg.Start, cfg.Speed)
	}
	r := &runner{cfg: cfg, client: &http.Client{Timeout: 15 * time.Second}, codes: map[int]int{}, owner: map[int64]string{},
		clock: cfg.Clock, booked: map[int64]bookingRecord{}, resp: map[string][]time.Duration{}}
	r.clock.Run() // a held clock (the server's, while it started) goes from here
	r.start = r.clock.Now()
	r.s.Tiers, r.s.Arrivals, r.s.OnTime, r.s.Response = map[string]int{}, map[string]int{}, map[string]int{}, map[string]time.Duration{}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := 1; i <= cfg.Technicians; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.technician(ctx, fmt.Sprintf("tech-%02d", i), uint64(i)) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); r.reporter(ctx) }()
	start := time.Now()
	r.customers(ctx)
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Statuses = r.codes
	r.s.Bookings = len(r.lat)
	if len(r.lat) > 0 {
		s := slices.Clone(r.lat)
		slices.Sort(s)
		r.s.P50, r.s.P99 = s[len(s)/2], s[int(math.Ceil(0.99*float64(len(s))))-1]
	}
	r.s.Wall = time.Since(start)
	r.s.BookingRate = float64(r.s.Bookings) / r.s.Wall.Seconds()
	r.s.Speed, r.s.ServerOnClock = r.clock.Speed(), cfg.ServerOnClock
	r.s.SimStart, r.s.SimEnd = r.start, r.simNow()
	for tier, ds := range r.resp {
		r.s.Response[tier] = median(ds)
	}
	r.s.Lateness = median(r.late)
	r.s.LastKPIs = r.kpis(context.Background())
	r.s.Board = r.board(context.Background())
	return r.s, nil
}

// median is the middle value, or the mean of the two middle ones: what the server's KPIs call
// p50 (PostgreSQL's percentile_cont), so that the two agree on the same arrivals.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// token is a token for sub, issued on the server's clock.
func (r *runner) token(role dispatch.Role, sub string) string {
	now := time.Now()
	if r.cfg.ServerOnClock {
		now = r.simNow()
	}
	t, _ := r.cfg.Tokens.Issue(role, sub, now, 24*time.Hour+time.Duration(float64(r.cfg.Duration)*r.clock.Speed()))
	return t
}

// call sends a request and decodes the JSON answer into out (when given); it returns the status.
func (r *runner) call(ctx context.Context, method, path, token string, body, out any, headers ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.cfg.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	} else {
		_, _ = io.Copy(io.Discard, res.Body)
	}
	return res.StatusCode, nil
}

var appliances = []struct {
	name   string
	weight float64
}{{"washer", 3}, {"fridge", 2}, {"dishwasher", 1.5}, {"ac", 1.5}, {"tv", 1}, {"water_heater", 1}, {"dryer", 1}}

var channels = []string{"app", "app", "app", "web", "web", "phone", "chat", "social"}

// customers books at a Poisson rate until ctx ends.
func (r *runner) customers(ctx context.Context) {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 1))
	total := 0.0
	for _, a := range appliances {
		total += a.weight
	}
	var wg sync.WaitGroup
	for n := 0; ; n++ {
		wait := time.Duration(rng.ExpFloat64() / r.cfg.Rate * float64(time.Second))
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-time.After(wait):
		}
		pick, app := rng.Float64()*total, appliances[0].name
		for _, a := range appliances {
			if pick -= a.weight; pick < 0 {
				app = a.name
				break
			}
		}
		dist, ang := 9*math.Sqrt(rng.Float64()), rng.Float64()*2*math.Pi
		loc := dispatch.Location{Lat: r.cfg.Center.Lat + dist/111.32*math.Sin(ang),
			Lng: r.cfg.Center.Lng + dist/(111.32*math.Cos(r.cfg.Center.Lat*math.Pi/180))*math.Cos(ang)}
		sub := fmt.Sprintf("sim-customer-%d", rng.IntN(5000))
		body := map[string]any{"service_type": "repair", "appliance": app, "problem": "simulated fault", "address": "simulated address",
			"location": loc, "channel": channels[rng.IntN(len(channels))]}
		key := fmt.Sprintf("sim-%d-%d-%d", r.cfg.Seed, time.Now().UnixMilli(), n) // a run's own: another run's key would replay its booking
		inWarranty, age := rng.Float64() < r.cfg.Warranty, 1+rng.IntN(22)         // months since the purchase
		if !inWarranty {
			age = 26 + rng.IntN(60)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct {
				ID       int64     `json:"id"`
				Tier     string    `json:"tier"`
				Created  time.Time `json:"created_at"`
				SLADueAt time.Time `json:"sla_due_at"`
			}
			// The customer's product: registered by them (the technician sees the proof on site).
			var p struct {
				ID int64 `json:"id"`
			}
			bought := dispatch.DateOf(r.simNow()).AddMonths(-age)
			if code, err := r.call(ctx, "POST", "/v1/purchases", r.token(dispatch.RoleCustomer, sub), map[string]any{"category": app, "brand": "Sim",
				"model": "S-" + app, "purchased_at": bought.String(), "warranty_months": 24}, &p); err == nil && code == http.StatusCreated {
				body["purchase_id"] = p.ID
			}
			t0 := time.Now()
			code, err := r.call(ctx, "POST", "/v1/bookings", r.token(dispatch.RoleCustomer, sub), body, &out, "Idempotency-Key", key)
			if err != nil {
				if ctx.Err() == nil {
					atomic.AddInt64(&r.s.Errors, 1)
				}
				return
			}
			r.mu.Lock()
			r.lat = append(r.lat, time.Since(t0))
			r.codes[code]++
			if code == http.StatusCreated {
				r.owner[out.ID] = sub
				at := r.simNow()
				r.booked[out.ID] = bookingRecord{tier: out.Tier, at: at, due: at.Add(out.SLADueAt.Sub(out.Created)), customer: sub}
				r.s.Tiers[out.Tier]++
			}
			r.mu.Unlock()
		}()
	}
}

type agendaItem struct {
	Job struct {
		ID           int64     `json:"id"`
		Status       string    `json:"status"`
		PlannedStart time.Time `json:"planned_start"`
	} `json:"job"`
	WarrantyVerified *bool             `json:"warranty_verified"`
	BookingID        int64             `json:"booking_id"`
	Location         dispatch.Location `json:"location"`
	DurationMinutes  int               `json:"duration_minutes"`
}

// sleep waits d of simulated time.
func (r *runner) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(r.clock.Wall(d)):
		return true
	}
}

// technician answers offers and works through the agenda, one visit at a time.
func (r *runner) technician(ctx context.Context, sub string, seed uint64) {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, seed+100))
	tok := r.token(dispatch.RoleTechnician, sub)
	if code, err := r.call(ctx, "PUT", "/v1/technicians/me/devices", tok, map[string]any{"token": "sim-" + sub, "platform": "android", "app_version": "sim"}, nil); err != nil || code != 200 {
		return // not a technician of this server (fewer seeded than asked)
	}
	pos := r.cfg.Center
	for ctx.Err() == nil {
		var agenda struct {
			Items []agendaItem `json:"items"`
		}
		if _, err := r.call(ctx, "GET", "/v1/technicians/me/jobs", tok, nil, &agenda); err != nil {
			return
		}
		var next *agendaItem
		for i, it := range agenda.Items {
			switch it.Job.Status {
			case "offered":
				path := fmt.Sprintf("/v1/jobs/%d/", it.Job.ID)
				if rng.Float64() < r.cfg.Decline {
					if code, _ := r.call(ctx, "POST", path+"decline", tok, map[string]string{"reason": "simulated: too far"}, nil); code == 200 {
						atomic.AddInt64(&r.s.Declined, 1)
					}
					continue
				}
				if code, _ := r.call(ctx, "POST", path+"accept", tok, nil, nil); code == 200 {
					atomic.AddInt64(&r.s.Accepted, 1)
					agenda.Items[i].Job.Status = "accepted"
				}
			}
			if next == nil && agenda.Items[i].Job.Status == "accepted" {
				next = &agenda.Items[i]
			}
		}
		if next == nil {
			if !r.sleep(ctx, 5*time.Minute) {
				return
			}
			continue
		}
		// Leave when the drive brings them to the planned start (simulated clock), answering
		// offers meanwhile.
		if wait := next.Job.PlannedStart.Add(-driveTime(pos, next.Location)).Sub(r.simNow()); wait > 0 {
			if !r.sleep(ctx, min(wait, 5*time.Minute)) {
				return
			}
			continue
		}
		pos = r.visit(ctx, rng, tok, pos, *next)
	}
}

// visit drives to the job (pinging on the way), works and reports; it returns where it ends.
func (r *runner) visit(ctx context.Context, rng *rand.Rand, tok string, from dispatch.Location, it agendaItem) dispatch.Location {
	path := fmt.Sprintf("/v1/jobs/%d/status", it.Job.ID)
	if code, _ := r.call(ctx, "POST", path, tok, map[string]any{"status": "en_route", "location": from}, nil); code != 200 {
		return from
	}
	drive := driveTime(from, it.Location)
	for step := 1; step <= 3; step++ {
		if !r.sleep(ctx, drive/3) {
			return from
		}
		f := float64(step) / 3
		p := dispatch.Location{Lat: from.Lat + f*(it.Location.Lat-from.Lat), Lng: from.Lng + f*(it.Location.Lng-from.Lng)}
		_, _ = r.call(ctx, "PUT", "/v1/technicians/me/location", tok, p, nil)
	}
	arrive := map[string]any{"status": "on_site", "location": it.Location}
	if it.WarrantyVerified != nil && !*it.WarrantyVerified {
		arrive["proof_of_purchase"] = true // the customer shows the receipt
	}
	if code, _ := r.call(ctx, "POST", path, tok, arrive, nil); code != 200 {
		return it.Location
	}
	atomic.AddInt64(&r.s.OnSite, 1)
	r.arrived(it)
	if !r.sleep(ctx, time.Duration(it.DurationMinutes)*time.Minute) {
		return it.Location
	}
	done := map[string]any{"status": "completed", "outcome": "fixed", "notes": "simulated repair",
		"parts_used": []map[string]any{{"sku": "SIM-1", "quantity": 1}}}
	if rng.Float64() < r.cfg.Incomplete {
		done = map[string]any{"status": "incomplete", "outcome": "needs_parts", "notes": "part on order"}
	}
	if code, _ := r.call(ctx, "POST", path, tok, done, nil); code != 200 {
		return it.Location
	}
	if done["status"] == "incomplete" {
		atomic.AddInt64(&r.s.Incomplete, 1)
		return it.Location
	}
	atomic.AddInt64(&r.s.Completed, 1)
	r.mu.Lock()
	owner := r.owner[it.BookingID]
	r.mu.Unlock()
	if owner != "" {
		csat := 3 + rng.IntN(3)
		if code, _ := r.call(ctx, "POST", fmt.Sprintf("/v1/bookings/%d/feedback", it.BookingID), r.token(dispatch.RoleCustomer, owner),
			map[string]any{"csat": csat, "nps": min(10, 5+csat), "comment": "simulated"}, nil); code == 201 {
			atomic.AddInt64(&r.s.Rated, 1)
		}
	}
	return it.Location
}

// driveTime is the simulated drive: 25 km/h across the city, plus 5 minutes to park.
func driveTime(from, to dispatch.Location) time.Duration {
	km := 111.32 * math.Hypot(to.Lat-from.Lat, (to.Lng-from.Lng)*math.Cos(from.Lat*math.Pi/180))
	return time.Duration(km/25*float64(time.Hour)) + 5*time.Minute
}

// arrived records an arrival on the simulated clock: the response time and whether it kept the SLA.
func (r *runner) arrived(it agendaItem) {
	now := r.simNow()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.late = append(r.late, now.Sub(it.Job.PlannedStart))
	b, ok := r.booked[it.BookingID]
	if !ok {
		return // booked before this run
	}
	delete(r.booked, it.BookingID) // a second visit is not a response
	r.resp[b.tier] = append(r.resp[b.tier], now.Sub(b.at))
	r.s.Arrivals[b.tier]++
	if !now.After(b.due) {
		r.s.OnTime[b.tier]++
	}
}
