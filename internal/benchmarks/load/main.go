// Command load measures booking throughput and latency of a real `fieldfix serve` process on
// this machine, and in the same run PostgreSQL's own ceiling for the same work: pgbench
// replaying the statements one booking issues (recorded from the real code path),
// with the same number of clients. It prints a markdown report.
//
//	make bench-load   (go run ./internal/benchmarks/load -bin bin/fieldfix)
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
)

type config struct {
	bin         string
	pg          string
	db          string
	rates       []int
	step        time.Duration
	concurrency int
	technicians int
	secret      string
	ceiling     bool
	history     int
	replicas    []int // when set: the replica comparison (replicas.go) instead of the one-server report
}

func main() {
	var c config
	var rates string
	flag.StringVar(&c.bin, "bin", "bin/fieldfix", "the fieldfix binary")
	flag.StringVar(&c.pg, "pg", envOr("LOADBENCH_PG", defaultPG()), "PostgreSQL server URL (no database); by default its Unix socket when there is one")
	flag.StringVar(&c.db, "db", "fieldfix_loadbench", "scratch database (dropped and created)")
	flag.StringVar(&rates, "rates", "100,300,1000", "fixed request rates to measure (per second)")
	flag.DurationVar(&c.step, "duration", 10*time.Second, "time per measurement")
	flag.IntVar(&c.concurrency, "concurrency", 16, "clients for the throughput run and pgbench")
	flag.IntVar(&c.technicians, "technicians", 3000, "demo technicians (enough that the run does not fill every route: then most bookings would go unassigned, which is cheaper)")
	flag.IntVar(&c.history, "history", 20000, "past bookings (cancelled) and 10,000 other customers in the database before measuring; 0: start empty")
	flag.BoolVar(&c.ceiling, "ceiling", true, "also measure pgbench's ceiling (false: the server alone, for quick comparisons)")
	replicas := flag.String("replicas", "", "compare this many `fieldfix serve` replicas on the one database, e.g. 1,2,3 (make bench-replicas): 300/s and the closed loop for each, requests spread round-robin and by sector")
	flag.Parse()
	c.rates = positiveInts(rates, "-rates")
	if *replicas != "" {
		c.replicas = positiveInts(*replicas, "-replicas")
	}
	c.secret = "loadbench-secret"
	do := run
	if len(c.replicas) > 0 {
		do = runReplicas
	}
	if err := do(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-load:", err)
		os.Exit(1)
	}
}

// defaultPG is the local PostgreSQL's Unix socket when it has one, else 127.0.0.1:5432. With the
// server and PostgreSQL on one machine the socket is what a deployment would use: it spared about
// a tenth of both processes' CPU per booking over loopback TCP (same-hour pairs: 821 → 925 and
// 1,032 → 1,230 bookings/s). pgbench's ceiling goes the same way.
func defaultPG() string {
	const dir = "/var/run/postgresql"
	if _, err := os.Stat(dir + "/.s.PGSQL.5432"); err == nil {
		return "postgres://postgres@" + url.PathEscape(dir)
	}
	return "postgres://postgres@127.0.0.1:5432"
}

