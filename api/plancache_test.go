package api_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
)

// TestPlansFollowChangesMadeElsewhere: a replica keeps its candidates' plans in memory between
// bookings, and plans a new booking on them without reading while they are younger than
// PlanCacheMaxAge. A change it did not make that takes room — another replica's booking, time off
// or a deactivation written straight into the database (no notification, so its geo index still
// lags) — is still never planned around wrongly: the write, guarded by the chosen technician's
// plan version, finds it moved and the booking is planned again on a fresh read. A change that
// frees room (jobs cancelled elsewhere) is seen once the cached plans are PlanCacheMaxAge old.
func TestPlansFollowChangesMadeElsewhere(t *testing.T) {
	b := setup(t)
	b.svc.Planner.Config.PlanCacheMaxAge = 2 * time.Second // shorter than the default, for the last step
	ctx := t.Context()
	cacheCount := func(outcome string) int {
		t.Helper()
		body := string(b.do("GET", "/metrics", "", nil).Body)
		var n int
		for line := range strings.Lines(body) {
			if rest, ok := strings.CutPrefix(line, `fieldfix_plan_cache_total{outcome="`+outcome+`"} `); ok {
				n, _ = strconv.Atoi(strings.TrimSpace(rest))
			}
		}
		return n
	}
	near := b.technician("tech-near", []string{"washer"}, 45.764, 4.8357)
	far := b.technician("tech-far", []string{"washer"}, 45.70, 4.90)
	if err := b.svc.Planner.LoadIndex(ctx); err != nil { // the harness runs no LISTEN to fill it
		t.Fatal(err)
	}
	book := func(sub string) map[string]any { // each with an idempotency key
		t.Helper()
		r := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, sub), washerBooking(nil), "Idempotency-Key", "key-"+sub)
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("booking: %d %s", r.Status, r.Body)
		}
		return jobOf(t, r.json(t))
	}
	span := func(j map[string]any) (int64, time.Time, time.Time) {
		t.Helper()
		tech, ok := j["technician_id"].(float64)
		if !ok {
			t.Fatalf("job not planned: %v", j)
		}
		st, _ := time.Parse(time.RFC3339, j["planned_start"].(string))
		en, _ := time.Parse(time.RFC3339, j["planned_end"].(string))
		return int64(tech), st, en
	}

	// The API's replica books, and holds tech-near's plan.
	t1, st1, end1 := span(book("c1"))
	if t1 != near {
		t.Fatalf("first booking went to %d, want the nearest %d", t1, near)
	}
	// Another replica books the gap right after it.
	other := services.New(postgres.New(b.db.Pool), dispatch.DefaultRules(), b.clock, nil)
	other.Planner.Index = geo.NewIndex()
	if err := other.Planner.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	req := intake.BookingRequest{ServiceType: "repair", Appliance: "washer", Problem: "leaks", Address: "Lyon",
		Location: dispatch.Location{Lat: 45.764, Lng: 4.8357}, Channel: "app"}
	bk2, _, err := other.Intake.CreateBooking(ctx, dispatch.Actor{Subject: "c2", Role: dispatch.RoleCustomer}, req, "", "")
	if err != nil {
		t.Fatal(err)
	}
	j2 := bk2.Jobs[0]
	if j2.TechnicianID == nil || *j2.TechnicianID != near || j2.PlannedStart.Before(end1) {
		t.Fatalf("other replica's booking: %+v", j2)
	}
	// The API's next booking comes after both (a plan that missed the other replica's job would
	// collide with it on every retry and be refused).
	hits := cacheCount("hit")
	t3, st3, _ := span(book("c3"))
	if t3 != near || st3.Before(*j2.PlannedEnd) {
		t.Fatalf("third booking on %d at %s, overlapping the other replica's job (%s–%s)", t3, st3, j2.PlannedStart, j2.PlannedEnd)
	}
	// It was planned on the cache first, and its guarded write found tech-near's plan moved.
	if got := cacheCount("hit"); got != hits+1 {
		t.Errorf("plan cache hits %d → %d, want one more", hits, got)
	}
	if got := cacheCount("changed"); got != 1 {
		t.Errorf("guarded writes that found the plan changed: %d, want 1", got)
	}
	// The refused write claimed no idempotency key: the retry with the key is the same booking.
	if tr, str, _ := span(book("c3")); tr != t3 || !str.Equal(st3) {
		t.Fatalf("the retry of the third booking answered a job on %d at %s, want %d at %s", tr, str, t3, st3)
	}
	// The replica's own write keeps its cache current: the next booking goes after it, from the
	// cache, and its guarded write finds the plan as cached.
	if tb, sb, _ := span(book("c3b")); tb != near || sb.Before(st3) {
		t.Fatalf("booking after the replica's own on %d at %s, want %d after %s", tb, sb, near, st3)
	}
	if got, changed := cacheCount("hit"), cacheCount("changed"); got != hits+3 || changed != 1 {
		t.Errorf("after the replica's own booking: hits %d (want %d), changed %d (want 1)", got, hits+3, changed)
	}

	// Time off written in the database: tech-near is away for the next four days.
	if _, err := b.db.Pool.Exec(ctx, `INSERT INTO technician_time_off (technician_id, starts_at, ends_at, reason) VALUES ($1, $2, $3, 'sick')`,
		near, b.clock.Now(), b.clock.Now().Add(96*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if t4, _, _ := span(book("c4")); t4 != far {
		t.Fatalf("booking during tech-near's time off went to %d, want %d", t4, far)
	}
	// The time off withdrawn and tech-far deactivated, both in the database behind the geo
	// index's back: tech-near is the only one left, and free again.
	if _, err := b.db.Pool.Exec(ctx, `DELETE FROM technician_time_off WHERE technician_id = $1`, near); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE technicians SET active = false WHERE id = $1`, far); err != nil {
		t.Fatal(err)
	}
	if t5, _, _ := span(book("c5")); t5 != near {
		t.Fatalf("booking after the time off was withdrawn went to %d, want %d", t5, near)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE technicians SET active = (id = $1)`, far); err != nil {
		t.Fatal(err)
	}
	if t6, _, _ := span(book("c6")); t6 != far {
		t.Fatalf("booking after tech-near was deactivated went to %d, want %d", t6, far)
	}

	// Every job of tech-near cancelled elsewhere: its first gap is offered again.
	if _, err := b.db.Pool.Exec(ctx, `UPDATE technicians SET active = true`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE jobs SET status = 'cancelled' WHERE technician_id = $1`, near); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE bookings SET status = 'cancelled' WHERE id IN (SELECT booking_id FROM jobs WHERE technician_id = $1)`, near); err != nil {
		t.Fatal(err)
	}
	time.Sleep(b.svc.Planner.Config.PlanCacheMaxAge)
	t7, st7, _ := span(book("c7"))
	if t7 != near || st7.After(st1.Add(time.Minute)) {
		t.Fatalf("after every job of tech-near was cancelled the booking went to %d at %s, want the first gap (%s)", t7, st7, st1)
	}
}

