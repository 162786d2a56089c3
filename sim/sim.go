// Package sim simulates a day in the demo city against a running FieldFix server, over HTTP
// only: customers book at a Poisson rate, simulated technicians register their phones, take their
// offers (accept, sometimes decline), drive (location pings), arrive, finish (sometimes needing a
// second visit) and customers rate the visit. Durations are compressed by Speed so a day runs in
// minutes. It prints KPIs as it goes and doubles as a load generator. It only ever talks to
// Config.BaseURL and stops by itself after Config.Duration.
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
	Seed        uint64
	Report      time.Duration // how often KPIs are printed
	Out         io.Writer
	Center      dispatch.Location // the city; default Lyon
}

// Summary is what a run did.
type Summary struct {
	Bookings    int
	Statuses    map[int]int
	P50, P99    time.Duration
	Accepted    int64
	Declined    int64
	OnSite      int64
	Completed   int64
	Incomplete  int64
	Rated       int64
	Errors      int64
	LastKPIs    map[string]any
	BookingRate float64
}

type runner struct {
	cfg    Config
	client *http.Client
	mu     sync.Mutex
	lat    []time.Duration
	codes  map[int]int
	owner  map[int64]string // booking id → customer subject
	s      Summary
}

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
	r := &runner{cfg: cfg, client: &http.Client{Timeout: 15 * time.Second}, codes: map[int]int{}, owner: map[int64]string{}}
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
	r.s.BookingRate = float64(r.s.Bookings) / time.Since(start).Seconds()
	r.s.LastKPIs = r.kpis(context.Background())
	return r.s, nil
}

func (r *runner) token(role dispatch.Role, sub string) string {
	t, _ := r.cfg.Tokens.Issue(role, sub, time.Now(), 24*time.Hour)
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
		key := fmt.Sprintf("sim-%d-%d", r.cfg.Seed, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct {
				ID int64 `json:"id"`
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
			}
			r.mu.Unlock()
		}()
	}
}

type agendaItem struct {
	Job struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"job"`
	BookingID       int64             `json:"booking_id"`
	Location        dispatch.Location `json:"location"`
	DurationMinutes int               `json:"duration_minutes"`
}

// sleep waits d of simulated time.
func (r *runner) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Duration(float64(d) / r.cfg.Speed)):
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
		pos = r.visit(ctx, rng, tok, pos, *next)
	}
}

// visit drives to the job (pinging on the way), works and reports; it returns where it ends.
func (r *runner) visit(ctx context.Context, rng *rand.Rand, tok string, from dispatch.Location, it agendaItem) dispatch.Location {
	path := fmt.Sprintf("/v1/jobs/%d/status", it.Job.ID)
	if code, _ := r.call(ctx, "POST", path, tok, map[string]any{"status": "en_route", "location": from}, nil); code != 200 {
		return from
	}
	km := 111.32 * math.Hypot(it.Location.Lat-from.Lat, (it.Location.Lng-from.Lng)*math.Cos(from.Lat*math.Pi/180))
	drive := time.Duration(km/25*float64(time.Hour)) + 5*time.Minute
	for step := 1; step <= 3; step++ {
		if !r.sleep(ctx, drive/3) {
			return from
		}
		f := float64(step) / 3
		p := dispatch.Location{Lat: from.Lat + f*(it.Location.Lat-from.Lat), Lng: from.Lng + f*(it.Location.Lng-from.Lng)}
		_, _ = r.call(ctx, "PUT", "/v1/technicians/me/location", tok, p, nil)
	}
	if code, _ := r.call(ctx, "POST", path, tok, map[string]any{"status": "on_site", "location": it.Location}, nil); code != 200 {
		return it.Location
	}
	atomic.AddInt64(&r.s.OnSite, 1)
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

func (r *runner) kpis(ctx context.Context) map[string]any {
	var out struct {
		Groups []map[string]any `json:"groups"`
	}
	if _, err := r.call(ctx, "GET", "/v1/kpis?group_by=tier", r.token(dispatch.RoleDispatcher, "sim-dispatcher"), nil, &out); err != nil {
		return nil
	}
	k := map[string]any{}
	for _, g := range out.Groups {
		k[fmt.Sprint(g["group"])] = g
	}
	return k
}

func (r *runner) reporter(ctx context.Context) {
	t := time.NewTicker(r.cfg.Report)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		n := len(r.lat)
		r.mu.Unlock()
		line := fmt.Sprintf("bookings %d · accepted %d · declined %d · completed %d · rated %d", n,
			atomic.LoadInt64(&r.s.Accepted), atomic.LoadInt64(&r.s.Declined), atomic.LoadInt64(&r.s.Completed), atomic.LoadInt64(&r.s.Rated))
		for tier, g := range r.kpis(ctx) {
			m := g.(map[string]any)
			line += fmt.Sprintf(" · %s: SLA %v, FTF %v, CSAT %v, NPS %v", tier, pct(m["sla_compliance"]), pct(m["first_time_fix_rate"]), num(m["csat_avg"]), num(m["nps"]))
		}
		fmt.Fprintln(r.cfg.Out, line)
	}
}

func pct(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.0f%%", 100*f)
	}
	return "—"
}

func num(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.1f", f)
	}
	return "—"
}