func positiveInts(list, name string) []int {
	var out []int
	for _, r := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bad "+name)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// prepared is the benchmark's database, seeded and given its past, and the recorded booking.
type prepared struct {
	admin  *pgx.Conn // to the server's "postgres" database
	dbURL  string
	script string // the booking's statements as a pgbench script
	stmts  int
	drop   func() // drops the database unless LOADBENCH_KEEP_DB is set
}

// prepare creates the scratch database, seeds it, records one booking's statements and replays
// the past; cleanup (never nil) drops the database and closes admin.
func prepare(ctx context.Context, c config) (*prepared, func(), error) {
	admin, err := pgx.Connect(ctx, c.pg+"/postgres?sslmode=disable")
	if err != nil {
		return nil, func() {}, err
	}
	p := &prepared{admin: admin, dbURL: c.pg + "/" + c.db + "?sslmode=disable", drop: func() {}}
	cleanup := func() { p.drop(); admin.Close(context.Background()) }
	return p, cleanup, p.load(ctx, c)
}

func (p *prepared) load(ctx context.Context, c config) (err error) {
	drop := func() { _, _ = p.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+c.db+" WITH (FORCE)") }
	drop()
	if _, err := p.admin.Exec(ctx, "CREATE DATABASE "+c.db); err != nil {
		return err
	}
	if os.Getenv("LOADBENCH_KEEP_DB") == "" { // kept: for replaying the script by hand
		p.drop = drop
	}
	seed := exec.Command(c.bin, "seed", "--technicians", strconv.Itoa(c.technicians))
	seed.Env, seed.Stderr = serverEnv(c, p.dbURL), os.Stderr
	if err := seed.Run(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	// Record one booking's statements first, while the plan is as fresh as a new day's.
	if p.script, p.stmts, err = pgbenchScript(ctx, p.dbURL, c); err != nil {
		return fmt.Errorf("recording a booking's statements: %w", err)
	}
	if c.history > 0 {
		if err := history(ctx, p.dbURL, p.script, c); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	}
	// What loaded the database (the seed, the recording, the history) leaves vacuum, analyze and
	// a checkpoint due: done now, they do not fall inside a measurement.
	return settle(ctx, p.dbURL)
}

// serverEnv is the environment of the seed and of every server: the scratch database, no rate
// limit (the load's customers book hundreds of times a minute), errors only in the log.
func serverEnv(c config, dbURL string, extra ...string) []string {
	return append(append(os.Environ(), "DATABASE_URL="+dbURL, "FIELDFIX_JWT_SECRET="+c.secret, "FIELDFIX_LOG_LEVEL=error",
		"FIELDFIX_BOOKINGS_PER_MINUTE=100000000"), extra...)
}

// startServer starts `fieldfix serve` on a free port and returns its base URL and a stop that
// interrupts it and waits (safe to call twice).
func startServer(c config, env []string) (*exec.Cmd, string, func(), error) {
	srv := exec.Command(c.bin, "serve", "--addr", "127.0.0.1:0")
	srv.Env, srv.Stderr = env, os.Stderr
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		return nil, "", nil, err
	}
	stop := sync.OnceFunc(func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() })
	base, err := listenAddr(out)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	go io.Copy(io.Discard, out)
	return srv, base, stop, nil
}

