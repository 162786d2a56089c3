package money

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// claimVisit claims a completed warranty visit from its paying party: labour at the price book's
// warranty rate for the trade (per quarter hour on site, begun quarters counted, the call-out
// fee on top when the book has a warranty one), the parts reported at cost (a part without a
// cost is listed at 0 for staff to correct), and the travel allowance of the band the distance
// from the technician's home falls in.
func (s *Service) claimVisit(ctx context.Context, st Store, r dispatch.VisitReport) error {
	b, j := *r.Booking, r.Job
	bk, err := loadBook(ctx, st, s.Business, skusOf(r.Update.PartsUsed)...)
	if err != nil {
		return err
	}
	party := "unknown"
	if b.PurchaseID != nil {
		if party, err = st.PurchaseBrand(ctx, *b.PurchaseID); err != nil {
			return err
		}
	}
	trade := ""
	if len(b.RequiredSkills) > 0 {
		trade = b.RequiredSkills[0]
	}
	minutes := 0
	if j.OnSiteAt != nil {
		minutes = int(math.Ceil(r.At.Sub(*j.OnSiteAt).Minutes()))
	}
	c := Claim{Business: s.Business, Period: periodOf(r.At, s.Rules.Zone()), Party: party, BookingID: b.ID, JobID: j.ID, TechnicianID: j.TechnicianID,
		Currency: bk.set.Currency, OnSiteMinutes: minutes, Status: ClaimSubmitted, CreatedAt: r.At}
	if it, ok := bk.rateFor(KindCallOut, trade, dispatch.TierWarranty); ok && it.Tier == dispatch.TierWarranty {
		c.Lines = append(c.Lines, bk.line(it, 1, false))
	}
	if it, ok := bk.rateFor(KindLabour, trade, dispatch.TierWarranty); ok && it.Tier == dispatch.TierWarranty {
		quarters := int64((minutes + 14) / 15)
		if quarters > 0 {
			c.Lines = append(c.Lines, bk.line(it, quarters, false))
		}
	}
	for _, p := range r.Update.PartsUsed {
		l := Line{Code: p.SKU, Kind: KindPart, Description: p.Name, SKU: p.SKU, Quantity: int64(p.Quantity)}
		if it, ok := bk.item(p.SKU); ok && it.Kind == KindPart {
			l.Code, l.Description = it.Code, it.Name
			if it.CostMinor != nil {
				l.UnitMinor = *it.CostMinor
			}
		}
		c.Lines = append(c.Lines, priced(l))
	}
	if j.TechnicianID != nil {
		if t, err := st.GetTechnician(ctx, *j.TechnicianID); err == nil {
			c.DistanceKm = math.Round(distanceKm(t.Home, b.Location)*10) / 10
		}
	}
	for _, band := range bk.set.TravelBands {
		if c.DistanceKm <= band.UpToKm {
			c.Lines = append(c.Lines, Line{Code: "travel", Kind: "travel", Description: fmt.Sprintf("Travel allowance up to %g km", band.UpToKm),
				Quantity: 1, UnitMinor: band.AmountMinor, NetMinor: band.AmountMinor})
			break
		}
	}
	c.sum()
	out, err := st.InsertClaim(ctx, c)
	if err != nil {
		return err
	}
	return st.AddAudit(ctx, dispatch.AuditEvent{At: r.At, ActorSub: r.Actor.Subject, ActorRole: r.Actor.Role, Entity: "claim", EntityID: out.ID,
		Action: "claim_submitted", ToStatus: ClaimSubmitted, Data: map[string]any{"booking_id": b.ID, "job_id": j.ID, "party": party,
			"period": c.Period, "total_minor": c.TotalMinor}})
}

// sum sets the claim's totals from its lines (claims are untaxed: the parties settle net).
func (c *Claim) sum() {
	c.LabourMinor, c.PartsMinor, c.TravelMinor = 0, 0, 0
	for _, l := range c.Lines {
		switch l.Kind {
		case KindPart:
			c.PartsMinor += l.NetMinor
		case "travel":
			c.TravelMinor += l.NetMinor
		default:
			c.LabourMinor += l.NetMinor
		}
	}
	c.TotalMinor = c.LabourMinor + c.PartsMinor + c.TravelMinor
}

