package main

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/services"
)

// The demo's day: customers whose products are in warranty, out of it, under an extended
// warranty, and one returning a TV delivered three days ago; their bookings planned and offered,
// and the technicians' morning under way (visits confirmed, on the way, on site, done), so that
// the console's today has work on it after `make run`.

// otherPurchases are demo-customer-2.. 's products, one each: about half covered.
func otherPurchases(today dispatch.Date) []intake.PurchaseRequest {
	ext := today.AddDays(120)
	return []intake.PurchaseRequest{
		{Category: "washer", Brand: "Whirlpool", Model: "FFB 8458", Serial: "WH-2101", PurchasedAt: today.AddMonths(-14), WarrantyMonths: 24},
		{Category: "fridge", Brand: "Liebherr", Model: "CNel 4813", Serial: "LI-2102", PurchasedAt: today.AddMonths(-30), WarrantyMonths: 24},
		{Category: "ac", Brand: "Mitsubishi", Model: "MSZ-HR35", Serial: "MI-2103", PurchasedAt: today.AddMonths(-50), WarrantyMonths: 24},
		{Category: "tv", Brand: "Sony", Model: "Bravia XR-55", Serial: "SO-2104", PurchasedAt: today.AddMonths(-8), WarrantyMonths: 24},
		{Category: "water_heater", Brand: "Thermor", Model: "Duralis 150", Serial: "TH-2105", PurchasedAt: today.AddMonths(-90), WarrantyMonths: 60},
		{Category: "dishwasher", Brand: "Beko", Model: "DIN 36430", Serial: "BE-2106", PurchasedAt: today.AddMonths(-20), WarrantyMonths: 12},
		{Category: "washer", Brand: "Electrolux", Model: "EW7F3846", Serial: "EL-2107", PurchasedAt: today.AddMonths(-40), WarrantyMonths: 24, ExtendedWarrantyUntil: &ext},
		{Category: "fridge", Brand: "Haier", Model: "HB20FPAAA", Serial: "HA-2108", PurchasedAt: today.AddMonths(-4), WarrantyMonths: 24},
		{Category: "ac", Brand: "Daikin", Model: "Perfera FTXM25", Serial: "DA-2109", PurchasedAt: today.AddMonths(-28), WarrantyMonths: 24},
		{Category: "tv", Brand: "Philips", Model: "55OLED708", Serial: "PH-2110", PurchasedAt: today.AddMonths(-36), WarrantyMonths: 24},
		{Category: "water_heater", Brand: "Ariston", Model: "Velis Evo 80", Serial: "AR-2111", PurchasedAt: today.AddMonths(-72), WarrantyMonths: 60},
	}
}

// demoProblems are what customers say is wrong.
var demoProblems = map[string]string{
	"washer": "the drum does not spin", "fridge": "not cooling, the freezer is fine", "ac": "blows warm air",
	"tv": "no picture, sound works", "water_heater": "no hot water since yesterday", "dishwasher": "does not drain",
}

// ownedPurchase is a demo customer's product.
type ownedPurchase struct {
	sub string
	p   dispatch.Purchase
}

