package planning

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/scheduling"
)

// TestCityDayReport compares, on a synthetic city day, the online insertion the service uses
// (best gap among the 30 nearest skilled technicians, ranked by SLA breach, lateness, travel and
// wait) with a greedy baseline (the nearest skilled technician with any room, earliest gap):
// 2,000 bookings over ten hours, 150 technicians, 6 skills, 30% paid. A report, not a timed test:
// FIELDFIX_REPORT=1 go test -run CityDayReport -v ./dispatch/planning
func TestCityDayReport(t *testing.T) {
	if os.Getenv("FIELDFIX_REPORT") == "" {
		t.Skip("a report: FIELDFIX_REPORT=1 to run it")
	}
	for _, policy := range []string{"fieldfix insertion", "greedy nearest-available"} {
		r := cityDay(policy)
		fmt.Printf("| %s | %.1f%% | %.1f%% | %d | %.1f min | %.0f µs |\n", policy, r.slaPaid, r.slaWarranty, r.unplaced, r.travelPerJob, r.meanSolveMicros)
	}
}

type dayResult struct {
	slaPaid, slaWarranty float64
	unplaced             int
	travelPerJob         float64
	meanSolveMicros      float64
}

func cityDay(policy string) dayResult {
	planner := NewPlanner(nil, dispatch.NewEnv(dispatch.DefaultRules(), nil, nil))
	rng := rand.New(rand.NewPCG(2026, 11))
	start := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC) // Monday 08:00 in Lyon
	near := func() dispatch.Location {
		r, a := 12*math.Sqrt(rng.Float64()), rng.Float64()*2*math.Pi
		return dispatch.Location{Lat: 45.764 + r/111.32*math.Sin(a), Lng: 4.8357 + r/77.8*math.Cos(a)}
	}
	skills := []string{"washer", "fridge", "ac", "tv", "water_heater", "install"}
	var shifts []dispatch.Shift
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat"} {
		shifts = append(shifts, dispatch.Shift{Day: d, Start: "08:00", End: "18:00"})
	}
	rd := &Routes{stops: map[int64][]Stop{}, shifts: map[int64][]dispatch.Window{}}
	for i := range 150 {
		t := dispatch.Technician{ID: int64(i + 1), Home: near(), TimeZone: "Europe/Paris", WeeklyShifts: shifts, Active: true,
			Skills: []string{skills[i%5], skills[(i/5+1)%6]}}
		rd.techs = append(rd.techs, t)
		rd.shifts[t.ID] = ShiftWindows(t, start, start.Add(5*24*time.Hour), nil)
	}
	var paid, paidMet, war, warMet, unplaced int
	var solve time.Duration
	for n := range 2000 {
		now := start.Add(time.Duration(float64(10*time.Hour) * float64(n) / 2000))
		rd.now = now
		appl := []string{"washer", "fridge", "ac", "tv", "water_heater"}[rng.IntN(5)]
		need := []string{appl}
		if rng.Float64() < 0.1 {
			need = append(need, "install")
		}
		tier := dispatch.TierWarranty
		if rng.Float64() < 0.3 {
			tier = dispatch.TierPaid
		}
		b := dispatch.Booking{ID: int64(n), Location: near(), Duration: time.Duration(45+15*rng.IntN(4)) * time.Minute, Tier: tier,
			SLADueAt: planner.Env.Rules.SLADueAt(tier, now), RequiredSkills: need}
		var cands []dispatch.Technician
		for _, t := range rd.techs {
			if t.HasSkills(need) {
				cands = append(cands, t)
			}
		}
		slices.SortFunc(cands, func(x, y dispatch.Technician) int { return cmpDist(x.Home, b.Location) - cmpDist(y.Home, b.Location) })
		t0 := time.Now()
		var p *Placement
		switch policy {
		case "fieldfix insertion":
			p, _ = planner.best(b, nil, &Routes{techs: cands[:min(30, len(cands))], stops: rd.stops, shifts: rd.shifts, now: now}, nil)
		default:
			for _, t := range cands {
				if p, _ = planner.bestEarliest(b, &Routes{techs: []dispatch.Technician{t}, stops: rd.stops, shifts: rd.shifts, now: now}); p != nil {
					break
				}
			}
		}
		solve += time.Since(t0)
		if p == nil {
			unplaced++
			continue
		}
		rd.stops[p.TechnicianID] = append(rd.stops[p.TechnicianID], Stop{JobID: b.ID, TechnicianID: p.TechnicianID, Start: p.Start, End: p.End, Location: b.Location})
		slices.SortFunc(rd.stops[p.TechnicianID], func(x, y Stop) int { return x.Start.Compare(y.Start) })
		met := !p.Start.After(b.SLADueAt)
		if tier == dispatch.TierPaid {
			paid++
			if met {
				paidMet++
			}
		} else {
			war++
			if met {
				warMet++
			}
		}
	}
	// Travel: each technician's day, home → visits in order → home.
	travel, jobs := 0.0, 0
	for _, t := range rd.techs {
		pos := t.Home
		for _, sp := range rd.stops[t.ID] {
			travel += planner.TravelTime(pos, sp.Location, sp.Start).Minutes()
			pos = sp.Location
			jobs++
		}
		if len(rd.stops[t.ID]) > 0 {
			travel += planner.TravelTime(pos, t.Home, start).Minutes()
		}
	}
	return dayResult{slaPaid: 100 * float64(paidMet) / float64(max(1, paid)), slaWarranty: 100 * float64(warMet) / float64(max(1, war)),
		unplaced: unplaced, travelPerJob: travel / float64(max(1, jobs)), meanSolveMicros: float64(solve.Microseconds()) / 2000}
}

// bestEarliest is the baseline's choice in one technician's route: the earliest feasible gap.
func (p *Planner) bestEarliest(b dispatch.Booking, rd *Routes) (*Placement, scheduling.Cost) {
	var best *Placement
	for day := rd.now; best == nil && day.Before(rd.now.Add(5*24*time.Hour)); day = day.Add(12 * time.Hour) {
		p, c := p.best(b, []dispatch.Window{{Start: rd.now, End: day.Add(12 * time.Hour)}}, rd, nil)
		if p != nil {
			return p, c
		}
	}
	return best, scheduling.Cost{}
}
