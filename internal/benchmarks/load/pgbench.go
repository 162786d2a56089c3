package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
)

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
		const planVersionArg, techArg, startArg, endArg, trackingArg = 1, 2, 30, 31, 39 // BookingPlaceParams order (dispatch/postgres/internal/db)
		isJobSave := strings.Contains(sql, "INSERT INTO bookings") && strings.Contains(sql, "INSERT INTO jobs")
		at := func(i int, want time.Time) bool { t, ok := deref(st.args[i-1]).(time.Time); return ok && t.Equal(want) }
		if isJobSave && (len(st.args) < endArg || deref(st.args[techArg-1]) != *job.TechnicianID ||
			!at(startArg, *job.PlannedStart) || !at(endArg, *job.PlannedEnd) || !isInt64(deref(st.args[planVersionArg-1])) ||
			len(st.args) < trackingArg || !isToken(deref(st.args[trackingArg-1]))) {
			return "", 0, fmt.Errorf("BookingPlace's parameters are not where the recording expects them (plan version %d, technician %d, times %d and %d, tracking token %d): update the positions",
				planVersionArg, techArg, startArg, endArg, trackingArg)
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
				if isJobSave && i == trackingArg {
					lit = "lpad((:o)::text, 26, 'R')" // the customer's tracking link: a token of its own per replay (26 characters, as the server's)
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

// isToken says whether v is a tracking link's token (26 base-32 letters and digits).
func isToken(v any) bool {
	s, ok := v.(string)
	return ok && len(s) == 26 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == ""
}