// TestConcurrentPicksOnOneCachedPlan: two bookings of one replica plan on the same cached plan at
// once, the second around the first's pick (a reservation). The second's write waits for the
// first to settle and then expects the plan version moved by it: both are written, apart, with
// no refused write and one read between them.
func TestConcurrentPicksOnOneCachedPlan(t *testing.T) {
	b := setup(t)
	ctx := t.Context()
	near := b.technician("tech-near", []string{"washer"}, 45.764, 4.8357)
	planned, proceed := make(chan struct{}), [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var calls atomic.Int32
	st := pausingStore{Store: postgres.New(b.db.Pool), before: func() {
		if n := calls.Add(1); n <= 2 { // the first two writes wait for their turn
			planned <- struct{}{}
			<-proceed[n-1]
		}
	}}
	svc := services.New(st, dispatch.DefaultRules(), b.clock, nil)
	svc.Planner.Index = geo.NewIndex()
	counts := &planCacheCounts{inserted: make(chan struct{}, 4)}
	svc.Env.Metrics = counts
	if err := svc.Planner.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	req := intake.BookingRequest{ServiceType: "repair", Appliance: "washer", Problem: "leaks", Address: "Lyon",
		Location: dispatch.Location{Lat: 45.764, Lng: 4.8357}, Channel: "app"}
	type result struct {
		bk  dispatch.Booking
		err error
	}
	book := func(sub string, out chan<- result) {
		bk, _, err := svc.Intake.CreateBooking(ctx, dispatch.Actor{Subject: sub, Role: dispatch.RoleCustomer}, req, "", "")
		out <- result{bk, err}
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go book("c1", first)
	<-counts.inserted // the first placed its pick
	<-planned         // and waits to write
	go book("c2", second)
	<-counts.inserted // the second planned around the first's pick, and waits for it to settle
	select {
	case <-planned:
		t.Fatal("the second booking went on to write before the first, which it planned around, settled")
	case <-time.After(100 * time.Millisecond):
	}
	close(proceed[0]) // the first writes and commits
	r1 := <-first
	<-planned // the second's write comes once the first has settled
	close(proceed[1])
	r2 := <-second
	if r1.err != nil || r2.err != nil {
		t.Fatalf("bookings: %v, %v", r1.err, r2.err)
	}
	j1, j2 := r1.bk.Jobs[0], r2.bk.Jobs[0]
	if j1.TechnicianID == nil || j2.TechnicianID == nil || *j1.TechnicianID != near || *j2.TechnicianID != near ||
		j1.PlannedStart.Before(*j2.PlannedEnd) && j2.PlannedStart.Before(*j1.PlannedEnd) {
		t.Fatalf("jobs %+v and %+v: want both on %d, apart", j1, j2, near)
	}
	// The first read the plan (the cache was empty); the second planned on what that read left,
	// and its write found the version it expected.
	if counts.get("read") != 1 || counts.get("hit") != 1 || counts.get("changed") != 0 {
		t.Errorf("plan cache: read %d, hit %d, changed %d; want 1, 1, 0", counts.get("read"), counts.get("hit"), counts.get("changed"))
	}
}

// pausingStore calls before ahead of each new booking's write.
type pausingStore struct {
	*postgres.Store
	before func()
}

func (p pausingStore) Intake() intake.Store { return pausingIntake{p.Store.Intake(), p.before} }

// pausingIntake is intake's store calling before ahead of each new booking's write.
type pausingIntake struct {
	intake.Store
	before func()
}

func (p pausingIntake) Autocommit(ctx context.Context, fn func(intake.Store) (bool, error)) error {
	return p.Store.Autocommit(ctx, func(st intake.Store) (bool, error) { return fn(pausingIntake{st, p.before}) })
}

func (p pausingIntake) WriteNewBooking(ctx context.Context, nb intake.NewBooking) (dispatch.Booking, []dispatch.Notification, bool, error) {
	p.before()
	return p.Store.WriteNewBooking(ctx, nb)
}

// planCacheCounts counts the plan cache's outcomes, and signals each placement (insert solver run).
type planCacheCounts struct {
	mu       sync.Mutex
	n        map[string]int
	inserted chan struct{}
}

func (c *planCacheCounts) BookingCreated(dispatch.Tier) {}
func (c *planCacheCounts) Offer(string)                 {}
func (c *planCacheCounts) Push(string)                  {}
func (c *planCacheCounts) SolverRun(kind string, _ time.Duration, _ float64) {
	if kind == "insert" {
		c.inserted <- struct{}{}
	}
}
func (c *planCacheCounts) PlanCache(outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[outcome]++
}

func (c *planCacheCounts) get(outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[outcome]
}
