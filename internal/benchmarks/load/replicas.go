package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
)

// runReplicas measures the same load spread over 1, 2, 3... `fieldfix serve` processes on the
// one PostgreSQL (make bench-replicas): each configuration on its own copy of the prepared
// database, pushes through the outbox to a local FCM fake, 300/s then the closed loop; each
// replica's plan-cache counters; where PostgreSQL's backends wait; the invariants after.
func runReplicas(ctx context.Context, c config) error {
	p, cleanup, err := prepare(ctx, c)
	defer cleanup()
	if err != nil {
		return err
	}
	// Every technician has a phone, so each offer is a push (the outbox row is written by the
	// booking's own statement); the invariants check each was sent once.
	if err := execOn(ctx, p.dbURL, `INSERT INTO devices (owner_kind, owner_subject, token, platform, created_at, last_seen_at)
		SELECT 'technician', subject, 'loadbench-' || id, 'android', now(), now() FROM technicians WHERE subject IS NOT NULL`); err != nil {
		return err
	}
	fmt.Printf("# Load over replicas: bookings with online assignment\n\nMeasured %s, %s, GOMAXPROCS %s per process; `%s serve` ×N and PostgreSQL 15 on this one machine (its Unix socket); %d demo technicians around Lyon with a phone each, a past of %d cancelled bookings; pushes through the outbox to a local FCM fake. Each configuration runs on its own copy of that database. Load average at the start: %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cpuName(), envOr("GOMAXPROCS", "all"), c.bin, c.technicians, c.history, loadAvg())

	// PostgreSQL's ceilings, on a copy: the booking's one write statement replayed by pgbench, and
	// a bare commit (one row into an empty table), the same clients.
	copyDB := c.db + "_ceiling"
	if err := copyDatabase(ctx, p.admin, c.db, copyDB); err != nil {
		return err
	}
	copyURL := c.pg + "/" + copyDB + "?sslmode=disable"
	booking, err := runPgbench(ctx, copyURL, p.script, c, 0)
	if err != nil {
		return fmt.Errorf("pgbench: %w", err)
	}
	commits := 0.0
	if err := execOn(ctx, copyURL, "CREATE TABLE commit_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"); err == nil {
		commits, err = pgbench(ctx, copyURL, "INSERT INTO commit_probe DEFAULT VALUES;\n", c, 0, "-T", strconv.Itoa(int(c.step.Seconds())))
		if err != nil {
			return fmt.Errorf("pgbench commits: %w", err)
		}
	}
	_, _ = p.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+copyDB+" WITH (FORCE)")
	fmt.Printf("PostgreSQL alone, %d clients, %s: the booking's %s replayed by pgbench **%.0f/s**; a bare commit (one row, no index but the key) **%.0f/s**.\n\n",
		c.concurrency, c.step, statements(p.stmts), booking, commits)

	fmt.Printf("Connections: each replica's pool is capped at %d / N (at most 32, the default), `pool_max_conns` in its `DATABASE_URL`, as an operator must within `max_connections` (%s here, shared with other work).\n\n",
		poolBudget, maxConnections(ctx, p.admin))
	printReplicaHeader(c)
	var results []*replicaResult
	for _, n := range c.replicas {
		routes := []bool{false}
		if n > 1 {
			routes = append(routes, true)
		}
		for _, sectors := range routes {
			r, err := measureReplicas(ctx, c, p, n, sectors)
			if err != nil {
				return fmt.Errorf("%d replicas: %w", n, err)
			}
			results = append(results, r)
			printReplicaRow(r)
		}
	}
	printReplicaDetails(results)
	fmt.Printf("\nLoad average at the end: %s.\n", loadAvg())
	return nil
}

type replicaResult struct {
	n       int
	sectors bool
	ramp    *result // 300/s, its first second
	fixed   *result // 300/s
	closed  *result
	rate    float64            // bookings/s in the closed loop (201s)
	cpu     map[string]float64 // CPU seconds in the closed loop: servers, postgres, self
	wall    time.Duration      // the closed loop's length
	caches  []map[string]int   // per replica: hit, read, changed
	waits   map[string]int     // active backends by wait event, sampled in the closed loop
	samples int
	// connections is the most the database had open at once in the closed loop (all replicas)
	connections int

	wal walStats // in the closed loop: the database's commits, the server's WAL bytes and flushes

	jobs, planned, overlaps   int
	offers, offersPushedOnce  int
	delivered, attempts, fake int
	pending                   int
	loadStart, loadEnd        string
}

