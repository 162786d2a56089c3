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
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
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
	cpu0, mem0 := cpuSeconds(c.db, srv.Process.Pid), l.goMetrics(ctx, base)
	thr := l.closedLoop(ctx, c.concurrency, c.step)
	cpu1, mem1 := cpuSeconds(c.db, srv.Process.Pid), l.goMetrics(ctx, base)
	rate := float64(thr.codes[201]) / c.step.Seconds()
	fmt.Printf("\nSustained (closed loop, %d clients, %s): **%.0f bookings/s**, p50 %.1f ms, p99 %.1f ms, other statuses %s.\n",
		c.concurrency, c.step, rate, ms(thr.pct(.5)), ms(thr.pct(.99)), thr.other())
	if n := float64(max(1, thr.sent)); cpu0 != nil && cpu1 != nil {
		per := func(k string) float64 { return 1000 * (cpu1[k] - cpu0[k]) / n }
		fmt.Printf("\nCPU per booking in that run (user + system, from /proc): server %.2f ms, PostgreSQL %.2f ms (this database's backends %.2f, the cluster's shared processes %.2f, other databases' backends %.2f), this load generator %.2f ms.\n",
			per("server"), per("postgres"), per("pg_db"), per("pg_shared"), per("pg_other"), per("self"))
	}
	// Allocation does not depend on how busy the machine is, as CPU time does on this shared host.
	if n := float64(max(1, thr.sent)); mem0 != nil && mem1 != nil {
		fmt.Printf("\nServer's Go heap in that run: %.0f KB allocated per booking, %.0f garbage collections (%.1f a second), %.0f MB in use at the end.\n",
			(mem1["go_memstats_alloc_bytes_total"]-mem0["go_memstats_alloc_bytes_total"])/n/1024,
			mem1["go_gc_duration_seconds_count"]-mem0["go_gc_duration_seconds_count"],
			(mem1["go_gc_duration_seconds_count"]-mem0["go_gc_duration_seconds_count"])/c.step.Seconds(),
			mem1["go_memstats_heap_inuse_bytes"]/(1<<20))
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
// process and of this one, from /proc (nil when /proc cannot be read). PostgreSQL's is also told
// apart by process title: "pg_db", the backends connected to database db (the benchmark's);
// "pg_shared", the cluster's own processes (WAL writer, checkpointer, background writer, the
// postmaster), which serve every database; "pg_other", other databases' backends: on a shared
// machine, other people's tests on the same cluster, which "postgres" counts too.
func cpuSeconds(db string, servers ...int) map[string]float64 {
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
			out[pgKind(d.Name(), db)] += (ut + st) / tick
		}
	}
	return out
}

// pgKind is the share cpuSeconds counts PostgreSQL process pid in: a backend's title is
// "postgres: 15/main: USER DATABASE HOST STATE", an auxiliary's "postgres: 15/main: walwriter".
func pgKind(pid, db string) string {
	b, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return "pg_other"
	}
	title := strings.TrimRight(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), " ")
	f := strings.Fields(title)
	switch {
	case len(f) >= 5 && f[0] == "postgres:" && f[3] == db:
		return "pg_db"
	case len(f) >= 5 && f[0] == "postgres:" && (strings.HasPrefix(f[4], "[") || strings.Contains(f[4], ".") || strings.Contains(f[4], ":")):
		return "pg_other" // USER DATABASE HOST: another database's backend
	default:
		return "pg_shared"
	}
}

// goMetrics reads the server's Go runtime figures that bench-load reports from /metrics (nil when
// it cannot).
func (l *loader) goMetrics(ctx context.Context, base string) map[string]float64 {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		name, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		switch name {
		case "go_memstats_alloc_bytes_total", "go_gc_duration_seconds_count", "go_memstats_heap_inuse_bytes":
			if f, err := strconv.ParseFloat(v, 64); ok && err == nil {
				out[name] = f
			}
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