// seedPurchases registers the products from the shop's sales records (so verified):
// demo-customer-1 owns one of each kind (demoPurchases), the others one each (otherPurchases).
func seedPurchases(ctx context.Context, svc *services.Set, admin dispatch.Actor, today dispatch.Date) ([]ownedPurchase, error) {
	var out []ownedPurchase
	add := func(sub string, r intake.PurchaseRequest) error {
		r.CustomerSub = sub
		p, err := svc.Intake.RegisterPurchase(ctx, admin, r)
		if err != nil {
			return fmt.Errorf("seed purchase: %w", err)
		}
		out = append(out, ownedPurchase{sub, p})
		return nil
	}
	for _, r := range demoPurchases(today) {
		if err := add("demo-customer-1", r); err != nil {
			return nil, err
		}
	}
	for i, r := range otherPurchases(today) {
		if err := add(fmt.Sprintf("demo-customer-%d", i+2), r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// seedDay books n visits about the customers' products (the first customer's washer, AC under
// extended warranty, TV returned and out-of-warranty fridge, then one each of the others'), and
// moves the day forward as technicians would: of the offered visits, a few wait for an answer
// and the others are accepted; two of those are done, two on site, three on the way.
func seedDay(ctx context.Context, svc *services.Set, rng *rand.Rand, owned []ownedPurchase, n int) error {
	type visit struct {
		sub     string
		p       *dispatch.Purchase
		service dispatch.ServiceType
	}
	var plan []visit
	for _, o := range owned {
		switch {
		case o.sub != "demo-customer-1":
			plan = append(plan, visit{o.sub, &o.p, dispatch.ServiceRepair})
		case o.p.DeliveredAt != nil:
			plan = append(plan, visit{o.sub, &o.p, dispatch.ServiceReturnPickup})
		case o.p.Category == "washer" || o.p.Category == "ac" || o.p.Category == "fridge":
			plan = append(plan, visit{o.sub, &o.p, dispatch.ServiceRepair})
		}
	}
	// Every technician, page by page (a page holds at most 200: a fleet of 3,000, as the load
	// benchmark seeds, offered its jobs to technicians the first page did not hold).
	byID := map[int64]dispatch.Technician{}
	for page := (dispatch.Page{Limit: 200}); ; {
		techs, err := svc.Roster.ListTechnicians(ctx, dispatch.Actor{Subject: "seed", Role: dispatch.RoleAdmin}, page)
		if err != nil {
			return err
		}
		for _, t := range techs {
			byID[t.ID] = t
			page.Before = t.ID
		}
		if len(techs) < page.Limit {
			break
		}
	}
	accepted := 0
	for i := range n {
		v := plan[i%len(plan)]
		problem := demoProblems[v.p.Category]
		if v.service == dispatch.ServiceReturnPickup {
			problem = "return: the picture is not what the shop showed"
		}
		b, _, err := svc.Intake.CreateBooking(ctx, dispatch.Actor{Subject: v.sub, Role: dispatch.RoleCustomer}, intake.BookingRequest{
			ServiceType: v.service, Appliance: v.p.Category, Problem: problem, PurchaseID: &v.p.ID,
			Address: fmt.Sprintf("%d rue de la République, Lyon", 2+3*i), Location: demoPoint(rng, 9), Channel: []dispatch.Channel{"app", "web", "phone"}[i%3],
			ContactName: demoContacts[i%len(demoContacts)], ContactPhone: fmt.Sprintf("+33 6 %02d %02d %02d %02d", 10+i, 20+i, 30+i, 40+i)}, "", "")
		if err != nil {
			return fmt.Errorf("seed booking: %w", err)
		}
		j := b.Jobs[0]
		if j.Status != dispatch.JobOffered || i%5 == 4 {
			continue // not offered yet, or waiting for the technician's answer
		}
		t := byID[*j.TechnicianID]
		tech := dispatch.Actor{Subject: *t.Subject, Role: dispatch.RoleTechnician}
		if _, err := svc.Lifecycle.AcceptJob(ctx, tech, j.ID); err != nil {
			return fmt.Errorf("seed accept: %w", err)
		}
		accepted++
		var steps []dispatch.StatusUpdate
		switch {
		case accepted <= 2:
			steps = []dispatch.StatusUpdate{{Status: dispatch.JobEnRoute}, {Status: dispatch.JobOnSite},
				{Status: dispatch.JobCompleted, Outcome: "fixed", Notes: "demo: repaired on the first visit"}}
		case accepted <= 4:
			steps = []dispatch.StatusUpdate{{Status: dispatch.JobEnRoute}, {Status: dispatch.JobOnSite}}
		case accepted <= 7:
			steps = []dispatch.StatusUpdate{{Status: dispatch.JobEnRoute}}
			half := dispatch.Location{Lat: round6((t.Home.Lat + b.Location.Lat) / 2), Lng: round6((t.Home.Lng + b.Location.Lng) / 2)}
			if _, err := svc.Lifecycle.PingLocation(ctx, tech, half, nil); err != nil {
				return fmt.Errorf("seed ping: %w", err)
			}
		}
		for _, u := range steps {
			if _, err := svc.Lifecycle.UpdateJobStatus(ctx, tech, j.ID, u); err != nil {
				return fmt.Errorf("seed %s: %w", u.Status, err)
			}
		}
	}
	return nil
}

// demoContacts are who the technicians ask for at the door in the demo city.
var demoContacts = []string{"Chloé Martin", "Hugo Bernard", "Léa Dubois", "Lucas Thomas", "Manon Robert", "Nathan Petit", "Camille Durand"}