func (r *replicaResult) routing() string {
	if r.n == 1 {
		return "—"
	}
	if r.sectors {
		return "by sector"
	}
	return "round-robin"
}

// measureReplicas runs one configuration: n servers on a fresh copy of the prepared database.
func measureReplicas(ctx context.Context, c config, p *prepared, n int, sectors bool) (*replicaResult, error) {
	res := &replicaResult{n: n, sectors: sectors, loadStart: loadAvg()}
	db := c.db + "_replicas"
	if err := copyDatabase(ctx, p.admin, c.db, db); err != nil {
		return nil, err
	}
	defer p.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	dbURL := c.pg + "/" + db + "?sslmode=disable"
	serverURL := fmt.Sprintf("%s&pool_max_conns=%d", dbURL, min(32, poolBudget/n))
	fake := fcmtest.NewServer("loadbench")
	defer fake.Close()
	fake.SetRecording(false) // counts only: memory must not grow with the run
	env := serverEnv(c, serverURL, "FIREBASE_PROJECT_ID=loadbench", "FIELDFIX_FCM_ENDPOINT="+fake.Endpoint())

	var pids []int
	var bases []string
	var stops []func()
	stopAll := func() {
		var wg sync.WaitGroup
		for _, s := range stops {
			wg.Go(s)
		}
		wg.Wait()
	}
	defer stopAll()
	for range n {
		srv, base, stop, err := startServer(c, env)
		if err != nil {
			return nil, err
		}
		pids, bases, stops = append(pids, srv.Process.Pid), append(bases, base), append(stops, stop)
	}
	l, err := newLoader(c, bases, sectors)
	if err != nil {
		return nil, err
	}
	defer l.close()

	l.fixedRate(ctx, 100, 2*time.Second) // warm-up: caches, pools
	res.ramp = l.fixedRate(ctx, 300, time.Second)
	res.fixed = l.fixedRate(ctx, 300, c.step)

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	sampler, err := startWaitSampler(ctx, dbURL, db)
	if err != nil {
		return nil, err
	}
	wal0, err := readWAL(ctx, conn, db)
	if err != nil {
		return nil, err
	}
	cpu0, t0 := cpuSeconds(db, pids...), time.Now()
	res.closed = l.closedLoop(ctx, c.concurrency, c.step)
	cpu1, t1 := cpuSeconds(db, pids...), time.Now()
	res.waits, res.samples, res.connections = sampler()
	wal1, err := readWAL(ctx, conn, db)
	if err != nil {
		return nil, err
	}
	res.wal = walStats{commits: wal1.commits - wal0.commits, bytes: wal1.bytes - wal0.bytes, syncs: wal1.syncs - wal0.syncs}
	res.rate = float64(res.closed.codes[201]) / c.step.Seconds()
	res.wall = t1.Sub(t0)
	if cpu0 != nil && cpu1 != nil {
		res.cpu = map[string]float64{}
		for k := range cpu1 {
			res.cpu[k] = cpu1[k] - cpu0[k]
		}
	}
	for _, b := range bases {
		pc, err := l.planCache(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("reading %s/metrics: %w", b, err)
		}
		res.caches = append(res.caches, pc)
	}
	// The outbox drains on its own (every replica runs a worker); give it a minute, then stop the
	// servers and read the invariants.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM push_deliveries WHERE status = 'pending'").Scan(&res.pending); err != nil {
			return nil, err
		}
		if res.pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	stopAll()
	if err := res.invariants(ctx, conn); err != nil {
		return nil, err
	}
	res.fake = fake.DeliveredCount()
	res.loadEnd = loadAvg()
	fmt.Fprintf(os.Stderr, "bench-replicas: %d replica(s) %s: %.0f bookings/s, load %s → %s\n", n, res.routing(), res.rate, res.loadStart, res.loadEnd)
	return res, nil
}

