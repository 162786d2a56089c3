// Command faults is a black-box probe of three faults from outside, each against real
// `fieldfix serve` processes on a scratch schema of TEST_DATABASE_URL, and prints what a user
// would see:
//
//   - kill: pushes leased by a server killed with SIGKILL; how long until every one is sent,
//     after a restart (3 s after the kill) and with a second replica alive and no restart;
//   - db: the database cut for a few seconds across a tick of the SLA watchdog (every 10 s here),
//     and a daily KPI roll-up whose tick passed while no server ran: which ticks ran, how late,
//     and what /metrics says;
//   - fcm: the FCM endpoint refusing connections for 30 s under a steady trickle of pushes: the
//     attempts recorded and their causes, how long each took, how long the backlog took to
//     drain once FCM answered again, and the pushes' latency.
//
// It builds the server from this tree unless -bin names another binary (an older build, for a
// before/after comparison):
//
//	go run ./internal/benchmarks/faults [-bin path] [-only kill,db,fcm] [-fcm-outage 30s]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

func main() {
	bin := flag.String("bin", "", "fieldfix binary to probe (default: built from this tree)")
	only := flag.String("only", "kill,db,fcm", "experiments to run, comma separated")
	pushes := flag.Int("pushes", 25, "pushes leased by the server that is killed")
	wait := flag.Duration("wait", 150*time.Second, "give up waiting for the pushes after this")
	dbOutage := flag.Duration("db-outage", 3*time.Second, "how long the database is cut")
	fcmOutage := flag.Duration("fcm-outage", 30*time.Second, "how long FCM refuses connections")
	flag.Parse()
	p := &probe{bin: *bin, pushes: *pushes, wait: *wait, dbOutage: *dbOutage, fcmOutage: *fcmOutage}
	if err := p.run(strings.Split(*only, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
}

type probe struct {
	bin                 string
	dir                 string
	pushes              int
	wait                time.Duration
	dbOutage, fcmOutage time.Duration
	admin               *pgxpool.Pool
}

func (p *probe) run(experiments []string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "fieldfix-faults-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p.dir = dir
	if p.bin == "" {
		p.bin = filepath.Join(dir, "fieldfix")
		build := exec.Command("go", "build", "-o", p.bin, "./cmd/fieldfix")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	if p.admin, err = pgxpool.New(ctx, dbtest.URL()); err != nil {
		return err
	}
	defer p.admin.Close()
	if _, err := p.admin.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public"); err != nil {
		return err
	}
	for _, e := range experiments {
		var err error
		switch strings.TrimSpace(e) {
		case "kill":
			err = p.kill(ctx)
		case "db":
			err = p.db(ctx)
		case "fcm":
			err = p.fcm(ctx)
		default:
			err = fmt.Errorf("unknown experiment %q", e)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e, err)
		}
	}
	return nil
}

// schema is a fresh, empty schema (the server under test migrates it) and a pool on it.
func (p *probe) schema(ctx context.Context) (url string, pool *pgxpool.Pool, drop func(), err error) {
	name := fmt.Sprintf("faults_%d", time.Now().UnixNano())
	if _, err := p.admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", nil, nil, err
	}
	url = dbtest.WithSearchPath(dbtest.URL(), name)
	if pool, err = pgxpool.New(ctx, url); err != nil {
		return "", nil, nil, err
	}
	return url, pool, func() {
		pool.Close()
		_, _ = p.admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
	}, nil
}

