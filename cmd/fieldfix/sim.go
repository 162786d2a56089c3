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
	warranty := fs.Float64("warranty", 0.4, "share of bookings about a product in warranty")
	seed := fs.Uint64("seed", 1, "random seed")
	report := fs.Duration("report", 10*time.Second, "how often KPIs are printed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if u, err := url.Parse(*base); err != nil || u.Host == "" {
		return fmt.Errorf("--url %q is not a server URL", *base)
	}
	s, err := sim.Run(ctx, sim.Config{BaseURL: *base, Tokens: c.jwt(), Duration: *dur, Rate: *rate, Speed: *speed,
		Technicians: *techs, Decline: *decline, Incomplete: *incomplete, Warranty: *warranty, Seed: *seed, Report: *report, Out: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nran %s of wall time at --speed %g: simulated %s (%s → %s on the simulated clock, UTC)\n",
		*dur, *speed, s.SimEnd.Sub(s.SimStart).Round(time.Minute), s.SimStart.UTC().Format("Mon 15:04"), s.SimEnd.UTC().Format("Mon 15:04"))
	fmt.Fprintf(stdout, "bookings %d (%.1f/s): %d warranty, %d paid; statuses %v, latency p50 %s p99 %s; transport errors %d\n",
		s.Bookings, s.BookingRate, s.Tiers["warranty"], s.Tiers["paid"], s.Statuses, s.P50.Round(time.Millisecond), s.P99.Round(time.Millisecond), s.Errors)
	fmt.Fprintf(stdout, "technicians: accepted %d, declined %d, on site %d, completed %d, second visits %d, rated %d\n",
		s.Accepted, s.Declined, s.OnSite, s.Completed, s.Incomplete, s.Rated)
	for _, tier := range []string{"paid", "warranty"} {
		if n := s.Arrivals[tier]; n > 0 {
			fmt.Fprintf(stdout, "  %-8s arrivals %d, median response (booking → on site) %s, on time for the SLA %d/%d (simulated clock)\n",
				tier, n, s.Response[tier].Round(time.Minute), s.OnTime[tier], n)
		}
	}
	fmt.Fprintf(stdout, "arrivals after the planned start: median %s (simulated clock)\n", s.Lateness.Round(time.Minute))
	return nil
}