func run(ctx context.Context, c config) error {
	p, cleanup, err := prepare(ctx, c)
	defer cleanup()
	if err != nil {
		return err
	}
	admin, dbURL, script, stmts := p.admin, p.dbURL, p.script, p.stmts
	// The ceiling is measured before the server's runs and again after them, and the ratio taken
	// to their mean: this machine's speed drifts within minutes (it is shared), and one
	// measurement on either side of the server's would make the ratio that drift's. The first
	// runs on a copy of the database as it is now: its replays are bookings whose visits are
	// long past, which the server's at-risk watchdog would otherwise find late every minute
	// (tens of thousands of them), a load no real day has, inside the server's measurements.
	var before float64
	if c.ceiling {
		copyDB := c.db + "_ceiling"
		dropCopy := func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+copyDB+" WITH (FORCE)") }
		dropCopy()
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+copyDB+" TEMPLATE "+c.db); err != nil {
			return err
		}
		before, err = runPgbench(ctx, c.pg+"/"+copyDB+"?sslmode=disable", script, c, 0)
		dropCopy()
		if err != nil {
			return fmt.Errorf("pgbench: %w", err)
		}
	}
	srv, base, stopServer, err := startServer(c, serverEnv(c, dbURL))
	if err != nil {
		return err
	}
	defer stopServer()

	l, err := newLoader(c, []string{base}, false)
	if err != nil {
		return err
	}
	defer l.close()
	transport := "loopback TCP"
	if strings.Contains(c.pg, "%2F") {
		transport = "its Unix socket"
	}
	fmt.Printf("# Load: bookings with online assignment\n\nMeasured %s, %s, GOMAXPROCS %s; server `%s serve` and PostgreSQL 15 on this machine, connected through %s; %d demo technicians around Lyon and a past of %d cancelled bookings; each request books a repair at a random address for one of 10,000 customers, planned and offered at once.\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuName(), envOr("GOMAXPROCS", "2 cores"), c.bin, transport, c.technicians, c.history)
	l.fixedRate(ctx, 100, 2*time.Second) // warm-up
	// Each rate first runs for a second unmeasured: the step from the previous rate grows the
	// connection pools (HTTP and PostgreSQL), and that ramp is reported apart, not hidden.
	fmt.Println("| offered rate | sent | 201 | other | p50 | p99 | max | ramp: first second's p99 / max |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range c.rates {
		ramp := l.fixedRate(ctx, r, time.Second)
		res := l.fixedRate(ctx, r, c.step)
		fmt.Printf("| %d/s | %d | %d | %s | %.1f ms | %.1f ms | %.1f ms | %.1f / %.1f ms |\n", r, res.sent, res.codes[201], res.other(),
			ms(res.pct(.5)), ms(res.pct(.99)), ms(res.pct(1)), ms(ramp.pct(.99)), ms(ramp.pct(1)))
	}
	cpu0 := cpuSeconds(srv.Process.Pid)
	thr := l.closedLoop(ctx, c.concurrency, c.step)
	cpu1 := cpuSeconds(srv.Process.Pid)
	rate := float64(thr.codes[201]) / c.step.Seconds()
	fmt.Printf("\nSustained (closed loop, %d clients, %s): **%.0f bookings/s**, p50 %.1f ms, p99 %.1f ms, other statuses %s.\n",
		c.concurrency, c.step, rate, ms(thr.pct(.5)), ms(thr.pct(.99)), thr.other())
	if n := float64(max(1, thr.sent)); cpu0 != nil && cpu1 != nil {
		fmt.Printf("\nCPU per booking in that run (user + system, from /proc): server %.2f ms, PostgreSQL %.2f ms, this load generator %.2f ms.\n",
			1000*(cpu1["server"]-cpu0["server"])/n, 1000*(cpu1["postgres"]-cpu0["postgres"])/n, 1000*(cpu1["self"]-cpu0["self"])/n)
	}
	if pc, err := l.planCache(ctx, base); err == nil {
		fmt.Printf("\nPlan cache over the whole run (the server's `fieldfix_plan_cache_total`): %d bookings planned without a read, %d read the changed plans first (%.0f%% without a read); %d guarded writes found the chosen plan moved and were planned again.\n",
			pc["hit"], pc["read"], 100*float64(pc["hit"])/float64(max(1, pc["hit"]+pc["read"])), pc["changed"])
	} else {
		return fmt.Errorf("reading the server's metrics: %w", err)
	}

	{
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		var planned, jobs, overlaps int
		// The server's bookings, not the recording's nor pgbench's (booked for the warm-up customer).
		err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE j.technician_id IS NOT NULL), count(*)
			FROM jobs j JOIN bookings b ON b.id = j.booking_id JOIN customers c ON c.id = b.customer_id
			WHERE c.subject <> $1`, replayCustomer).Scan(&planned, &jobs)
		if err == nil {
			err = conn.QueryRow(ctx, overlapsSQL).Scan(&overlaps)
		}
		conn.Close(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("\nOf the %d jobs booked in the run, %d (%.1f%%) were planned on a technician at once; overlapping visits: %d.\n",
			jobs, planned, 100*float64(planned)/float64(max(jobs, 1)), overlaps)
	}
	if !c.ceiling {
		return nil
	}
	stopServer() // its background work (the watchdog, pushes) is not PostgreSQL's ceiling
	if err := settle(ctx, dbURL); err != nil {
		return err
	}
	after, err := runPgbench(ctx, dbURL, script, c, 1)
	if err != nil {
		return fmt.Errorf("pgbench: %w", err)
	}
	tps := (before + after) / 2
	fmt.Printf("\nPostgreSQL's ceiling for the same work: pgbench (prepared statements, like the server) replaying the %s one booking issues (recorded from `Service.CreateBooking`: same tables, indexes, constraints and triggers; technician and times varied so rows do not collide), %d clients, %s, before the server's runs and after them: %.0f and %.0f, mean **%.0f bookings/s** (runs of the script).\n\nRatio: **%.2f** of the ceiling.\n",
		statements(stmts), c.concurrency, c.step, before, after, tps, rate/tps)
	return nil
}

func statements(n int) string {
	if n == 1 {
		return "one statement"
	}
	return strconv.Itoa(n) + " statements"
}

func listenAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", errors.New("the server did not say where it listens")
}

func cpuName() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	if m := regexp.MustCompile(`model name\s*:\s*(.+)`).FindSubmatch(b); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return "unknown CPU"
}

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

// settle vacuums and analyzes the database and takes a checkpoint.
func settle(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{"VACUUM ANALYZE", "CHECKPOINT"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// history gives the database the past a running deployment has before the measurements: 10,000
// other customers and c.history bookings (the recorded booking replayed by pgbench, visits long
// past), cancelled so that no planning, watchdog or lifecycle query has them to do. A database
// measured empty is not one a deployment runs on: PostgreSQL plans a lookup in a nearly empty
// table (the foreign-key checks among them, which a connection plans once and keeps) as a
// sequential scan, and without an analyze as the tables grow (this machine's PostgreSQL runs
// without autovacuum; a deployment's analyzes only after a minute) those scans grow with the
// tables: 0.42 to 0.77 ms of the database's CPU per booking between runs, 5,000 full scans of
// each of bookings, jobs and customers in a run.
func history(ctx context.Context, dbURL, script string, c config) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO customers (subject, name)
		SELECT 'history-' || g, 'History ' || g FROM generate_series(1, 10000) g`); err != nil {
		return err
	}
	if err := runPgbenchTx(ctx, dbURL, script, c, historyRun, max(1, c.history/c.concurrency)); err != nil {
		return err
	}
	var customer int64
	if err := conn.QueryRow(ctx, "SELECT id FROM customers WHERE subject = $1", replayCustomer).Scan(&customer); err != nil {
		return err
	}
	for _, q := range []string{
		`UPDATE offers SET status = 'withdrawn' WHERE status = 'open'
			AND job_id IN (SELECT j.id FROM jobs j JOIN bookings b ON b.id = j.booking_id WHERE b.customer_id = $1)`,
		`UPDATE jobs SET status = 'cancelled', offer_expires_at = NULL WHERE booking_id IN (SELECT id FROM bookings WHERE customer_id = $1)`,
		`UPDATE bookings SET status = 'cancelled' WHERE customer_id = $1`,
	} {
		if _, err := conn.Exec(ctx, q, customer); err != nil {
			return err
		}
	}
	return nil
}

