package money

import (
	"fmt"
	"slices"
	"strings"
)

// Amounts are int64 minor units of the business's currency (cents); rates are basis points
// (2000 = 20 %). Bounds keep every product and sum far inside int64.
const (
	MaxUnitMinor = 100_000_000_000 // a billion in major units
	MaxQuantity  = 10_000
	MaxLines     = 100
)

// Line is one line of a quote, invoice or claim: quantity × unit price, taxed at its rate.
type Line struct {
	Code        string `json:"code"`
	Kind        string `json:"kind"` // call_out, labour, service, part, adjustment
	Description string `json:"description"`
	SKU         string `json:"sku,omitempty"`
	Quantity    int64  `json:"quantity"`   // labour: quarters of an hour
	UnitMinor   int64  `json:"unit_minor"` // price of one unit
	NetMinor    int64  `json:"net_minor"`  // Quantity × UnitMinor, exactly
	TaxRateBP   int    `json:"tax_rate_bp"`
	AfterHours  bool   `json:"after_hours,omitempty"`
}

// TaxLine is the tax of the lines at one rate.
type TaxLine struct {
	RateBP   int   `json:"rate_bp"`
	NetMinor int64 `json:"net_minor"`
	TaxMinor int64 `json:"tax_minor"`
}

// Totals are a document's sums, reproducible from its lines by Total.
type Totals struct {
	NetMinor   int64     `json:"net_minor"`
	TaxMinor   int64     `json:"tax_minor"`
	TotalMinor int64     `json:"total_minor"`
	Taxes      []TaxLine `json:"taxes"`
}

// Total sums lines. The rounding rule: a line's net is exact (integer quantity × integer unit
// price, no rounding); tax is computed once per rate on the sum of that rate's nets, rounded half
// up to the minor unit (half away from zero); the total is the nets plus the taxes. So a
// document's total is always the sum of its lines' nets and of its per-rate taxes, whatever the
// order of its lines.
func Total(lines []Line) Totals {
	byRate := map[int]int64{}
	var t Totals
	for _, l := range lines {
		t.NetMinor += l.NetMinor
		byRate[l.TaxRateBP] += l.NetMinor
	}
	rates := make([]int, 0, len(byRate))
	for r := range byRate {
		rates = append(rates, r)
	}
	slices.Sort(rates)
	t.Taxes = make([]TaxLine, 0, len(rates))
	for _, r := range rates {
		tax := TaxOf(byRate[r], r)
		t.Taxes = append(t.Taxes, TaxLine{RateBP: r, NetMinor: byRate[r], TaxMinor: tax})
		t.TaxMinor += tax
	}
	t.TotalMinor = t.NetMinor + t.TaxMinor
	return t
}

// TaxOf is net × rate / 10000 rounded half away from zero, in integers (split so that the
// product cannot overflow: net / 10000 × rate exactly, the remainder's share rounded).
func TaxOf(net int64, rateBP int) int64 {
	if net < 0 {
		return -TaxOf(-net, rateBP)
	}
	q, r := net/10000, net%10000
	return q*int64(rateBP) + (r*int64(rateBP)+5000)/10000
}

// priced is a line with its net computed.
func priced(l Line) Line {
	l.NetMinor = l.Quantity * l.UnitMinor
	return l
}

// minorDigits are the ISO 4217 currencies whose minor unit is not a hundredth.
var minorDigits = map[string]int{"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XOF": 0, "XAF": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3}

// Format writes minor units as a decimal amount with the currency ("EUR 123.45", "JPY 1200").
func Format(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	d, ok := minorDigits[currency]
	if !ok {
		d = 2
	}
	if d == 0 {
		return fmt.Sprintf("%s %s%d", currency, sign, minor)
	}
	div := int64(10)
	if d == 3 {
		div = 1000
	} else {
		div = 100
	}
	return fmt.Sprintf("%s %s%d.%0*d", currency, sign, minor/div, d, minor%div)
}

// Text is how a set of lines reads to a customer: what they are shown and approve.
func Text(label string, lines []Line, t Totals, currency string) string {
	var b strings.Builder
	if label != "" {
		fmt.Fprintf(&b, "%s\n", label)
	}
	for _, l := range lines {
		d := l.Description
		if l.AfterHours {
			d += " (evening/weekend rate)"
		}
		fmt.Fprintf(&b, "%d × %s @ %s = %s\n", l.Quantity, d, Format(l.UnitMinor, currency), Format(l.NetMinor, currency))
	}
	fmt.Fprintf(&b, "Net %s\n", Format(t.NetMinor, currency))
	for _, x := range t.Taxes {
		fmt.Fprintf(&b, "Tax %d.%02d%% on %s: %s\n", x.RateBP/100, x.RateBP%100, Format(x.NetMinor, currency), Format(x.TaxMinor, currency))
	}
	fmt.Fprintf(&b, "Total %s", Format(t.TotalMinor, currency))
	return b.String()
}
