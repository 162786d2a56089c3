package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/services"
)

// The demo city is Lyon: technicians live within ~12 km of the centre.
var demoCity = struct {
	Name     string
	Center   dispatch.Location
	TimeZone string
}{"Lyon", dispatch.Location{Lat: 45.7640, Lng: 4.8357}, "Europe/Paris"}

var demoFirstNames = []string{"Camille", "Louis", "Chloé", "Hugo", "Léa", "Nathan", "Manon", "Lucas", "Inès", "Jules",
	"Sarah", "Gabriel", "Emma", "Arthur", "Zoé", "Adam", "Lina", "Raphaël", "Jade", "Mohamed"}
var demoLastNames = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
	"Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier"}

var demoShiftPatterns = [][]dispatch.Shift{
	weekdays([]string{"mon", "tue", "wed", "thu", "fri"}, "08:00", "17:00"),
	weekdays([]string{"tue", "wed", "thu", "fri", "sat"}, "09:00", "18:00"),
	weekdays([]string{"mon", "tue", "wed", "thu", "fri"}, "12:00", "20:00"),
	weekdays([]string{"mon", "wed", "fri", "sat", "sun"}, "08:00", "16:00"),
}

func weekdays(days []string, start, end string) []dispatch.Shift {
	out := make([]dispatch.Shift, len(days))
	for i, d := range days {
		out[i] = dispatch.Shift{Day: d, Start: start, End: end}
	}
	return out
}

// demoPoint is a point about r km from the centre at angle a.
func demoPoint(rng *rand.Rand, maxKm float64) dispatch.Location {
	r := maxKm * math.Sqrt(rng.Float64())
	a := rng.Float64() * 2 * math.Pi
	dLat := r / 111.32 * math.Sin(a)
	dLng := r / (111.32 * math.Cos(demoCity.Center.Lat*math.Pi/180)) * math.Cos(a)
	return dispatch.Location{Lat: round6(demoCity.Center.Lat + dLat), Lng: round6(demoCity.Center.Lng + dLng)}
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, getenv, &c)
	technicians := fs.Int("technicians", 40, "how many demo technicians")
	bookings := fs.Int("bookings", 15, "how many demo bookings (today's work)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rules, err := c.rules()
	if err != nil {
		return err
	}
	pool, err := openDB(ctx, c, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc := services.New(postgres.New(pool), rules, dispatch.SystemClock, nil)
	svc.Env.PublicURL = c.PublicURL
	seeded, err := seedDemo(ctx, svc, *technicians, *bookings, time.Now())
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(stdout, "fieldfix: seeded the demo city of %s (%d technicians, %d customers with purchases, %d bookings: warranty, paid, extended warranty, a return; the day's work under way)\n",
			demoCity.Name, *technicians, 1+len(otherPurchases(dispatch.Date{})), *bookings)
	} else {
		fmt.Fprintln(stdout, "fieldfix: the database already has technicians; demo seed skipped")
	}
	return printDemoTokens(ctx, svc, c.jwt(), stdout)
}

// seedDemo loads the demo city when there is no technician yet.
func seedDemo(ctx context.Context, svc *services.Set, n, bookings int, now time.Time) (bool, error) {
	admin := dispatch.Actor{Subject: "seed", Role: dispatch.RoleAdmin}
	existing, err := svc.Roster.ListTechnicians(ctx, admin, dispatch.Page{Limit: 1})
	if err != nil {
		return false, err
	}
	if len(existing) > 0 {
		return false, nil
	}
	rng := rand.New(rand.NewPCG(42, 7))
	trades := []string{"washer", "fridge", "ac", "tv", "water_heater"}
	for i := range n {
		skills := []string{trades[i%len(trades)]}
		if rng.IntN(2) == 0 {
			skills = append(skills, trades[rng.IntN(len(trades))])
		}
		if i%4 == 0 {
			skills = append(skills, "install")
		}
		_, err := svc.Roster.CreateTechnician(ctx, admin, roster.TechnicianRequest{
			Subject:      fmt.Sprintf("tech-%02d", i+1),
			Name:         demoFirstNames[i%len(demoFirstNames)] + " " + demoLastNames[(i*7+i/len(demoFirstNames))%len(demoLastNames)],
			Skills:       skills,
			Home:         demoPoint(rng, 12),
			TimeZone:     demoCity.TimeZone,
			WeeklyShifts: demoShiftPatterns[i%len(demoShiftPatterns)],
		})
		if err != nil {
			return false, fmt.Errorf("seed technician %d: %w", i+1, err)
		}
	}
	owned, err := seedPurchases(ctx, svc, admin, dispatch.DateOf(now.In(svc.Env.Rules.Zone())))
	if err != nil {
		return false, err
	}
	if err := seedDay(ctx, svc, rng, owned, bookings); err != nil {
		return false, err
	}
	return true, nil
}

