package intake

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// SlotQuery asks which arrival windows the live plan can keep for a prospective booking.
type SlotQuery struct {
	Location    dispatch.Location
	Appliance   string
	ServiceType dispatch.ServiceType
	PurchaseID  *int64
	CustomerSub string // staff asking for a customer
	From, To    time.Time
}

// Slot is an arrival window the plan can keep, with its cost to the plan.
type Slot struct {
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	InsideSLA    bool      `json:"inside_sla"`
	Grade        string    `json:"grade"`        // best, good, possible: by the spread of cost among the offered windows
	CostMinutes  float64   `json:"cost_minutes"` // travel the visit adds to the plan, plus a quarter of the wait until it
	TechnicianID int64     `json:"-"`
}

// SlotHorizon bounds how far ahead slots are offered.
const SlotHorizon = 7 * 24 * time.Hour

// Slots lists the arrival windows (dispatch.ArrivalWindow wide, on the business time zone's even hours)
// in [From, To) where the current plan has room, each evaluated by the same insertion the
// booking itself will use. It returns the due time the booking would get.
func (s *Service) Slots(ctx context.Context, a dispatch.Actor, q SlotQuery) ([]Slot, time.Time, error) {
	subject, err := s.customerSubjectFor(a, q.CustomerSub)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := s.Now()
	r := BookingRequest{ServiceType: q.ServiceType, Appliance: q.Appliance, Problem: "slot query", Address: "slot query",
		Location: q.Location, PurchaseID: q.PurchaseID, CustomerSub: q.CustomerSub}
	if r.ServiceType == dispatch.ServiceReturnPickup {
		r.ReturnKind = dispatch.ReturnExchange // the broadest window; the booking checks its own kind
	}
	if err := s.validate(&r, now); err != nil {
		return nil, time.Time{}, err
	}
	from, to := planning.Later(q.From, now), q.To
	if to.IsZero() {
		to = from.Add(72 * time.Hour)
	}
	if !to.After(from) {
		return nil, time.Time{}, dispatch.Invalid("to", "invalid_window", "to must be after from and in the future")
	}
	if to.Sub(now) > SlotHorizon {
		return nil, time.Time{}, dispatch.Invalid("to", "window_too_far", "slots are offered up to %d days ahead", int(SlotHorizon.Hours()/24))
	}
	var out []Slot
	var due time.Time
	err = s.Store.Tx(ctx, func(st Store) error {
		b, err := s.draftBooking(ctx, st, a, subject, r, now)
		if err != nil {
			return err
		}
		due = b.SLADueAt
		opts, err := s.Planner.Options(ctx, st, b, to, slotGrid(from, to, s.Rules.Zone()))
		for _, o := range opts {
			out = append(out, Slot{Start: o.Window.Start, End: o.Window.End, InsideSLA: !o.Placement.Start.After(b.SLADueAt),
				CostMinutes: math.Round(o.Cost/60*10) / 10, TechnicianID: o.Placement.TechnicianID})
		}
		return err
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	gradeSlots(out)
	if out == nil {
		out = []Slot{}
	}
	return out, due, nil
}

// slotGrid cuts [from, to) into dispatch.ArrivalWindow windows starting on even local hours.
func slotGrid(from, to time.Time, loc *time.Location) []dispatch.Window {
	start := dispatch.PromisedWindow(from, loc).Start
	var out []dispatch.Window
	for w := start; w.Before(to); w = w.Add(dispatch.ArrivalWindow) {
		end := w.Add(dispatch.ArrivalWindow)
		if end.After(from) {
			out = append(out, dispatch.Window{Start: planning.Later(w, from).UTC(), End: end.UTC()})
		}
	}
	return out
}

// gradeSlots grades the windows by what they really cost the plan, against the spread of the
// costs offered: best for the few cheapest (at most BestSlots, and only those within a quarter of
// the spread of the cheapest), good up to the middle of the spread, possible beyond. When the
// costs hardly differ (a spread under SlotCostTie), the earliest BestSlots are best and the rest
// good: sooner is then what a customer gains.
func gradeSlots(ss []Slot) {
	if len(ss) == 0 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		lo, hi = math.Min(lo, s.CostMinutes), math.Max(hi, s.CostMinutes)
	}
	order := make([]int, len(ss))
	for i := range order {
		order[i] = i
	}
	flat := hi-lo < SlotCostTie.Minutes()
	slices.SortStableFunc(order, func(a, b int) int {
		if !flat && ss[a].CostMinutes != ss[b].CostMinutes {
			return cmp.Compare(ss[a].CostMinutes, ss[b].CostMinutes)
		}
		return ss[a].Start.Compare(ss[b].Start)
	})
	spread := hi - lo
	for rank, i := range order {
		f := (ss[i].CostMinutes - lo) / math.Max(spread, 1e-9)
		switch {
		case rank < BestSlots && (flat || f <= 0.25):
			ss[i].Grade = "best"
		case flat || f <= 0.5:
			ss[i].Grade = "good"
		default:
			ss[i].Grade = "possible"
		}
	}
}

// BestSlots is how many windows at most are graded best; SlotCostTie is the spread of costs
// under which windows cost the plan the same.
const (
	BestSlots   = 3
	SlotCostTie = 5 * time.Minute
)