// replayCustomer books the recorded booking and every pgbench replay: the server's bookings are
// the other customers'.
const replayCustomer = "pgbench-warm-up"

// historyRun numbers the history's pgbench run after the ceiling's two, for times of its own.
const historyRun = 2

// cpuSeconds sums the CPU time (user + system) of the server processes, of every PostgreSQL
// process and of this one, from /proc (nil when /proc cannot be read).
func cpuSeconds(servers ...int) map[string]float64 {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	const tick = 100.0 // USER_HZ on Linux
	out := map[string]float64{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime: fields 14 and 15, counted after the comm.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		comm := string(b[bytes.IndexByte(b, '(')+1 : i])
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		switch {
		case slices.Contains(servers, pid):
			out["server"] += (ut + st) / tick
		case pid == os.Getpid():
			out["self"] += (ut + st) / tick
		case strings.HasPrefix(comm, "postgres"):
			out["postgres"] += (ut + st) / tick
		}
	}
	return out
}

// planCache reads a server's plan-cache counters by outcome from /metrics.
func (l *loader) planCache(ctx context.Context, base string) (map[string]int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for line := range strings.Lines(string(body)) {
		rest, ok := strings.CutPrefix(line, `fieldfix_plan_cache_total{outcome="`)
		if !ok {
			continue
		}
		name, n, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil {
			return nil, err
		}
		out[name] = int(v)
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ---- the pgbench ceiling ----

type recorder struct {
	mu    sync.Mutex
	on    bool
	stmts []recorded
}

type recorded struct {
	sql  string
	args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	if r.on {
		r.stmts = append(r.stmts, recorded{d.SQL, d.Args})
	}
	r.mu.Unlock()
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Statements sent together in a batch (one round trip) are replayed one by one.
func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (r *recorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.mu.Lock()
	if r.on {
		r.stmts = append(r.stmts, recorded{d.SQL, d.Args})
	}
	r.mu.Unlock()
}

func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// pgbenchScript records the statements of one booking through the real service and writes them
// as a pgbench script; it returns the script and its statement count.
func pgbenchScript(ctx context.Context, dbURL string, c config) (string, int, error) {
	rec := &recorder{}
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return "", 0, err
	}
	pc.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return "", 0, err
	}
	defer pool.Close()
	svc := services.New(postgres.New(pool), dispatch.DefaultRules(), nil, nil)
	svc.Planner.Index = geo.NewIndex()
	if err := svc.Planner.LoadIndex(ctx); err != nil {
		return "", 0, err
	}
	// A replica holds its candidates' plans and reads only those that changed since: one booking
	// first, unrecorded, so that the recorded one reads what a busy replica's booking reads (the
	// plan of the technician the previous booking went to), not every candidate's.
	req := intake.BookingRequest{ServiceType: "repair", Appliance: "washer", Problem: "does not work", Address: "Lyon",
		Location: dispatch.Location{Lat: 45.76, Lng: 4.84}}
	warm, _, err := svc.Intake.CreateBooking(ctx, dispatch.Actor{Subject: replayCustomer, Role: dispatch.RoleCustomer}, req, "", "")
	if err != nil {
		return "", 0, err
	}
	changed := int64(-1) // the technician whose plan the recorded booking reads again
	if j := warm.CurrentJob(); j != nil && j.TechnicianID != nil {
		changed = *j.TechnicianID
	}
	// The same customer, as most of a busy replica's bookings are from customers it has seen (their
	// id is remembered, not read).
	rec.on = true
	recorded, _, err := svc.Intake.CreateBooking(ctx, dispatch.Actor{Subject: replayCustomer, Role: dispatch.RoleCustomer}, req,
		"pgbench-recording-key", "hash")
	rec.on = false
	if err != nil {
		return "", 0, err
	}
	job := recorded.CurrentJob()
	if job == nil || job.TechnicianID == nil {
		return "", 0, fmt.Errorf("the recorded booking was not planned")
	}
	if d := job.PlannedEnd.Sub(*job.PlannedStart); d > 2*time.Hour {
		return "", 0, fmt.Errorf("the recorded visit lasts %s: replays 2 h apart would overlap", d)
	}
	var script strings.Builder
	// :o is unique to each replayed transaction of every run: the run's base (-D), then this
	// client's count of its transactions (n, kept between them), interleaved by client id.
	script.WriteString("\\set r random(1, 2000000000)\n\\set t random(1, " + strconv.Itoa(c.technicians) + ")\n" +
		"\\set n :n + 1\n\\set o :base + :n * " + strconv.Itoa(c.concurrency) + " + :client_id\n")
	n := 0
	for _, st := range rec.stmts {
		sql := st.sql
		// The job's technician and planned times vary per transaction, so replays do not collide
		// on the no-overlap constraint: parameters techArg, startArg and endArg of the statement
		// that writes the whole booking (BookingPlace), the only one that writes. Its guard names
		// the plan version the booking was planned on: replayed, the chosen technician's current
		// one (one more index probe than the server's statement).
		const planVersionArg, techArg, startArg, endArg = 1, 2, 28, 29
		isJobSave := strings.Contains(sql, "INSERT INTO bookings") && strings.Contains(sql, "INSERT INTO jobs")
		at := func(i int, want time.Time) bool { t, ok := deref(st.args[i-1]).(time.Time); return ok && t.Equal(want) }
		if isJobSave && (len(st.args) < endArg || deref(st.args[techArg-1]) != *job.TechnicianID ||
			!at(startArg, *job.PlannedStart) || !at(endArg, *job.PlannedEnd) || !isInt64(deref(st.args[planVersionArg-1]))) {
			return "", 0, fmt.Errorf("BookingPlace's parameters are not where the recording expects them (plan version %d, technician %d, times %d and %d): update the positions",
				planVersionArg, techArg, startArg, endArg)
		}
		// The plan reads name the versions the replica held: replayed, they read the plan of one
		// technician (the one whose version had moved when recorded), whatever the replays change.
		knownArg, knownAt := "", 0 // the ids are the first array argument, the versions held the second
		if strings.Contains(sql, "plan_version <>") {
			for i, a := range st.args {
				if _, ok := a.([]int64); !ok {
					continue
				}
				if knownArg != "" {
					knownAt = i + 1
					break
				}
				knownArg = fmt.Sprintf("ARRAY(SELECT CASE WHEN t.id = %d THEN -1 ELSE t.plan_version END FROM unnest(%s) WITH ORDINALITY AS u(id, n) JOIN technicians t ON t.id = u.id ORDER BY u.n)",
					changed, literal(a))
			}
		}
		for i := len(st.args); i >= 1; i-- {
			lit := literal(st.args[i-1])
			if i == knownAt {
				lit = "(" + knownArg + ")"
			}
			switch v := deref(st.args[i-1]).(type) {
			case int64:
				if isJobSave && i == techArg {
					lit = ":t"
				}
				if isJobSave && i == planVersionArg {
					lit = "(SELECT plan_version FROM technicians WHERE id = :t)"
				}
			case string:
				if v == "pgbench-recording-key" {
					lit = "('k' || :r)"
				}
			case time.Time:
				if isJobSave && (i == startArg || i == endArg) {
					lit = "(" + lit + " - :o * interval '2 hours')" // into the past, one hour's job 2 h from any other replay's: no collision and out of every later plan read
				}
			}
			sql = strings.ReplaceAll(sql, "$"+strconv.Itoa(i), lit)
		}
		var lines []string
		for _, line := range strings.Split(sql, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "--") {
				lines = append(lines, line)
			}
		}
		sql = strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
		script.WriteString(sql + ";\n")
		n++
	}
	return script.String(), n, nil
}

