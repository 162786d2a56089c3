package dispatch

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Rules are the after-sales rules of SPEC §2, with their durations as configuration.
type Rules struct {
	WarrantySLA      time.Duration // on site within, for warranty bookings (48 h)
	PaidSLA          time.Duration // on site within, for paid bookings (24 h)
	ReturnDays       int           // unconditional return window after delivery (7)
	ExchangeDays     int           // faulty-product exchange window after delivery (30)
	Location         *time.Location
	MaxWindowsAhead  time.Duration // how far ahead a preferred window may lie
	MinWindowLength  time.Duration // the shortest preferred window a customer may ask for (30 min)
	MaxProblemLength int
	ChangeCutoff     time.Duration // a customer reschedules or cancels up to this long before the window (2 h; 0: until the technician is on site)
}

// DefaultRules are the business's defaults.
func DefaultRules() Rules {
	return Rules{
		WarrantySLA:      48 * time.Hour,
		PaidSLA:          24 * time.Hour,
		ReturnDays:       7,
		ExchangeDays:     30,
		Location:         time.UTC,
		MaxWindowsAhead:  60 * 24 * time.Hour,
		MinWindowLength:  30 * time.Minute,
		MaxProblemLength: 4000,
		ChangeCutoff:     2 * time.Hour,
	}
}

// WarrantyEnd is the last day the product is covered: the day before purchase + months, or the
// extended warranty's last day when that is later.
func WarrantyEnd(p Purchase) Date {
	end := p.PurchasedAt.AddMonths(p.WarrantyMonths).AddDays(-1)
	if p.ExtendedWarrantyUntil != nil && end.Before(*p.ExtendedWarrantyUntil) {
		end = *p.ExtendedWarrantyUntil
	}
	return end
}

// InWarranty reports whether the product is covered on day.
func InWarranty(p Purchase, day Date) bool {
	if p.WarrantyMonths == 0 && p.ExtendedWarrantyUntil == nil {
		return false
	}
	return !WarrantyEnd(p).Before(day)
}

// TierFor decides the tier from the purchase record (nil: no record, so paid) on the booking's day.
func (r Rules) TierFor(p *Purchase, at time.Time) Tier {
	if p != nil && InWarranty(*p, DateOf(at.In(r.Zone()))) {
		return TierWarranty
	}
	return TierPaid
}

// SLADueAt is when a technician must be on site.
func (r Rules) SLADueAt(t Tier, created time.Time) time.Time {
	if t == TierWarranty {
		return created.Add(r.WarrantySLA)
	}
	return created.Add(r.PaidSLA)
}

// CheckReturn applies the return and exchange windows to a return pickup booked at 'at'.
func (r Rules) CheckReturn(p *Purchase, kind ReturnKind, at time.Time) error {
	if p == nil {
		return Unprocessable("purchase_required", "a return pickup needs the purchase it returns (purchase_id)")
	}
	delivered := p.PurchasedAt
	if p.DeliveredAt != nil {
		delivered = *p.DeliveredAt
	}
	days := delivered.DaysUntil(DateOf(at.In(r.Zone())))
	switch {
	case days <= r.ReturnDays:
		return nil
	case kind == ReturnExchange && days <= r.ExchangeDays:
		return nil
	case kind == ReturnExchange:
		return Unprocessable("exchange_window_closed",
			"an exchange of a faulty product is accepted within %d days of delivery; this one was delivered %d days ago (%s)",
			r.ExchangeDays, days, delivered)
	case days <= r.ExchangeDays:
		return Unprocessable("return_window_closed",
			"an unconditional return is accepted within %d days of delivery (delivered %s, %d days ago); within %d days a faulty product can be exchanged (return_kind: exchange)",
			r.ReturnDays, delivered, days, r.ExchangeDays)
	default:
		return Unprocessable("return_window_closed",
			"returns are accepted within %d days of delivery and exchanges within %d days; this product was delivered %d days ago (%s)",
			r.ReturnDays, r.ExchangeDays, days, delivered)
	}
}

// Zone is the business's time zone (UTC when unset): days and arrival windows are told in it.
func (r Rules) Zone() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// appliance describes what a booking for an appliance needs.
type appliance struct {
	skill  string
	repair time.Duration // typical on-site time for a repair
}

// appliances are the products we service; the skill is the trade that repairs them.
var appliances = map[string]appliance{
	"washer":       {"washer", 60 * time.Minute},
	"dryer":        {"washer", 60 * time.Minute},
	"dishwasher":   {"washer", 60 * time.Minute},
	"fridge":       {"fridge", 75 * time.Minute},
	"freezer":      {"fridge", 75 * time.Minute},
	"ac":           {"ac", 90 * time.Minute},
	"tv":           {"tv", 45 * time.Minute},
	"water_heater": {"water_heater", 90 * time.Minute},
}

// ValidAppliance reports whether name is an appliance we service.
func ValidAppliance(name string) bool {
	_, ok := appliances[name]
	return ok
}