type server struct {
	cmd  *exec.Cmd
	base string
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// serve starts `fieldfix serve` with env and waits until it listens; its log goes to a file.
func (p *probe) serve(name string, env ...string) (*server, error) {
	cmd := exec.Command(p.bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), append([]string{"FIELDFIX_JWT_SECRET=faults", "FIELDFIX_LOG_LEVEL=warn"}, env...)...)
	logf, err := os.Create(filepath.Join(p.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return &server{cmd: cmd, base: m[1]}, nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	log, _ := os.ReadFile(logf.Name())
	return nil, fmt.Errorf("%s did not start: %s", name, log)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func count(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) int {
	var n int
	if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

// untilDelivered waits for every push to be delivered and returns when that happened.
func (p *probe) untilDelivered(ctx context.Context, pool *pgxpool.Pool) (time.Time, error) {
	deadline := time.Now().Add(p.wait)
	for time.Now().Before(deadline) {
		if count(ctx, pool, "SELECT count(*) FROM push_deliveries WHERE status <> 'delivered'") == 0 {
			return time.Now(), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("%d pushes not delivered after %s",
		count(ctx, pool, "SELECT count(*) FROM push_deliveries WHERE status <> 'delivered'"), p.wait)
}

// kill: a server leases pushes (FCM is slow, so it is mid-send) and dies by SIGKILL.
func (p *probe) kill(ctx context.Context) error {
	fmt.Printf("## A killed server's leased pushes (%d pushes, SIGKILL mid-send)\n\n", p.pushes)
	for _, restart := range []bool{true, false} {
		url, pool, drop, err := p.schema(ctx)
		if err != nil {
			return err
		}
		fake := fcmtest.NewServer("faults")
		fake.SetLatency(time.Hour) // the first server's sends hang until it dies
		env := []string{"DATABASE_URL=" + url, "FIREBASE_PROJECT_ID=faults", "FIELDFIX_FCM_ENDPOINT=" + fake.Endpoint()}
		a, err := p.serve("kill-a", env...)
		if err != nil {
			return err
		}
		if err := dbtest.QueuePushes(ctx, pool, p.pushes, "tech-"); err != nil {
			return err
		}
		// One request at FCM means the batch was leased (one claim takes them all).
		for deadline := time.Now().Add(20 * time.Second); fake.Arrived() == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				return fmt.Errorf("the first server sent nothing")
			}
		}
		var line string
		if restart {
			fake.ClearFaults()
			a.kill()
			time.Sleep(3 * time.Second) // the restart of the black-box run came 3 s after the kill
			start := time.Now()
			b, err := p.serve("kill-b", env...)
			if err != nil {
				return err
			}
			up := time.Now()
			done, err := p.untilDelivered(ctx, pool)
			if err != nil {
				line = fmt.Sprintf("restart 3 s after the kill: %v", err)
			} else {
				line = fmt.Sprintf("restart 3 s after the kill: every push sent %.2f s after the restart (the new server listened after %.2f s)",
					done.Sub(start).Seconds(), up.Sub(start).Seconds())
			}
			b.stop()
		} else {
			b, err := p.serve("kill-b", env...)
			if err != nil {
				return err
			}
			fake.ClearFaults()
			start := time.Now()
			a.kill()
			done, err := p.untilDelivered(ctx, pool)
			if err != nil {
				line = fmt.Sprintf("second replica alive, no restart: %v", err)
			} else {
				line = fmt.Sprintf("second replica alive, no restart: every push sent %.2f s after the kill", done.Sub(start).Seconds())
			}
			b.stop()
		}
		fmt.Println("- " + line)
		fake.Close()
		drop()
	}
	fmt.Println()
	return nil
}

// db: the database goes away across a watchdog tick; a daily roll-up's tick passed while no
// server ran.
func (p *probe) db(ctx context.Context) error {
	fmt.Printf("## Database cut for %s across a tick; a daily tick missed while down\n\n", p.dbOutage)
	url, pool, drop, err := p.schema(ctx)
	if err != nil {
		return err
	}
	defer drop()
	proxy, viaProxy, err := dbtest.NewProxy(url)
	if err != nil {
		return err
	}
	defer proxy.Down()
	migrate := exec.Command(p.bin, "migrate")
	migrate.Env = append(os.Environ(), "DATABASE_URL="+url)
	if out, err := migrate.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v: %s", err, out)
	}
	// The roll-up runs daily two minutes ago (local time, as cron reads it); it ran yesterday.
	now := time.Now()
	missed := now.Add(-2 * time.Minute).Truncate(time.Minute)
	spec := fmt.Sprintf("%d %d * * *", missed.Minute(), missed.Hour())
	if _, err := pool.Exec(ctx, `INSERT INTO schedule_runs (name, tick, replica, started_at, finished_at, outcome)
		VALUES ('kpi-rollup', $1, 'yesterday', $1, $1, 'ok')`, missed.AddDate(0, 0, -1)); err != nil {
		return err
	}
	s, err := p.serve("db", "DATABASE_URL="+viaProxy, "FIELDFIX_CRON_WATCHDOG=*/10 * * * * *", "FIELDFIX_CRON_KPI_ROLLUP="+spec)
	if err != nil {
		return err
	}
	defer s.stop()
	// Cut the database half a second before the next tick.
	tick := time.Now().Truncate(10 * time.Second).Add(10 * time.Second)
	if time.Until(tick) < 2*time.Second {
		tick = tick.Add(10 * time.Second)
	}
	time.Sleep(time.Until(tick) - 500*time.Millisecond)
	proxy.Down()
	time.Sleep(p.dbOutage)
	if err := proxy.Up(); err != nil {
		return err
	}
	time.Sleep(time.Until(tick.Add(10*time.Second)) + 3*time.Second) // the tick after it too
	report := func(name string, tick time.Time) string {
		var started time.Time
		var outcome string
		err := pool.QueryRow(ctx, "SELECT started_at, outcome FROM schedule_runs WHERE name = $1 AND tick = $2", name, tick).Scan(&started, &outcome)
		switch {
		case err != nil:
			return "never ran"
		case outcome != "ok":
			return fmt.Sprintf("failed (%s)", outcome)
		}
		return fmt.Sprintf("ran %.1f s after its tick", started.Sub(tick).Seconds())
	}
	fmt.Printf("- sla-watchdog tick %s (database cut 0.5 s before it, for %s): %s\n", tick.Format("15:04:05"), p.dbOutage, report("sla-watchdog", tick))
	fmt.Printf("- sla-watchdog tick %s (after): %s\n", tick.Add(10*time.Second).Format("15:04:05"), report("sla-watchdog", tick.Add(10*time.Second)))
	fmt.Printf("- kpi-rollup daily tick %s, passed before the server started: %s\n", missed.Format("15:04"), report("kpi-rollup", missed))
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var lines []string
	for l := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(l, "fieldfix_schedule") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		lines = []string{"(no fieldfix_schedule series)"}
	}
	fmt.Printf("- /metrics:\n\n```\n%s\n```\n\n", strings.Join(lines, "\n"))
	return nil
}

// fcm: FCM refuses connections for a while under a steady trickle of pushes.
func (p *probe) fcm(ctx context.Context) error {
	fmt.Printf("## FCM refusing connections for %s (10 pushes/s queued throughout)\n\n", p.fcmOutage)
	url, pool, drop, err := p.schema(ctx)
	if err != nil {
		return err
	}
	defer drop()
	fake := fcmtest.NewHandler("faults")
	fake.SetRecording(false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: fake}
	go func() { _ = srv.Serve(ln) }()
	s, err := p.serve("fcm", "DATABASE_URL="+url, "FIREBASE_PROJECT_ID=faults", "FIELDFIX_FCM_ENDPOINT=http://"+addr)
	if err != nil {
		return err
	}
	defer s.stop()
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	var feed sync.WaitGroup
	feed.Add(1)
	go func() {
		defer feed.Done()
		for i := 0; feedCtx.Err() == nil; i++ {
			_ = dbtest.QueuePushes(ctx, pool, 1, fmt.Sprintf("t%d-", i))
			select {
			case <-feedCtx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	time.Sleep(2 * time.Second)
	// FCM goes away: its listener closes, so connections are refused.
	_ = srv.Close()
	down := time.Now()
	time.Sleep(p.fcmOutage)
	if ln, err = net.Listen("tcp", addr); err != nil {
		return err
	}
	srv = &http.Server{Handler: fake}
	go func() { _ = srv.Serve(ln) }()
	up := time.Now()
	defer srv.Close()
	time.Sleep(2 * time.Second)
	stopFeed()
	feed.Wait()
	done, err := p.untilDelivered(ctx, pool)
	if err != nil {
		return err
	}
	var withStart bool
	_ = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'push_attempts' AND column_name = 'started_at')`).Scan(&withStart)
	var attempts, withCause int
	cause := "code <> '' OR http_status <> 0"
	if withStart {
		cause += " OR error <> ''"
	}
	_ = pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE `+cause+`) FROM push_attempts
		WHERE outcome <> 'delivered' AND at >= $1 AND at < $2`, down, up.Add(time.Second)).Scan(&attempts, &withCause)
	fmt.Printf("- failed attempts recorded while FCM was down: %d, with a cause (code, HTTP status or error): %d\n", attempts, withCause)
	if withStart {
		var p50, max float64
		var codes string
		_ = pool.QueryRow(ctx, `SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM at - started_at)), 0),
			coalesce(max(extract(epoch FROM at - started_at)), 0), coalesce(string_agg(DISTINCT code || ' ' || error, '; '), '')
			FROM push_attempts WHERE outcome <> 'delivered' AND at >= $1 AND at < $2`, down, up.Add(time.Second)).Scan(&p50, &max, &codes)
		fmt.Printf("- each failed attempt took: median %.0f ms, max %.0f ms; causes: %s\n", p50*1000, max*1000, codes)
	} else {
		fmt.Println("- each failed attempt took: not recorded by this build (push_attempts has no start time)")
	}
	var backlog int
	var lastDelivered time.Time
	_ = pool.QueryRow(ctx, `SELECT count(DISTINCT d.id), max(a.at) FROM push_deliveries d
		JOIN push_attempts a ON a.delivery_id = d.id AND a.outcome = 'delivered' WHERE d.created_at < $1`, up).Scan(&backlog, &lastDelivered)
	fmt.Printf("- backlog (%d pushes queued before FCM came back) drained %.2f s after FCM answered again; every push delivered %.2f s after\n",
		backlog, lastDelivered.Sub(up).Seconds(), done.Sub(up).Seconds())
	var lat []float64
	rows, err := pool.Query(ctx, `SELECT extract(epoch FROM a.at - d.created_at) FROM push_deliveries d
		JOIN push_attempts a ON a.delivery_id = d.id AND a.outcome = 'delivered'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v float64
		_ = rows.Scan(&v)
		lat = append(lat, v)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		fmt.Printf("- push latency (queued → delivered), %d pushes: median %.1f s, p90 %.1f s, max %.1f s\n\n",
			len(lat), lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1])
	}
	return nil
}
