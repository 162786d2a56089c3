package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/optimize"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/schedule"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/metrics"
	"github.com/fieldfix/fieldfix/sim"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, getenv, &c)
	serveFlags(fs, getenv, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serve(ctx, c, getenv, nil, stdout, stderr, nil)
}

// serveFlags registers the settings of the server alone (commonFlags has the shared ones).
func serveFlags(fs *flag.FlagSet, getenv func(string) string, c *config) {
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "FIELDFIX_ADDR", ":8080"), "listen address (env FIELDFIX_ADDR)")
	fs.DurationVar(&c.OfferHorizon, "offer-horizon", durationEnv(getenv, "FIELDFIX_OFFER_HORIZON", 24*time.Hour), "jobs planned within this are offered at once (env FIELDFIX_OFFER_HORIZON)")
	fs.DurationVar(&c.OfferTTL, "offer-ttl", durationEnv(getenv, "FIELDFIX_OFFER_TTL", 10*time.Minute), "an offer expires after this (env FIELDFIX_OFFER_TTL)")
	fs.DurationVar(&c.PositionMaxAge, "position-max-age", durationEnv(getenv, "FIELDFIX_POSITION_MAX_AGE", 30*time.Minute), "an older location ping falls back to home base (env FIELDFIX_POSITION_MAX_AGE)")
	fs.DurationVar(&c.PlanCacheAge, "plan-cache-max-age", durationEnv(getenv, "FIELDFIX_PLAN_CACHE_MAX_AGE", planning.DefaultConfig().PlanCacheMaxAge), "a new booking plans on cached plans younger than this without reading them; 0 reads every time (env FIELDFIX_PLAN_CACHE_MAX_AGE)")
	fs.DurationVar(&c.FreezeHorizon, "freeze-horizon", durationEnv(getenv, "FIELDFIX_FREEZE_HORIZON", optimize.DefaultConfig().FreezeHorizon), "re-optimisation leaves visits starting this soon where they are (env FIELDFIX_FREEZE_HORIZON)")
	fs.DurationVar(&c.MoveCost, "move-cost", durationEnv(getenv, "FIELDFIX_MOVE_COST", optimize.DefaultConfig().MoveCost), "re-optimisation moves a told visit only for more travel saved than this (twice to another technician, plus 30 min to another day) (env FIELDFIX_MOVE_COST)")
	fs.IntVar(&c.BookingsPerMinute, "bookings-per-minute", intEnv(getenv, "FIELDFIX_BOOKINGS_PER_MINUTE", 30), "POST /v1/bookings allowed per subject per minute, after a burst (env FIELDFIX_BOOKINGS_PER_MINUTE)")
	fs.IntVar(&c.ComplaintsPerMinute, "complaints-per-minute", intEnv(getenv, "FIELDFIX_COMPLAINTS_PER_MINUTE", 6), "POST /v1/complaints allowed per subject per minute, after a burst of 5 (env FIELDFIX_COMPLAINTS_PER_MINUTE)")
	fs.DurationVar(&c.LifecycleTick, "lifecycle-tick", durationEnv(getenv, "FIELDFIX_LIFECYCLE_TICK", 5*time.Second), "how often offers are expired and due jobs offered (env FIELDFIX_LIFECYCLE_TICK)")
	fs.StringVar(&c.ReadDatabaseURL, "read-database-url", envOr(getenv, "FIELDFIX_READ_DATABASE_URL", ""), "optional streaming replica for the board, audit, KPIs and lists (env FIELDFIX_READ_DATABASE_URL)")
	fs.DurationVar(&c.ReadMaxLag, "read-max-lag", durationEnv(getenv, "FIELDFIX_READ_MAX_LAG", postgres.DefaultMaxLag), "reads go back to the primary while the replica is further behind than this (env FIELDFIX_READ_MAX_LAG)")
}

