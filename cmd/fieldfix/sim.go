package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/fieldfix/fieldfix/sim"
)

// runSim simulates a day in the demo city against a running server (see package sim).
func runSim(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "the server")
	var c config
	jwtFlags(fs, getenv, &c) // the server's: the simulated people's tokens must pass its check
	dur := fs.Duration("duration", 2*time.Minute, "how long to run (wall clock)")
	rate := fs.Float64("rate", 2, "bookings per second")
	speed := fs.Float64("speed", 60, "simulated seconds per second: 60 runs an hour a minute")
	techs := fs.Int("technicians", 40, "simulated technicians (tech-01.. from the demo seed)")
	decline := fs.Float64("decline", 0.1, "probability an offer is declined")
	incomplete := fs.Float64("incomplete", 0.1, "probability a visit needs a second one")
	seed := fs.Uint64("seed", 1, "random seed")
	report := fs.Duration("report", 10*time.Second, "how often KPIs are printed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if u, err := url.Parse(*base); err != nil || u.Host == "" {
		return fmt.Errorf("--url %q is not a server URL", *base)
	}
	s, err := sim.Run(ctx, sim.Config{BaseURL: *base, Tokens: c.jwt(), Duration: *dur, Rate: *rate, Speed: *speed,
		Technicians: *techs, Decline: *decline, Incomplete: *incomplete, Seed: *seed, Report: *report, Out: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nsimulated %s: %d bookings (%.1f/s), statuses %v, latency p50 %s p99 %s; accepted %d, declined %d, on site %d, completed %d, second visits %d, rated %d, transport errors %d\n",
		*dur, s.Bookings, s.BookingRate, s.Statuses, s.P50.Round(time.Millisecond), s.P99.Round(time.Millisecond), s.Accepted, s.Declined, s.OnSite,
		s.Completed, s.Incomplete, s.Rated, s.Errors)
	return nil
}