// invariants counts the run's jobs and planned ones, overlapping live visits, and whether each
// offer of the run was pushed once: one offer notification, one delivery to the technician's
// phone, delivered at its first attempt.
func (r *replicaResult) invariants(ctx context.Context, conn *pgx.Conn) error {
	err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE j.technician_id IS NOT NULL), count(*)
		FROM jobs j JOIN bookings b ON b.id = j.booking_id JOIN customers c ON c.id = b.customer_id
		WHERE c.subject LIKE $1`, loadCustomers).Scan(&r.planned, &r.jobs)
	if err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, overlapsSQL).Scan(&r.overlaps); err != nil {
		return err
	}
	err = conn.QueryRow(ctx, `
		WITH run_offers AS (
			SELECT o.id, o.job_id, t.subject FROM offers o
			JOIN technicians t ON t.id = o.technician_id
			JOIN jobs j ON j.id = o.job_id JOIN bookings b ON b.id = j.booking_id JOIN customers c ON c.id = b.customer_id
			WHERE c.subject LIKE $1
		), pushed AS (
			SELECT ro.id, count(DISTINCT n.id) AS notes, count(d.id) AS deliveries,
			       count(d.id) FILTER (WHERE d.status = 'delivered' AND d.attempts = 1) AS once
			FROM run_offers ro
			LEFT JOIN notifications n ON n.kind = 'offer' AND n.job_id = ro.job_id AND n.recipient_subject = ro.subject
			LEFT JOIN push_deliveries d ON d.notification_id = n.id
			GROUP BY ro.id
		)
		SELECT count(*), count(*) FILTER (WHERE notes = 1 AND deliveries = 1 AND once = 1) FROM pushed`, loadCustomers).
		Scan(&r.offers, &r.offersPushedOnce)
	if err != nil {
		return err
	}
	return conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM push_deliveries WHERE status = 'delivered'), (SELECT count(*) FROM push_attempts)`).
		Scan(&r.delivered, &r.attempts)
}

// loadCustomers matches the subjects the load books for (not the seed's demo customers, whose
// bookings came before the phones, nor the recording's).
const loadCustomers = "load-customer-%"

type walStats struct {
	commits, bytes, syncs int64
}

// readWAL reads the database's commits so far and the server's WAL bytes and flushes (the
// latter for the whole server: other work on the machine adds a little).
func readWAL(ctx context.Context, conn *pgx.Conn, db string) (walStats, error) {
	var w walStats
	err := conn.QueryRow(ctx, `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1),
		wal_bytes::bigint, wal_sync FROM pg_stat_wal`, db).Scan(&w.commits, &w.bytes, &w.syncs)
	return w, err
}

// overlapsSQL counts pairs of live visits of one technician that overlap (the no-overlap
// constraint's business; the history's are cancelled).
const overlapsSQL = `SELECT count(*) FROM jobs a JOIN jobs b ON a.technician_id = b.technician_id AND a.id < b.id
	AND tstzrange(a.planned_start, a.planned_end) && tstzrange(b.planned_start, b.planned_end)
	WHERE a.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site')
	  AND b.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site')`

// poolBudget is the connections the replicas may hold together: this machine's PostgreSQL allows
// 100, and other work shares it (three replicas at the default 32 each ran out: "too many
// clients already").
const poolBudget = 60

func maxConnections(ctx context.Context, admin *pgx.Conn) string {
	var v string
	if err := admin.QueryRow(ctx, "SHOW max_connections").Scan(&v); err != nil {
		return "unknown"
	}
	return v
}

func printReplicaHeader(c config) {
	fmt.Printf("| replicas | routing | sustained (closed loop, %d clients) | its p99 | 300/s: p50 / p99 / max | CPU per booking: servers + PostgreSQL (+ generator and FCM fake) | cores busy | plan reads avoided | guarded writes retried | planned at once | offers pushed once | overlaps |\n", c.concurrency)
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
}

func printReplicaRow(r *replicaResult) {
	hit, read, changed := 0, 0, 0
	for _, pc := range r.caches {
		hit, read, changed = hit+pc["hit"], read+pc["read"], changed+pc["changed"]
	}
	cpu, busy := "n/a", "n/a"
	if r.cpu != nil {
		b := float64(max(1, r.closed.sent))
		cpu = fmt.Sprintf("%.2f + %.2f (+ %.2f) ms", 1000*r.cpu["server"]/b, 1000*r.cpu["postgres"]/b, 1000*r.cpu["self"]/b)
		busy = fmt.Sprintf("%.2f", (r.cpu["server"]+r.cpu["postgres"]+r.cpu["self"])/r.wall.Seconds())
	}
	pushed := fmt.Sprintf("%d of %d", r.offersPushedOnce, r.offers)
	if r.pending > 0 {
		pushed += fmt.Sprintf(" (%d still queued)", r.pending)
	}
	// A booking planned again after its guarded write found the plan moved counts a read more.
	bookings := max(1, hit+read-changed)
	fmt.Printf("| %d | %s | **%.0f/s** | %.1f ms | %.1f / %.1f / %.1f ms | %s | %s | %.1f%% | %d (%.1f%% of bookings) | %.1f%% | %s | %d |\n",
		r.n, r.routing(), r.rate, ms(r.closed.pct(.99)), ms(r.fixed.pct(.5)), ms(r.fixed.pct(.99)), ms(r.fixed.pct(1)),
		cpu, busy, 100*float64(hit)/float64(max(1, hit+read)), changed, 100*float64(changed)/float64(bookings),
		100*float64(r.planned)/float64(max(1, r.jobs)), pushed, r.overlaps)
}

