package money

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Figures are what the money KPIs are computed from, over a period.
type Figures struct {
	PaidVisits         int64 // paid visits completed
	Invoices           int64 // invoices issued
	InvoicedNetMinor   int64
	InvoicedTotalMinor int64
	CreditedNetMinor   int64 // credit notes issued
	ReceivedMinor      int64 // payments received
	QuotesApproved     int64 // quotes answered in the period
	QuotesDeclined     int64
	Claims             int64 // warranty claims made, not rejected
	ClaimedMinor       int64
}

// KPIs are the money KPIs of a period, with the figures they come from. Revenue is net of tax and
// of credit notes; a ratio over nothing is nil, not zero.
type KPIs struct {
	From, To               time.Time
	Currency               string
	Figures                Figures
	RevenueMinor           int64    // invoiced net − credited net
	RevenuePerPaidVisit    *float64 // minor units
	AverageTicketMinor     *float64 // invoice totals, tax included
	QuoteAcceptanceRate    *float64 // approved ÷ answered
	SettlementTotalByMonth []Sum    // claims submitted, by month of the visit's end
}

// KPIs reads the money KPIs of [from, to) (staff).
func (s *Service) KPIs(ctx context.Context, a dispatch.Actor, from, to time.Time) (KPIs, error) {
	if !a.Staff() {
		return KPIs{}, dispatch.Forbidden("KPIs are staff's")
	}
	if !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		return KPIs{}, dispatch.Invalid("from", "invalid_period", "from must be before to, at most a year apart")
	}
	f, err := s.Store.Figures(ctx, s.Business, from, to)
	if err != nil {
		return KPIs{}, err
	}
	set, err := s.Store.Settings(ctx, s.Business, false)
	if err != nil {
		return KPIs{}, err
	}
	k := KPIs{From: from, To: to, Currency: set.Currency, Figures: f, RevenueMinor: f.InvoicedNetMinor - f.CreditedNetMinor}
	ratio := func(a, b int64) *float64 {
		if b == 0 {
			return nil
		}
		r := float64(a) / float64(b)
		return &r
	}
	k.RevenuePerPaidVisit = ratio(k.RevenueMinor, f.PaidVisits)
	k.AverageTicketMinor = ratio(f.InvoicedTotalMinor, f.Invoices)
	k.QuoteAcceptanceRate = ratio(f.QuotesApproved, f.QuotesApproved+f.QuotesDeclined)
	for m := time.Date(from.In(s.Rules.Zone()).Year(), from.In(s.Rules.Zone()).Month(), 1, 0, 0, 0, 0, s.Rules.Zone()); m.Before(to); m = m.AddDate(0, 1, 0) {
		claims, err := s.Store.ListClaims(ctx, s.Business, m.Format("2006-01"), "")
		if err != nil {
			return KPIs{}, err
		}
		sum := Sum{Key: m.Format("2006-01")}
		for _, c := range claims {
			if c.Status == ClaimSubmitted {
				sum.Claims++
				sum.LabourMinor += c.LabourMinor
				sum.PartsMinor += c.PartsMinor
				sum.TravelMinor += c.TravelMinor
				sum.TotalMinor += c.TotalMinor
			}
		}
		k.SettlementTotalByMonth = append(k.SettlementTotalByMonth, sum)
	}
	return k, nil
}
