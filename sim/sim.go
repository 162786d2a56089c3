// Package sim simulates a day in the demo city against a running FieldFix server, over HTTP
// only: customers book at a Poisson rate, simulated technicians register their phones, take their
// offers (accept, sometimes decline), drive (location pings), arrive, finish (sometimes needing a
// second visit) and customers rate the visit. About 40% of the customers' products are in
// warranty (they register the purchase, and the technician sees the proof on site), as in a real
// city. The sim keeps a simulated clock that starts at the wall clock and runs Speed times faster
// (60: an hour a minute): a technician leaves for a visit when, on that clock, the drive brings
// them to its planned start, and the report's response times and SLA are measured on it. The
// server keeps its own (wall) clock, so its KPIs see the compressed durations. It prints figures
// as it goes and doubles as a load generator. It only ever talks to Config.BaseURL and stops by
// itself after Config.Duration.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
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
	Tiers       map[string]int // bookings made, by tier
	// On the simulated clock: from SimStart to SimEnd; arrivals measured on it.
	SimStart, SimEnd time.Time
	Arrivals         map[string]int           // by tier
	OnTime           map[string]int           // arrivals by the SLA due time, by tier
	Response         map[string]time.Duration // median booking → arrival, by tier
	Lateness         time.Duration            // median arrival after the planned start
}

type runner struct {
	cfg    Config
	client *http.Client
	mu     sync.Mutex
	lat    []time.Duration
	codes  map[int]int
	owner  map[int64]string // booking id → customer subject
	s      Summary
	start  time.Time                  // wall clock when the run began: the simulated clock's origin
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

// simNow is the simulated clock: the wall clock at the start, Speed times faster since.
func (r *runner) simNow() time.Time {
	return r.start.Add(time.Duration(float64(time.Since(r.start)) * r.cfg.Speed))
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
	if cfg.Warranty < 0 || cfg.Warranty > 1 {
		return Summary{}, fmt.Errorf("warranty share %v is not between 0 and 1", cfg.Warranty)
	}
	r := &runner{cfg: cfg, client: &http.Client{Timeout: 15 * time.Second}, codes: map[int]int{}, owner: map[int64]string{},
		start: time.Now(), booked: map[int64]bookingRecord{}, resp: map[string][]time.Duration{}}
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
	r.s.BookingRate = float64(r.s.Bookings) / time.Since(start).Seconds()
	r.s.SimStart, r.s.SimEnd = r.start, r.simNow()
	for tier, ds := range r.resp {
		r.s.Response[tier] = median(ds)
	}
	r.s.Lateness = median(r.late)
	r.s.LastKPIs = r.kpis(context.Background())
	return r.s, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
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
		key := fmt.Sprintf("sim-%d-%d-%d", r.cfg.Seed, r.start.UnixMilli(), n) // a run's own: another run's key would replay its booking
		inWarranty, age := rng.Float64() < r.cfg.Warranty, 1+rng.IntN(22)      // months since the purchase
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
			bought := dispatch.DateOf(time.Now()).AddMonths(-age)
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
		line := fmt.Sprintf("%s · bookings %d · accepted %d · declined %d · completed %d · rated %d", r.simNow().Format("Mon 15:04"), n,
			atomic.LoadInt64(&r.s.Accepted), atomic.LoadInt64(&r.s.Declined), atomic.LoadInt64(&r.s.Completed), atomic.LoadInt64(&r.s.Rated))
		k := r.kpis(ctx)
		for _, tier := range slices.Sorted(maps.Keys(k)) { // the same order on every line
			m := k[tier].(map[string]any)
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