// demoPurchases covers each tier rule: in warranty, out of warranty, extended, a recent delivery.
func demoPurchases(today dispatch.Date) []intake.PurchaseRequest {
	ext := today.AddDays(200)
	recent := today.AddDays(-3)
	return []intake.PurchaseRequest{
		{Category: "washer", Brand: "Bosch", Model: "Serie 6 WAU28", Serial: "BW-1001", PurchasedAt: today.AddMonths(-5), WarrantyMonths: 24},
		{Category: "fridge", Brand: "Samsung", Model: "RB34T", Serial: "SF-2002", PurchasedAt: today.AddMonths(-40), WarrantyMonths: 24},
		{Category: "ac", Brand: "Daikin", Model: "Sensira FTXF35", Serial: "DA-3003", PurchasedAt: today.AddMonths(-30), WarrantyMonths: 24, ExtendedWarrantyUntil: &ext},
		{Category: "tv", Brand: "LG", Model: "OLED55C3", Serial: "LG-4004", PurchasedAt: recent.AddDays(-2), DeliveredAt: &recent, WarrantyMonths: 24},
		{Category: "water_heater", Brand: "Atlantic", Model: "Chauffeo 200", Serial: "AT-5005", PurchasedAt: today.AddMonths(-70), WarrantyMonths: 60},
		{Category: "dishwasher", Brand: "Miele", Model: "G 5210", Serial: "MI-6006", PurchasedAt: today.AddMonths(-11), WarrantyMonths: 12},
	}
}

// printDemoTokens prints one token per role and the first customer's purchases, ready to paste.
func printDemoTokens(ctx context.Context, svc *services.Set, tokens api.JWT, w io.Writer) error {
	now := time.Now()
	fmt.Fprintln(w, "\ndemo tokens (valid 30 days):")
	for _, r := range []struct {
		role dispatch.Role
		sub  string
	}{{dispatch.RoleCustomer, "demo-customer-1"}, {dispatch.RoleCustomer, "demo-customer-2"}, {dispatch.RoleTechnician, "tech-01"},
		{dispatch.RoleDispatcher, "demo-dispatcher"}, {dispatch.RoleAdmin, "demo-admin"}} {
		tok, err := tokens.Issue(r.role, r.sub, now, 30*24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-10s %-16s %s\n", r.role, r.sub, tok)
	}
	fmt.Fprintln(w, "\ndemo purchases:")
	for _, sub := range []string{"demo-customer-1"} {
		ps, err := svc.Intake.ListPurchases(ctx, dispatch.Actor{Subject: sub, Role: dispatch.RoleCustomer}, "", dispatch.Page{Limit: 10})
		if err != nil {
			return err
		}
		for _, p := range ps {
			in, until := svc.Intake.WarrantyStatus(p)
			state := "out of warranty"
			if in {
				state = "in warranty until " + until.String()
			}
			fmt.Fprintf(w, "  %-16s purchase_id=%-4d %-12s %s %s, %s\n", sub, p.ID, p.Category, p.Brand, p.Model, state)
		}
	}
	return nil
}