// distanceKm is the great-circle distance.
func distanceKm(a, b dispatch.Location) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat, dLng := (b.Lat-a.Lat)*rad, (b.Lng-a.Lng)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

var periodPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// Statement is a period's claims with their totals, per party and per technician.
type Statement struct {
	Period       string
	Party        string
	ClosedAt     *time.Time
	Currency     string
	Claims       []Claim
	ByParty      []Sum
	ByTechnician []Sum // what each technician's work brought in (labour and travel), for paying them
	TotalMinor   int64 // of the claims submitted (rejected ones are not owed)
}

// Sum is a total of claims for one party or technician.
type Sum struct {
	Key         string `json:"key"`
	Claims      int    `json:"claims"`
	LabourMinor int64  `json:"labour_minor"`
	PartsMinor  int64  `json:"parts_minor"`
	TravelMinor int64  `json:"travel_minor"`
	TotalMinor  int64  `json:"total_minor"`
}

// Settlement is the statement of a period (YYYY-MM), for one party or all (staff).
func (s *Service) Settlement(ctx context.Context, a dispatch.Actor, period, party string) (Statement, error) {
	if !a.Staff() {
		return Statement{}, dispatch.Forbidden("settlements are staff's")
	}
	if !periodPattern.MatchString(period) {
		return Statement{}, dispatch.Invalid("period", "invalid_period", "period is a month: YYYY-MM")
	}
	if utf8.RuneCountInString(party) > 200 {
		return Statement{}, dispatch.Invalid("party", "too_long", "party is at most 200 characters")
	}
	claims, err := s.Store.ListClaims(ctx, s.Business, period, party)
	if err != nil {
		return Statement{}, err
	}
	closed, err := s.Store.PeriodClosedAt(ctx, s.Business, period)
	if err != nil {
		return Statement{}, err
	}
	set, err := s.Store.Settings(ctx, s.Business, false)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{Period: period, Party: party, ClosedAt: closed, Currency: set.Currency, Claims: claims}
	parties, techs := map[string]*Sum{}, map[string]*Sum{}
	add := func(m map[string]*Sum, key string, c Claim, labour, parts, travel int64) {
		x := m[key]
		if x == nil {
			x = &Sum{Key: key}
			m[key] = x
		}
		x.Claims++
		x.LabourMinor += labour
		x.PartsMinor += parts
		x.TravelMinor += travel
		x.TotalMinor += labour + parts + travel
	}
	for _, c := range claims {
		if c.Status != ClaimSubmitted {
			continue
		}
		st.TotalMinor += c.TotalMinor
		add(parties, c.Party, c, c.LabourMinor, c.PartsMinor, c.TravelMinor)
		if c.TechnicianID != nil {
			add(techs, strconv.FormatInt(*c.TechnicianID, 10), c, c.LabourMinor, 0, c.TravelMinor)
		}
	}
	st.ByParty, st.ByTechnician = sorted(parties), sorted(techs)
	return st, nil
}