// serve runs the server until ctx ends, on clock (nil: the wall clock): a simulation's clock
// moves every time the server keeps and tells, and its background loops (offers, schedules) run
// as many times faster. listening, when given, is told the server's base URL once it listens.
func serve(ctx context.Context, c config, getenv func(string) string, clock *sim.Clock, stdout, stderr io.Writer, listening func(string)) error {
	log := c.logger(stderr)
	if path := getenv("FIELDFIX_CPUPROFILE"); path != "" { // for performance work: a CPU profile of the whole run
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rules, err := c.rules()
	if err != nil {
		return err
	}
	if c.JWTSecret == devSecret {
		log.Warn("FIELDFIX_JWT_SECRET is unset: signing with the development secret")
	}
	pool, err := openDB(ctx, c, servePool(runtime.GOMAXPROCS(0)))
	if err != nil {
		return err
	}
	defer pool.Close()

	store := postgres.New(pool)
	var now dispatch.Clock = dispatch.SystemClock
	speed := 1.0
	if clock != nil {
		now, speed = clock, clock.Speed()
		c.LifecycleTick = max(time.Duration(float64(c.LifecycleTick)/speed), 100*time.Millisecond)
		log.Info("serving on a simulated clock", "now", clock.Now().Format(time.RFC3339), "speed", speed)
	}
	svc := services.New(store, rules, now, log)
	svc.Offers.Config.OfferHorizon, svc.Offers.Config.OfferTTL = c.OfferHorizon, c.OfferTTL
	svc.Planner.Config.PositionMaxAge, svc.Planner.Config.PlanCacheMaxAge = c.PositionMaxAge, c.PlanCacheAge
	svc.Optimize.Config.FreezeHorizon = c.FreezeHorizon
	svc.Optimize.Config.MoveCost, svc.Optimize.Config.ChangeTechnician = c.MoveCost, c.MoveCost
	svc.Planner.Index = geo.NewIndex()
	if url := getenv("FIELDFIX_OSRM_URL"); url != "" {
		table := geo.FallbackTable{Primary: &geo.OSRMClient{BaseURL: url}, Secondary: svc.Planner.Travel, Logger: log}
		if svc.Planner.Matrix, err = geo.NewMatrixBuilder(table, svc.Planner.Travel, 0); err != nil {
			return err
		}
		log.Info("travel times from the routing engine", "osrm", url)
	}
	reg := metrics.New(svc.Board.AtRiskCount)
	svc.Env.Metrics = reg
	if c.ReadDatabaseURL != "" {
		closeReads, err := readFromReplica(ctx, c, svc, pool, reg, log)
		if err != nil {
			return err
		}
		defer closeReads()
	}
	svc.Env.PublicURL = c.PublicURL
	notifier, pusher, pushLine, err := pushSetup(ctx, getenv, store, reg, log)
	if err != nil {
		return err
	}
	svc.Env.Notifier = notifier
	fmt.Fprintln(stdout, "fieldfix: "+pushLine)
	proofLine, err := proofSetup(ctx, getenv, svc.Proof, log)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "fieldfix: "+proofLine)
	if err := svc.Planner.LoadIndex(ctx); err != nil {
		return err
	}
	// Background work stops with ctx; wg lets shutdown wait for it.
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(ctx)
	defer func() { stopBG(); wg.Wait() }()
	svc.Money.Provider.Secret = []byte(getenv("FIELDFIX_PAYMENTS_WEBHOOK_SECRET"))
	svc.Money.Provider.Tolerance = durationEnv(getenv, "FIELDFIX_PAYMENTS_WEBHOOK_TOLERANCE", 5*time.Minute)
	if url := getenv("FIELDFIX_FOLLOWUP_WEBHOOK"); url != "" {
		svc.Aftersales.FollowUp.Webhook = followUpWebhook(url)
	}
	jobs, err := schedules(svc, getenv, log)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		reg.Schedules(j.Name)
	}
	runner := &schedule.Runner{Jobs: jobs, Claims: store.Ticks(), Replica: replicaName(), Log: log, Metrics: reg, Now: now.Now, Speed: speed}
	hub := api.NewHub()
	wg.Add(4)
	go func() { defer wg.Done(); _ = runner.Run(bg) }()
	if pusher != nil {
		wg.Add(1)
		go func() { defer wg.Done(); pusher.Run(bg) }()
	}
	go func() {
		defer wg.Done()
		store.FollowEvents(bg, 100*time.Millisecond, hub.Publish, hub.Resync)
	}()
	go func() {
		defer wg.Done()
		// Each change to a technician (a ping among them) goes to the geo index and, with their
		// position, to the console's live feed.
		store.ListenTechnicians(bg, func(id int64) {
			if t, ok := svc.Planner.SyncTechnician(bg, id); ok {
				hub.Technician(t)
			}
		}, func() {
			if err := svc.Planner.LoadIndex(bg); err != nil && bg.Err() == nil {
				log.Warn("geo index reload", "err", err)
			}
		})
	}()
	go func() { defer wg.Done(); svc.Offers.RunLifecycle(bg, c.LifecycleTick) }()
	e := api.NewServer(api.Deps{Services: svc, Log: log, Now: now.Now, JWTSecret: []byte(c.JWTSecret), JWTIssuer: c.JWTIssuer, JWTAudience: c.JWTAudience, Ready: pool.Ping,
		Metrics: reg, MetricsHandler: reg.Handler(), Events: hub, BookingsPerMinute: c.BookingsPerMinute,
		ComplaintsPerMinute: c.ComplaintsPerMinute, MapTiles: getenv("FIELDFIX_MAP_TILES"), MapAttribution: getenv("FIELDFIX_MAP_ATTRIBUTION")})
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	// A live feed (GET /v1/events) would hold Shutdown for its whole grace period, and a
	// container stopped with it open would be killed: streams end as shutdown begins (the client
	// reconnects after its retry: 2000 ms, through the load balancer to another replica), while
	// ordinary requests in flight finish.
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	srv := &http.Server{
		Handler:           endStreamsOnShutdown(streams, e),
		ReadHeaderTimeout: durationEnv(getenv, "FIELDFIX_READ_HEADER_TIMEOUT", 5*time.Second), // slow clients are cut off
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
	}
	srv.RegisterOnShutdown(endStreams)
	log.Info("serving", "version", version, "addr", ln.Addr().String())
	fmt.Fprintf(stdout, "fieldfix: listening on http://%s\n", ln.Addr())
	if listening != nil {
		listening("http://" + ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", shutdownGrace)
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdownGrace is how long requests in flight may take to finish after SIGTERM; a container
// runtime's stop timeout must be longer than it plus the background work's stop (usually under a
// second, up to 5 s more when the push worker cannot reach the database: docs/deploy.md).
const shutdownGrace = 8 * time.Second

// endStreamsOnShutdown ends the event stream's requests when streams is done; other requests
// keep their own context, so Shutdown lets them finish.
func endStreamsOnShutdown(streams context.Context, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/events" {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(streams, cancel)()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, getenv, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := openDB(ctx, c, 2)
	if err != nil {
		return err
	}
	pool.Close()
	fmt.Fprintln(stdout, "fieldfix: database migrated")
	return nil
}

func runToken(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, getenv, &c)
	role := fs.String("role", "", "customer, technician, dispatcher or admin")
	sub := fs.String("sub", "", "the subject (login identity)")
	ttl := fs.Duration("ttl", 30*24*time.Hour, "validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tok, err := c.jwt().Issue(dispatch.Role(*role), *sub, time.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