func printReplicaDetails(rs []*replicaResult) {
	fmt.Println("\nEach replica's plan cache over its run (`fieldfix_plan_cache_total`: planned without a read / read the changed plans first / guarded write found the plan moved):")
	fmt.Println()
	for _, r := range rs {
		var parts []string
		for i, pc := range r.caches {
			parts = append(parts, fmt.Sprintf("r%d %d / %d / %d", i+1, pc["hit"], pc["read"], pc["changed"]))
		}
		fmt.Printf("- %d %s: %s\n", r.n, r.routing(), strings.Join(parts, "; "))
	}
	fmt.Println("\nWhere PostgreSQL's active backends were in the closed loop (pg_stat_activity every 20 ms; \"CPU\" is no wait event: running, or waiting for a core):")
	fmt.Println()
	for _, r := range rs {
		total := 0
		for _, v := range r.waits {
			total += v
		}
		keys := slices.SortedFunc(maps.Keys(r.waits), func(a, b string) int { return r.waits[b] - r.waits[a] })
		var parts []string
		for _, k := range keys[:min(5, len(keys))] {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", k, 100*float64(r.waits[k])/float64(max(1, total))))
		}
		fmt.Printf("- %d %s: %.1f active backends on average, %d connections open at most; %s\n", r.n, r.routing(),
			float64(total)/float64(max(1, r.samples)), r.connections, strings.Join(parts, ", "))
	}
	fmt.Println("\nPostgreSQL's writes in the closed loop, per booking answered 201: commits (the booking's own, the plan reads', the push worker's lease and settle, the feed's and the lifecycle's reads), WAL bytes and WAL flushes; and per second:")
	fmt.Println()
	for _, r := range rs {
		b := float64(max(1, r.closed.codes[201]))
		secs := r.wall.Seconds()
		fmt.Printf("- %d %s: %.1f commits, %.1f kB of WAL, %.2f flushes a booking; %.0f commits/s, %.1f MB/s of WAL, %.0f flushes/s\n", r.n, r.routing(),
			float64(r.wal.commits)/b, float64(r.wal.bytes)/b/1000, float64(r.wal.syncs)/b,
			float64(r.wal.commits)/secs, float64(r.wal.bytes)/secs/1e6, float64(r.wal.syncs)/secs)
	}
	fmt.Println("\nPushes: delivered rows / attempts / messages the FCM fake accepted, and each run's load average (1 min) before → after:")
	fmt.Println()
	for _, r := range rs {
		fmt.Printf("- %d %s: %d / %d / %d; load %s → %s\n", r.n, r.routing(), r.delivered, r.attempts, r.fake, r.loadStart, r.loadEnd)
	}
}

// startWaitSampler samples the wait events of the database's active client backends every 20 ms
// until the returned function is called; it returns the counts, the number of samples and the
// most connections the database had open at once.
func startWaitSampler(ctx context.Context, dbURL, db string) (func() (map[string]int, int, int), error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	counts, samples, connections := map[string]int{}, 0, 0
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		defer conn.Close(context.Background())
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			rows, err := conn.Query(ctx, `SELECT state = 'active', coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*)
				FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'
				AND pid <> pg_backend_pid() GROUP BY 1, 2`, db)
			if err != nil {
				continue
			}
			open := 0
			for rows.Next() {
				var active bool
				var k string
				var v int
				if rows.Scan(&active, &k, &v) == nil {
					open += v
					if active {
						counts[k] += v
					}
				}
			}
			rows.Close()
			samples++
			connections = max(connections, open)
		}
	}()
	return func() (map[string]int, int, int) { close(done); <-stopped; return counts, samples, connections }, nil
}

// copyDatabase makes dst a copy of src (CREATE DATABASE … TEMPLATE: a file copy).
func copyDatabase(ctx context.Context, admin *pgx.Conn, src, dst string) error {
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+dst+" WITH (FORCE)")
	_, err := admin.Exec(ctx, "CREATE DATABASE "+dst+" TEMPLATE "+src)
	return err
}

func execOn(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// loadAvg is the machine's load average over 1, 5 and 15 minutes (shared with other work).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