// Appliances lists the appliance names we accept, sorted.
func Appliances() []string {
	out := make([]string, 0, len(appliances))
	for k := range appliances {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Skills lists every skill a technician can have, sorted.
func Skills() []string {
	set := map[string]bool{"install": true}
	for _, a := range appliances {
		set[a.skill] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ValidSkill reports whether s is a known skill.
func ValidSkill(s string) bool { return slices.Contains(Skills(), s) }

// RequiredSkills are the skills a booking needs: the appliance's trade, plus install for installations.
// A return pickup needs the trade too, since the technician checks the fault for an exchange.
func RequiredSkills(applianceName string, st ServiceType) ([]string, error) {
	a, ok := appliances[applianceName]
	if !ok {
		return nil, Invalid("appliance", "unknown_appliance", "unknown appliance %q; one of: %s", applianceName, strings.Join(Appliances(), ", "))
	}
	if st == ServiceInstallation {
		return []string{a.skill, "install"}, nil
	}
	return []string{a.skill}, nil
}

// ExpectedDuration is the planned on-site time of a visit.
func ExpectedDuration(applianceName string, st ServiceType) time.Duration {
	a, ok := appliances[applianceName]
	if !ok {
		return time.Hour
	}
	switch st {
	case ServiceInstallation:
		return a.repair + 60*time.Minute
	case ServiceMaintenance:
		return 45 * time.Minute
	case ServiceReturnPickup:
		return 30 * time.Minute
	default:
		return a.repair
	}
}

// ValidServiceType reports whether s is a service type.
func ValidServiceType(s ServiceType) bool {
	switch s {
	case ServiceRepair, ServiceInstallation, ServiceMaintenance, ServiceReturnPickup:
		return true
	}
	return false
}

// ValidChannel reports whether c is a booking channel.
func ValidChannel(c Channel) bool {
	switch c {
	case "app", "web", "phone", "chat", "social":
		return true
	}
	return false
}

// ValidateLocation refuses coordinates out of range, NaN, infinities and (0,0), which is how a
// missing location usually arrives.
func ValidateLocation(field string, l Location) error {
	switch {
	case math.IsNaN(l.Lat) || math.IsNaN(l.Lng) || math.IsInf(l.Lat, 0) || math.IsInf(l.Lng, 0):
		return Invalid(field, "invalid_location", "%s must be finite numbers", field)
	case l.Lat < -90 || l.Lat > 90:
		return Invalid(field, "invalid_location", "%s.lat must be between -90 and 90, got %v", field, l.Lat)
	case l.Lng < -180 || l.Lng > 180:
		return Invalid(field, "invalid_location", "%s.lng must be between -180 and 180, got %v", field, l.Lng)
	case l.Lat == 0 && l.Lng == 0:
		return Invalid(field, "invalid_location", "%s is (0,0), which is taken as a missing location", field)
	}
	return nil
}

// MaxShifts bounds a technician's weekly shifts (a few a day).
const MaxShifts = 100

// ValidateShifts checks day names and HH:MM times with end after start, and that no two shifts
// of a day overlap (they may touch: 08:00–12:00 and 12:00–18:00 are two shifts).
func ValidateShifts(shifts []Shift) error {
	if len(shifts) > MaxShifts {
		return Invalid("weekly_shifts", "too_many_shifts", "at most %d weekly shifts", MaxShifts)
	}
	for i, s := range shifts {
		if !slices.Contains([]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, s.Day) {
			return Invalid("weekly_shifts", "invalid_shift", "weekly_shifts[%d].day must be mon..sun, got %q", i, s.Day)
		}
		start, err1 := time.Parse("15:04", s.Start)
		end, err2 := time.Parse("15:04", s.End)
		if err1 != nil || err2 != nil {
			return Invalid("weekly_shifts", "invalid_shift", "weekly_shifts[%d] times must be HH:MM", i)
		}
		if !end.After(start) {
			return Invalid("weekly_shifts", "invalid_shift", "weekly_shifts[%d] ends (%s) before it starts (%s)", i, s.End, s.Start)
		}
	}
	// Times are HH:MM, so they compare as strings.
	for i, a := range shifts {
		for k, b := range shifts[:i] {
			if a.Day == b.Day && normClock(a.Start) < normClock(b.End) && normClock(b.Start) < normClock(a.End) {
				return Invalid("weekly_shifts", "shifts_overlap", "weekly_shifts[%d] (%s %s–%s) overlaps weekly_shifts[%d] (%s–%s)",
					i, a.Day, a.Start, a.End, k, b.Start, b.End)
			}
		}
	}
	return nil
}

// normClock writes a valid H:MM or HH:MM time as HH:MM.
func normClock(s string) string {
	if len(s) == 4 {
		return "0" + s
	}
	return s
}

// ArrivalWindow is how wide the arrival window promised to a customer is.
const ArrivalWindow = 2 * time.Hour
