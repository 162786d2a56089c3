package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/sim"
)

// runSim simulates a day in the demo city (see package sim): against a server of its own, run in
// this process on the simulated clock, or against the running server at --url (on its own clock).
func runSim(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "a running server to drive (its own clock: its KPIs see compressed times); empty: run one in this process on DATABASE_URL, on the simulated clock")
	var c config
	commonFlags(fs, getenv, &c) // the server's: the simulated people's tokens must pass its check
	dur := fs.Duration("duration", 2*time.Minute, "how long to run (wall clock)")
	rate := fs.Float64("rate", 2, "bookings per second")
	speed := fs.Float64("speed", 60, "simulated seconds per second: 60 runs an hour a minute")
	start := fs.String("start", "", "when the simulated day starts (RFC 3339, or HH:MM today in the business time zone); empty: now")
	keep := fs.Bool("keep-serving", false, "after the run, keep the in-process server up on the simulated clock (at wall speed from the day's end) to look at the board and KPIs; until interrupted")
	techs := fs.Int("technicians", 40, "simulated technicians (tech-01.. from the demo seed)")
	decline := fs.Float64("decline", 0.1, "probability an offer is declined")
	incomplete := fs.Float64("incomplete", 0.1, "probability a visit needs a second one")
	warranty := fs.Float64("warranty", 0.4, "share of bookings about a product in warranty")
	seed := fs.Uint64("seed", 1, "random seed")
	report := fs.Duration("report", 10*time.Second, "how often KPIs are printed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rules, err := c.rules()
	if err != nil {
		return err
	}
	begin, err := simStart(*start, time.Now(), rules.Zone())
	if err != nil {
		return err
	}
	clock := sim.NewHeldClock(begin, *speed) // stands at begin while the server starts
	cfg := sim.Config{BaseURL: *base, Tokens: c.jwt(), Duration: *dur, Rate: *rate, Speed: *speed, Clock: clock,
		Technicians: *techs, Decline: *decline, Incomplete: *incomplete, Warranty: *warranty, Seed: *seed, Report: *report, Out: stdout}
	if *base != "" {
		if u, err := url.Parse(*base); err != nil || u.Host == "" {
			return fmt.Errorf("--url %q is not a server URL", *base)
		}
		if *start != "" || *keep {
			return errors.New("--start and --keep-serving need the in-process server (no --url): a running server keeps its own clock")
		}
		s, err := sim.Run(ctx, cfg)
		if err != nil {
			return err
		}
		s.WriteReport(stdout)
		return nil
	}

	// A server of our own on the simulated clock, seeded with the demo city when empty.
	if err := seedWhenEmpty(ctx, c, rules, begin, stdout); err != nil {
		return err
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	sfs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(sfs, getenv, &c) // the server's own settings: their environment or defaults
	c.Addr = "127.0.0.1:0"
	if logSet := getenv("FIELDFIX_LOG_LEVEL") != ""; !logSet {
		fs.Visit(func(f *flag.Flag) { logSet = logSet || f.Name == "log-level" })
		if !logSet {
			c.LogLevel = "warn" // the server's request log would drown the report
		}
	}
	listening, served := make(chan string, 1), make(chan error, 1)
	go func() {
		served <- serve(serveCtx, c, getenv, clock, io.Discard, stderr, func(u string) { listening <- u })
	}()
	select {
	case cfg.BaseURL = <-listening:
	case err := <-served:
		return fmt.Errorf("the simulation's server: %w", err)
	}
	cfg.ServerOnClock = true
	fmt.Fprintf(stdout, "fieldfix sim: a server on the simulated clock at %s, from %s at --speed %g\n",
		cfg.BaseURL, begin.In(rules.Zone()).Format("Mon 2 Jan 15:04 MST"), *speed)
	s, err := sim.Run(ctx, cfg)
	if err != nil {
		return err
	}
	s.WriteReport(stdout)
	if *keep {
		clock.SetSpeed(1)
		fmt.Fprintf(stdout, "\nserving on at %s (the simulated clock at wall speed from %s); the console: %s/console; Ctrl-C ends\n",
			cfg.BaseURL, clock.Now().In(rules.Zone()).Format("Mon 15:04 MST"), cfg.BaseURL)
		<-ctx.Done()
	}
	stopServe()
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// simStart reads --start: RFC 3339, or HH:MM today in zone; empty is now.
func simStart(s string, now time.Time, zone *time.Location) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	hm, err := time.Parse("15:04", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start %q: want RFC 3339 or HH:MM", s)
	}
	y, m, d := now.In(zone).Date()
	return time.Date(y, m, d, hm.Hour(), hm.Minute(), 0, 0, zone), nil
}

// seedWhenEmpty loads the demo city when the database has no technician: its work under way as
// of half an hour before the simulated day starts, so that the day's figures are the sim's own.
func seedWhenEmpty(ctx context.Context, c config, rules dispatch.Rules, begin time.Time, stdout io.Writer) error {
	pool, err := openDB(ctx, c, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	clock := sim.NewClock(begin.Add(-30*time.Minute), 1)
	svc := services.New(postgres.New(pool), rules, clock, nil)
	svc.Env.PublicURL = c.PublicURL
	seeded, err := seedDemo(ctx, svc, 40, 15, clock.Now())
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(stdout, "fieldfix sim: seeded the demo city of %s\n", demoCity.Name)
	}
	return nil
}