func sorted(m map[string]*Sum) []Sum {
	out := make([]Sum, 0, len(m))
	for _, x := range m {
		out = append(out, *x)
	}
	slices.SortFunc(out, func(a, b Sum) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// ClosePeriod closes a month that is over (staff): its claims change no more, and none is added.
func (s *Service) ClosePeriod(ctx context.Context, a dispatch.Actor, period string) (time.Time, error) {
	if !a.Staff() {
		return time.Time{}, dispatch.Forbidden("settlements are staff's")
	}
	if !periodPattern.MatchString(period) {
		return time.Time{}, dispatch.Invalid("period", "invalid_period", "period is a month: YYYY-MM")
	}
	now := s.Now()
	if period >= periodOf(now, s.Rules.Zone()) {
		return time.Time{}, dispatch.Unprocessable("period_not_over", "%s is not over yet: a period closes once its last visit is done", period)
	}
	err := s.Store.Tx(ctx, func(st Store) error {
		ok, err := st.ClosePeriod(ctx, s.Business, period, a.Subject, now)
		if err != nil {
			return err
		}
		if !ok {
			return dispatch.Conflict("period_closed", "%s is closed already", period)
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "settlement_period",
			Action: "period_closed", ToStatus: "closed", Data: map[string]any{"period": period}})
	})
	return now, err
}

// RejectClaim records the party's rejection of a claim, with its reason (staff).
func (s *Service) RejectClaim(ctx context.Context, a dispatch.Actor, id int64, reason string) (Claim, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 1000 {
		return Claim{}, dispatch.Invalid("reason", "missing_field", "a rejection carries the party's reason (at most 1000 characters)")
	}
	return s.changeClaim(ctx, a, id, "claim_rejected", func(c *Claim) error {
		if c.Status != ClaimSubmitted {
			return dispatch.Conflict("claim_rejected", "claim %d is rejected already", c.ID)
		}
		c.Status, c.RejectReason = ClaimRejected, reason
		return nil
	})
}

// ResubmitClaim submits a rejected claim again (staff), with corrected part costs when given
// (by line index), while its period is open.
func (s *Service) ResubmitClaim(ctx context.Context, a dispatch.Actor, id int64, partCosts map[int]int64) (Claim, error) {
	return s.changeClaim(ctx, a, id, "claim_resubmitted", func(c *Claim) error {
		if c.Status != ClaimRejected {
			return dispatch.Conflict("claim_submitted", "claim %d is not rejected", c.ID)
		}
		for i, cost := range partCosts {
			if i < 0 || i >= len(c.Lines) || c.Lines[i].Kind != KindPart || cost < 0 || cost > MaxUnitMinor {
				return dispatch.Invalid("part_costs", "invalid_line", "part_costs names line %d, which is not a part, or a cost out of range", i)
			}
			c.Lines[i].UnitMinor = cost
			c.Lines[i] = priced(c.Lines[i])
		}
		c.sum()
		c.Status, c.RejectReason = ClaimSubmitted, ""
		c.Resubmissions++
		return nil
	})
}

func (s *Service) changeClaim(ctx context.Context, a dispatch.Actor, id int64, action string, apply func(*Claim) error) (Claim, error) {
	if !a.Staff() {
		return Claim{}, dispatch.Forbidden("settlements are staff's")
	}
	var out Claim
	err := s.Store.Tx(ctx, func(st Store) error {
		c, err := st.GetClaim(ctx, id, true)
		if err != nil {
			return err
		}
		closed, err := st.PeriodClosedAt(ctx, s.Business, c.Period)
		if err != nil {
			return err
		}
		if closed != nil {
			return dispatch.Conflict("period_closed", "claim %d is in %s, which is closed", id, c.Period)
		}
		from := c.Status
		if err := apply(&c); err != nil {
			return err
		}
		c.UpdatedAt = s.Now()
		if out, err = st.SaveClaim(ctx, c); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: c.UpdatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "claim", EntityID: id,
			Action: action, FromStatus: from, ToStatus: c.Status, Reason: c.RejectReason, Data: map[string]any{"total_minor": c.TotalMinor}})
	})
	return out, err
}

// WriteCSV writes the statement's claims, one row each, then a total row per party.
func (st Statement) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"period", "party", "claim_id", "booking_id", "job_id", "technician_id", "status", "reject_reason",
		"on_site_minutes", "distance_km", "labour_minor", "parts_minor", "travel_minor", "total_minor", "currency"})
	for _, c := range st.Claims {
		tech := ""
		if c.TechnicianID != nil {
			tech = strconv.FormatInt(*c.TechnicianID, 10)
		}
		_ = cw.Write([]string{c.Period, csvSafe(c.Party), strconv.FormatInt(c.ID, 10), strconv.FormatInt(c.BookingID, 10), strconv.FormatInt(c.JobID, 10),
			tech, c.Status, csvSafe(c.RejectReason), strconv.Itoa(c.OnSiteMinutes), strconv.FormatFloat(c.DistanceKm, 'f', 1, 64),
			strconv.FormatInt(c.LabourMinor, 10), strconv.FormatInt(c.PartsMinor, 10), strconv.FormatInt(c.TravelMinor, 10),
			strconv.FormatInt(c.TotalMinor, 10), c.Currency})
	}
	for _, p := range st.ByParty {
		_ = cw.Write([]string{st.Period, csvSafe(p.Key), "total", "", "", "", "", "", "", "", strconv.FormatInt(p.LabourMinor, 10),
			strconv.FormatInt(p.PartsMinor, 10), strconv.FormatInt(p.TravelMinor, 10), strconv.FormatInt(p.TotalMinor, 10), st.Currency})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