// runPgbench replays the script with the benchmark's clients for c.step and returns
// transactions per second.
//
// run numbers the runs: each replays its transactions at times of its own.
func runPgbench(ctx context.Context, dbURL, script string, c config, run int) (float64, error) {
	return pgbench(ctx, dbURL, script, c, run, "-T", strconv.Itoa(int(c.step.Seconds())))
}

// runPgbenchTx replays the script with the benchmark's clients, each for n transactions.
func runPgbenchTx(ctx context.Context, dbURL, script string, c config, run, n int) error {
	_, err := pgbench(ctx, dbURL, script, c, run, "-t", strconv.Itoa(n))
	return err
}

func pgbench(ctx context.Context, dbURL, script string, c config, run int, limit ...string) (float64, error) {
	f, err := os.CreateTemp("", "fieldfix-booking-*.sql")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		return 0, err
	}
	f.Close()
	if os.Getenv("LOADBENCH_KEEP_SCRIPT") != "" {
		fmt.Fprintln(os.Stderr, script)
	}
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(c.concurrency), "-j", "2",
		"-D", "n=0", "-D", "base=" + strconv.Itoa(run*maxReplaysPerRun)}
	cmd := exec.CommandContext(ctx, "pgbench", append(append(args, limit...), "-f", f.Name(), dbURL)...)
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%w: %s", err, outb.String())
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindStringSubmatch(outb.String())
	if m == nil {
		return 0, fmt.Errorf("no tps in pgbench output: %s", outb.String())
	}
	tps, _ := strconv.ParseFloat(m[1], 64)
	if fails := regexp.MustCompile(`number of failed transactions: ([1-9][0-9]*)`).FindStringSubmatch(outb.String()); fails != nil {
		return 0, fmt.Errorf("pgbench transactions failed: %s", outb.String())
	}
	return tps, nil
}

