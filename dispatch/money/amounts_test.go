package money

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestTotalIsItsLines: under every rounding case, a document's total is the sum of its lines'
// nets plus one tax per rate, each the rate's net × rate rounded half up; reordering the lines
// changes nothing; and the tax is within half a minor unit per rate of the exact tax.
func TestTotalIsItsLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 2026))
	rates := []int{0, 550, 700, 1000, 1950, 2000, 2100, 3333, 10000}
	for n := range 20000 {
		lines := make([]Line, 1+rng.IntN(12))
		for i := range lines {
			lines[i] = priced(Line{Quantity: 1 + rng.Int64N(MaxQuantity), UnitMinor: rng.Int64N([]int64{10, 1000, 100_000, MaxUnitMinor}[rng.IntN(4)]),
				TaxRateBP: rates[rng.IntN(len(rates))]})
		}
		got := Total(lines)
		var net, tax int64
		exact := map[int][2]int64{} // rate → net, net × rate
		for _, l := range lines {
			if l.NetMinor != l.Quantity*l.UnitMinor {
				t.Fatalf("case %d: a line's net %d is not %d × %d", n, l.NetMinor, l.Quantity, l.UnitMinor)
			}
			net += l.NetMinor
			e := exact[l.TaxRateBP]
			exact[l.TaxRateBP] = [2]int64{e[0] + l.NetMinor, e[1] + l.NetMinor*int64(l.TaxRateBP)}
		}
		if len(got.Taxes) != len(exact) {
			t.Fatalf("case %d: %d tax lines for %d rates", n, len(got.Taxes), len(exact))
		}
		for _, x := range got.Taxes {
			e := exact[x.RateBP]
			if x.NetMinor != e[0] {
				t.Fatalf("case %d: rate %d net %d, want %d", n, x.RateBP, x.NetMinor, e[0])
			}
			// |tax × 10000 − net × rate| ≤ 5000, and exactly half rounds up.
			diff := x.TaxMinor*10000 - e[1]
			if diff > 5000 || diff <= -5000 {
				t.Fatalf("case %d: rate %d tax %d is not %d × %d / 10000 rounded half up", n, x.RateBP, x.TaxMinor, e[0], x.RateBP)
			}
			tax += x.TaxMinor
		}
		if got.NetMinor != net || got.TaxMinor != tax || got.TotalMinor != net+tax {
			t.Fatalf("case %d: totals %+v, want net %d tax %d total %d", n, got, net, tax, net+tax)
		}
		shuffled := slices.Clone(lines)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := Total(shuffled); again.TotalMinor != got.TotalMinor || again.TaxMinor != got.TaxMinor {
			t.Fatalf("case %d: the order of the lines changed the total: %d then %d", n, got.TotalMinor, again.TotalMinor)
		}
	}
}

func TestTaxOfRoundsHalfAwayFromZero(t *testing.T) {
	for _, c := range []struct {
		net  int64
		rate int
		want int64
	}{
		{net: 25, rate: 2000, want: 5},     // 5.0
		{net: 1, rate: 5000, want: 1},      // 0.5 → 1
		{net: 1, rate: 4999, want: 0},      // 0.4999 → 0
		{net: 3, rate: 1650, want: 0},      // 0.495 → 0
		{net: 100, rate: 550, want: 6},     // 5.5 → 6
		{net: 1999, rate: 2000, want: 400}, // 399.8
		{net: -1, rate: 5000, want: -1},    // −0.5 → −1
		{net: 0, rate: 10000, want: 0},
		{net: MaxUnitMinor * MaxQuantity, rate: 10000, want: MaxUnitMinor * MaxQuantity},
	} {
		if got := TaxOf(c.net, c.rate); got != c.want {
			t.Errorf("TaxOf(%d, %d) = %d, want %d", c.net, c.rate, got, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{12345, "EUR", "EUR 123.45"}, {5, "EUR", "EUR 0.05"}, {-250, "USD", "USD -2.50"}, {1200, "JPY", "JPY 1200"}, {1234, "KWD", "KWD 1.234"},
	} {
		if got := Format(c.minor, c.currency); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.currency, got, c.want)
		}
	}
}

func TestVerifySignature(t *testing.T) {
	secret, body := []byte("whsec"), []byte(`{"id":"evt_1"}`)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	good := Sign(secret, body, now)
	for name, c := range map[string]struct {
		header string
		body   []byte
		code   string
	}{
		"good":                {good, body, ""},
		"good among rotated":  {good + ",v1=" + strings.Repeat("ab", 32), body, ""},
		"body changed":        {good, []byte(`{"id":"evt_2"}`), "invalid_signature"},
		"other secret":        {Sign([]byte("other"), body, now), body, "invalid_signature"},
		"no header":           {"", body, "invalid_signature"},
		"no timestamp":        {"v1=" + strings.Split(good, "v1=")[1], body, "invalid_signature"},
		"timestamp moved":     {strings.Replace(good, "t=", "t=1", 1), body, "invalid_signature"},
		"old, signed then":    {Sign(secret, body, now.Add(-6*time.Minute)), body, "stale_signature"},
		"future, signed then": {Sign(secret, body, now.Add(6*time.Minute)), body, "stale_signature"},
		"not hex":             {"t=1,v1=zz", body, "invalid_signature"},
	} {
		err := VerifySignature(secret, c.header, c.body, now, 5*time.Minute)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case c.code != "" && !dispatch.HasCode(err, c.code):
			t.Errorf("%s: got %v, want %s", name, err, c.code)
		}
	}
}
