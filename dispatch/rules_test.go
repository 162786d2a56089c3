package dispatch

import (
	"errors"
	"testing"
	"time"
)

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func datep(s string) *Date { d := date(s); return &d }

func TestTierFor(t *testing.T) {
	r := DefaultRules()
	at := func(s string) time.Time { return date(s).Time().Add(10 * time.Hour) }
	cases := []struct {
		name string
		p    *Purchase
		at   time.Time
		want Tier
	}{
		{"no purchase record is paid", nil, at("2026-05-01"), TierPaid},
		{"inside warranty", &Purchase{PurchasedAt: date("2025-03-10"), WarrantyMonths: 24}, at("2026-05-01"), TierWarranty},
		{"last day of warranty", &Purchase{PurchasedAt: date("2025-03-10"), WarrantyMonths: 24}, at("2027-03-09"), TierWarranty},
		{"day after warranty", &Purchase{PurchasedAt: date("2025-03-10"), WarrantyMonths: 24}, at("2027-03-10"), TierPaid},
		{"month-end purchase clamps", &Purchase{PurchasedAt: date("2026-01-31"), WarrantyMonths: 1}, at("2026-02-27"), TierWarranty},
		{"month-end purchase ends in February", &Purchase{PurchasedAt: date("2026-01-31"), WarrantyMonths: 1}, at("2026-02-28"), TierPaid},
		{"extended warranty counts", &Purchase{PurchasedAt: date("2020-01-01"), WarrantyMonths: 24, ExtendedWarrantyUntil: datep("2026-06-30")}, at("2026-06-30"), TierWarranty},
		{"extended warranty over", &Purchase{PurchasedAt: date("2020-01-01"), WarrantyMonths: 24, ExtendedWarrantyUntil: datep("2026-06-30")}, at("2026-07-01"), TierPaid},
		{"extended shorter than base does not shorten it", &Purchase{PurchasedAt: date("2026-01-01"), WarrantyMonths: 24, ExtendedWarrantyUntil: datep("2026-02-01")}, at("2027-06-01"), TierWarranty},
		{"no warranty at all", &Purchase{PurchasedAt: date("2026-04-01"), WarrantyMonths: 0}, at("2026-04-02"), TierPaid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r.TierFor(c.p, c.at); got != c.want {
				t.Fatalf("TierFor = %s, want %s", got, c.want)
			}
		})
	}
}

func TestTierForUsesBusinessTimeZone(t *testing.T) {
	r := DefaultRules()
	r.Location, _ = time.LoadLocation("Asia/Shanghai")
	p := &Purchase{PurchasedAt: date("2025-03-10"), WarrantyMonths: 24}
	// 2027-03-09 20:00 UTC is already 2027-03-10 in Shanghai: the day after the warranty.
	if got := r.TierFor(p, time.Date(2027, 3, 9, 20, 0, 0, 0, time.UTC)); got != TierPaid {
		t.Fatalf("tier = %s, want paid", got)
	}
}

func TestSLADueAt(t *testing.T) {
	r := DefaultRules()
	created := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	if got := r.SLADueAt(TierWarranty, created); !got.Equal(created.Add(48 * time.Hour)) {
		t.Fatalf("warranty due %v", got)
	}
	if got := r.SLADueAt(TierPaid, created); !got.Equal(created.Add(24 * time.Hour)) {
		t.Fatalf("paid due %v", got)
	}
	r.PaidSLA = 12 * time.Hour
	if got := r.SLADueAt(TierPaid, created); !got.Equal(created.Add(12 * time.Hour)) {
		t.Fatalf("configured paid due %v", got)
	}
}

func TestCheckReturn(t *testing.T) {
	r := DefaultRules()
	delivered := datep("2026-11-01")
	p := &Purchase{PurchasedAt: date("2026-10-28"), DeliveredAt: delivered, WarrantyMonths: 24}
	at := func(s string) time.Time { return date(s).Time().Add(15 * time.Hour) }
	cases := []struct {
		name string
		p    *Purchase
		kind ReturnKind
		at   time.Time
		code string // "" accepted
	}{
		{"return on delivery day", p, ReturnUnconditional, at("2026-11-01"), ""},
		{"return on day 7", p, ReturnUnconditional, at("2026-11-08"), ""},
		{"return on day 8", p, ReturnUnconditional, at("2026-11-09"), "return_window_closed"},
		{"exchange on day 8", p, ReturnExchange, at("2026-11-09"), ""},
		{"exchange on day 30", p, ReturnExchange, at("2026-12-01"), ""},
		{"exchange on day 31", p, ReturnExchange, at("2026-12-02"), "exchange_window_closed"},
		{"return on day 31", p, ReturnUnconditional, at("2026-12-02"), "return_window_closed"},
		{"window counts from delivery, not purchase", p, ReturnUnconditional, at("2026-11-06"), ""},
		{"no delivery date counts from purchase", &Purchase{PurchasedAt: date("2026-10-28"), WarrantyMonths: 24}, ReturnUnconditional, at("2026-11-06"), "return_window_closed"},
		{"no purchase record", nil, ReturnUnconditional, at("2026-11-02"), "purchase_required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.CheckReturn(c.p, c.kind, c.at)
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code || e.Kind != KindUnprocessable {
				t.Fatalf("err = %v, want code %s (422)", err, c.code)
			}
		})
	}
}

func TestRequiredSkillsAndDuration(t *testing.T) {
	cases := []struct {
		appliance string
		st        ServiceType
		skills    []string
		dur       time.Duration
	}{
		{"washer", ServiceRepair, []string{"washer"}, 60 * time.Minute},
		{"dryer", ServiceRepair, []string{"washer"}, 60 * time.Minute},
		{"ac", ServiceInstallation, []string{"ac", "install"}, 150 * time.Minute},
		{"fridge", ServiceMaintenance, []string{"fridge"}, 45 * time.Minute},
		{"tv", ServiceReturnPickup, []string{"tv"}, 30 * time.Minute},
	}
	for _, c := range cases {
		got, err := RequiredSkills(c.appliance, c.st)
		if err != nil || len(got) != len(c.skills) || got[0] != c.skills[0] || got[len(got)-1] != c.skills[len(c.skills)-1] {
			t.Errorf("RequiredSkills(%s, %s) = %v, %v; want %v", c.appliance, c.st, got, err, c.skills)
		}
		if d := ExpectedDuration(c.appliance, c.st); d != c.dur {
			t.Errorf("ExpectedDuration(%s, %s) = %v, want %v", c.appliance, c.st, d, c.dur)
		}
	}
	if _, err := RequiredSkills("toaster", ServiceRepair); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown appliance: %v", err)
	}
}

func TestValidateLocation(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	bad := []Location{{91, 0}, {-91, 1}, {10, 181}, {10, -180.5}, {0, 0}, {nan, 1}, {1, nan}}
	for _, l := range bad {
		if err := ValidateLocation("location", l); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v accepted", l)
		}
	}
	for _, l := range []Location{{45.76, 4.83}, {-33.9, 151.2}, {90, 180}, {0, 1}} {
		if err := ValidateLocation("location", l); err != nil {
			t.Errorf("%v refused: %v", l, err)
		}
	}
}
