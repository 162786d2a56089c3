package aftersales

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// KPIs computes the §2 figures for bookings created in [from, to), grouped by tier, region or
// technician (the one who made the last visit), or for everything ("").
func (s *Service) KPIs(ctx context.Context, a dispatch.Actor, from, to time.Time, groupBy string) ([]KPIRow, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only staff read KPIs")
	}
	if !slices.Contains([]string{"", "tier", "region", "technician"}, groupBy) {
		return nil, dispatch.Invalid("group_by", "invalid_group_by", "group_by must be tier, region or technician")
	}
	if !to.After(from) {
		return nil, dispatch.Invalid("to", "invalid_window", "to must be after from")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return nil, dispatch.Invalid("to", "window_too_long", "a KPI period is at most 366 days")
	}
	rows, err := s.figures().KPIs(ctx, from, to, groupBy, s.Now())
	if err != nil {
		return nil, err
	}
	util, err := s.figures().Utilisation(ctx, from, to)
	if err != nil {
		return nil, err
	}
	ratio := func(onsite, shift float64) *float64 {
		if shift <= 0 {
			return nil
		}
		v := onsite / shift
		return &v
	}
	var onsite, shift float64
	for _, u := range util {
		onsite += u[0]
		shift += u[1]
	}
	for i := range rows {
		if groupBy == "technician" {
			id, err := strconv.ParseInt(rows[i].Group, 10, 64)
			if u, ok := util[id]; err == nil && ok {
				rows[i].Utilisation = ratio(u[0], u[1])
			}
			continue
		}
		rows[i].Utilisation = ratio(onsite, shift) // a fleet figure: time on site is not split by tier or region
	}
	return rows, nil
}

// RollUpKPIs stores the day's figures per tier, region and technician (and overall).
func (s *Service) RollUpKPIs(ctx context.Context, day dispatch.Date) error {
	from := day.Time()
	to := from.AddDate(0, 0, 1)
	for _, g := range []string{"", "tier", "region", "technician"} {
		rows, err := s.KPIs(ctx, dispatch.Actor{Subject: dispatch.System().Subject, Role: dispatch.RoleAdmin}, from, to, g)
		if err != nil {
			return err
		}
		if err := s.Store.SaveDailyKPIs(ctx, day, g, rows, s.Now()); err != nil {
			return err
		}
	}
	return nil
}

// DailyKPIs reads rolled-up days (staff).
func (s *Service) DailyKPIs(ctx context.Context, a dispatch.Actor, groupBy string, from, to dispatch.Date) ([]DailyKPI, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only staff read KPIs")
	}
	return s.figures().DailyKPIs(ctx, groupBy, from, to)
}

// KPIRow holds the after-sales figures for one group. A nil figure had nothing to measure.
type KPIRow struct {
	Group                                                                                string
	Bookings, Cancelled, SLAMet, SLAMissed, SLADeferred, Completed, Feedback, Complaints int64
	SLACompliance, FirstTimeFixRate, CSATAvg, NPS, ComplaintRate, Utilisation            *float64
	ResponseP50, ResponseP90, ResolutionAvg, HandlingAvg                                 *float64 // seconds
	// First-time fix by the customer's sign-off: bookings closed with a sign-off (signature or
	// code), of those the ones closed by their first visit and not revisited within 30 days, and
	// the rate of the two (nil when nothing was signed off).
	SignedOff, SignedOffFirstTime int64
	SignedOffFirstTimeFixRate     *float64
	// SLASupplierDeferred are bookings whose return visit waits for a part that comes after the SLA.
	SLASupplierDeferred int64
	// Parts: what the visits consumed at cost (minor units), per visit that happened; bookings whose
	// first visit needed a part, and of those the ones that had it on board; the first-time fix rate
	// of each side (nil when empty).
	PartsCostMinor              int64
	PartsCostPerVisitMinor      *float64
	FirstVisitsNeedingPart      int64
	FirstVisitsPartOnBoard      int64
	FirstTimeFixRatePartOnBoard *float64
	FirstTimeFixRatePartMissing *float64
}

// DailyKPI is one rolled-up day of one group.
type DailyKPI struct {
	Day     dispatch.Date
	GroupBy string
	Row     KPIRow
}

// figures is where KPIs are read: the read replica's store when one is set, else the primary's.
func (s *Service) figures() Figures {
	if s.Reads != nil {
		return s.Reads
	}
	return s.Store
}
