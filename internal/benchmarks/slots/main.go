// Command slots measures the customer-facing planning calls on a region of 300 technicians with
// about 10 jobs each: GET /v1/slots's evaluation (Service.Slots) and the online insertion of a
// booking (Service.CreateBooking), against a real PostgreSQL. It prints p50/p99 per call.
//
//	go run ./internal/benchmarks/slots [-technicians 300] [-jobs 3000] [-queries 200]
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-slots:", err)
		os.Exit(1)
	}
}

func run() error {
	techs := flag.Int("technicians", 300, "technicians in the region")
	jobs := flag.Int("jobs", 3000, "bookings planned before measuring")
	queries := flag.Int("queries", 200, "slot queries and bookings measured")
	flag.Parse()
	ctx := context.Background()

	// A scratch schema on the test database, dropped at the end.
	db, drop, err := dbtest.Scratch(ctx, "bench_slots_", 16)
	if err != nil {
		return err
	}
	defer drop()
	pool := db.Pool

	// Monday 07:00 UTC, so the day's shifts lie ahead.
	now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	svc := services.New(postgres.New(pool), dispatch.DefaultRules(), dispatch.ClockFunc(func() time.Time { return now }), nil)
	svc.Planner.Index = geo.NewIndex()
	rng := rand.New(rand.NewPCG(1, 2))
	center := dispatch.Location{Lat: 45.764, Lng: 4.8357}
	near := func(km float64) dispatch.Location {
		r, a := km*math.Sqrt(rng.Float64()), rng.Float64()*2*math.Pi
		return dispatch.Location{Lat: center.Lat + r/111.32*math.Sin(a), Lng: center.Lng + r/(111.32*math.Cos(center.Lat*math.Pi/180))*math.Cos(a)}
	}
	admin2 := dispatch.Actor{Subject: "bench", Role: dispatch.RoleAdmin}
	var shifts []dispatch.Shift
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		shifts = append(shifts, dispatch.Shift{Day: d, Start: "08:00", End: "18:00"})
	}
	trades := []string{"washer", "fridge", "ac", "tv", "water_heater"}
	for i := range *techs {
		if _, err := svc.Roster.CreateTechnician(ctx, admin2, roster.TechnicianRequest{Subject: fmt.Sprintf("t%d", i), Name: fmt.Sprintf("Tech %d", i),
			Skills: []string{trades[i%5], trades[(i+2)%5]}, Home: near(9), TimeZone: "Europe/Paris", WeeklyShifts: shifts}); err != nil {
			return err
		}
	}
	if err := svc.Planner.LoadIndex(ctx); err != nil {
		return err
	}
	cust := dispatch.Actor{Subject: "bench-customer", Role: dispatch.RoleCustomer}
	req := func() intake.BookingRequest {
		return intake.BookingRequest{ServiceType: dispatch.ServiceRepair, Appliance: trades[rng.IntN(5)], Problem: "broken",
			Address: "Lyon", Location: near(9)}
	}
	start := time.Now()
	for range *jobs {
		if _, _, err := svc.Intake.CreateBooking(ctx, cust, req(), "", ""); err != nil {
			return err
		}
	}
	seedTime := time.Since(start)
	var planned int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM jobs WHERE technician_id IS NOT NULL").Scan(&planned); err != nil {
		return err
	}

	var slotT, bookT []time.Duration
	offered := 0
	for range *queries {
		r := req()
		t0 := time.Now()
		ss, _, err := svc.Intake.Slots(ctx, cust, intake.SlotQuery{Location: r.Location, Appliance: r.Appliance, ServiceType: r.ServiceType,
			From: now, To: now.Add(72 * time.Hour)})
		if err != nil {
			return err
		}
		slotT = append(slotT, time.Since(t0))
		offered += len(ss)
		t0 = time.Now()
		if _, _, err := svc.Intake.CreateBooking(ctx, cust, r, "", ""); err != nil {
			return err
		}
		bookT = append(bookT, time.Since(t0))
	}
	pct := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(math.Ceil(p*float64(len(s))))-1]
	}
	fmt.Printf("region: %d technicians, %d bookings planned first (%d with a technician), seeding took %s (%.0f bookings/s sequential)\n",
		*techs, *jobs, planned, seedTime.Round(time.Millisecond), float64(*jobs)/seedTime.Seconds())
	fmt.Printf("| call | n | p50 | p99 | goal |\n|---|---:|---:|---:|---|\n")
	fmt.Printf("| slots (72 h, 2 h windows; %.1f offered on average) | %d | %.1f ms | %.1f ms | p99 < 50 ms |\n",
		float64(offered)/float64(len(slotT)), len(slotT), ms(pct(slotT, .5)), ms(pct(slotT, .99)))
	fmt.Printf("| create booking with online insertion | %d | %.1f ms | %.1f ms | |\n", len(bookT), ms(pct(bookT, .5)), ms(pct(bookT, .99)))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