func isInt64(v any) bool { _, ok := v.(int64); return ok }

func deref(v any) any {
	switch p := v.(type) {
	case *int64:
		if p != nil {
			return *p
		}
	case *string:
		if p != nil {
			return *p
		}
	case *time.Time:
		if p != nil {
			return *p
		}
	case *float64:
		if p != nil {
			return *p
		}
	case *bool:
		if p != nil {
			return *p
		}
	}
	return v
}

// literal renders a pgx argument as SQL text.
func literal(v any) string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	switch x := deref(v).(type) {
	case nil:
		return "NULL"
	case string:
		return quote(x)
	case []byte:
		return quote(string(x))
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return quote(x.UTC().Format(time.RFC3339Nano)) + "::timestamptz"
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = quote(s)
		}
		return "ARRAY[" + strings.Join(parts, ",") + "]::text[]"
	case []int64:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.FormatInt(n, 10)
		}
		return "ARRAY[" + strings.Join(parts, ",") + "]::bigint[]"
	}
	if p, ok := v.(*int64); ok && p == nil {
		return "NULL"
	}
	if p, ok := v.(*time.Time); ok && p == nil {
		return "NULL"
	}
	if p, ok := v.(*string); ok && p == nil {
		return "NULL"
	}
	if p, ok := v.(*float64); ok && p == nil {
		return "NULL"
	}
	if p, ok := v.(*bool); ok && p == nil {
		return "NULL"
	}
	return quote(fmt.Sprint(v))
}
