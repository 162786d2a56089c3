package board

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// TradeCapacity is one trade's hours on one day.
type TradeCapacity struct {
	Trade string
	// Available is the shift time, less time off, of the technicians who have the trade: a
	// technician with two trades counts in both.
	Available time.Duration
	// Booked is the planned time of the visits on routes that need the trade (their drives not
	// counted).
	Booked      time.Duration
	Visits      int
	Technicians int // with the trade and some shift time that day
}

// CapacityDay is one day of the capacity strip: the totals (each technician and visit once) and
// each trade's.
type CapacityDay struct {
	Day         dispatch.Date
	Available   time.Duration
	Booked      time.Duration
	Visits      int
	Technicians int
	Trades      []TradeCapacity // by trade
}

// MaxCapacityDays is the longest span Capacity answers.
const MaxCapacityDays = 31

// Capacity is the booked against the available hours of days days from from (the dispatchers'
// days, in their zone; zero: today), per trade, of the active technicians based in region (H3
// res-5 cells, separated by commas; empty: all), as the board counts them.
func (s *Service) Capacity(ctx context.Context, a dispatch.Actor, from dispatch.Date, days int, region string) ([]CapacityDay, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only dispatchers read the capacity")
	}
	if days < 1 || days > MaxCapacityDays {
		return nil, dispatch.Invalid("days", "out_of_range", "days must be between 1 and %d", MaxCapacityDays)
	}
	inRegion, err := regionFilter(region)
	if err != nil {
		return nil, err
	}
	zone := s.Rules.Zone()
	if from.IsZero() {
		from = dispatch.DateOf(s.Now().In(zone))
	}
	bounds := make([]time.Time, days+1) // bounds[i]: 00:00 of day i in the zone
	for i := range bounds {
		d := from.AddDays(i)
		bounds[i] = time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, zone)
	}
	start, end := bounds[0], bounds[days]
	out := make([]CapacityDay, days)
	trades := make([]map[string]*TradeCapacity, days)
	for i := range out {
		out[i].Day = from.AddDays(i)
		trades[i] = map[string]*TradeCapacity{}
	}
	trade := func(i int, name string) *TradeCapacity {
		tc := trades[i][name]
		if tc == nil {
			tc = &TradeCapacity{Trade: name}
			trades[i][name] = tc
		}
		return tc
	}
	// each calls fn with every day w overlaps and how long it overlaps it.
	each := func(w dispatch.Window, fn func(day int, d time.Duration)) {
		for i := range days {
			lo, hi := w.Start, w.End
			if lo.Before(bounds[i]) {
				lo = bounds[i]
			}
			if hi.After(bounds[i+1]) {
				hi = bounds[i+1]
			}
			if d := hi.Sub(lo); d > 0 {
				fn(i, d)
			}
		}
	}

	all, err := s.Store.ListTechnicians(ctx, dispatch.Page{Limit: 10000})
	if err != nil {
		return nil, err
	}
	var techs []dispatch.Technician
	var ids []int64
	for _, t := range all {
		if t.Active && inRegion(t.Home) {
			techs = append(techs, t)
			ids = append(ids, t.ID)
		}
	}
	offs, err := s.Store.TimeOffBetween(ctx, ids, start, end)
	if err != nil {
		return nil, err
	}
	off := map[int64][]dispatch.Window{}
	for _, o := range offs {
		off[o.TechnicianID] = append(off[o.TechnicianID], dispatch.Window{Start: o.Start, End: o.End})
	}
	for _, t := range techs {
		onShift := make([]time.Duration, days)
		for _, w := range planning.ShiftWindows(t, start, end, off[t.ID]) {
			each(w, func(i int, d time.Duration) { onShift[i] += d })
		}
		for i, d := range onShift {
			if d <= 0 {
				continue
			}
			out[i].Available += d
			out[i].Technicians++
			for _, sk := range t.Skills {
				tc := trade(i, sk)
				tc.Available += d
				tc.Technicians++
			}
		}
	}
	jobs, err := s.Store.RouteJobs(ctx, ids, start, end)
	if err != nil {
		return nil, err
	}
	for _, rj := range jobs {
		j := rj.Job
		if j.PlannedStart == nil || j.PlannedEnd == nil {
			continue
		}
		each(dispatch.Window{Start: *j.PlannedStart, End: *j.PlannedEnd}, func(i int, d time.Duration) {
			out[i].Booked += d
			out[i].Visits++
			for _, sk := range rj.RequiredSkills {
				tc := trade(i, sk)
				tc.Booked += d
				tc.Visits++
			}
		})
	}
	for i := range out {
		out[i].Trades = make([]TradeCapacity, 0, len(trades[i]))
		for _, tc := range trades[i] {
			out[i].Trades = append(out[i].Trades, *tc)
		}
		slices.SortFunc(out[i].Trades, func(a, b TradeCapacity) int { return strings.Compare(a.Trade, b.Trade) })
	}
	return out, nil
}
