package money

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// SettingsChange is what an admin changes of the settings: nil fields stay.
type SettingsChange struct {
	Currency            *string
	TaxRateBP           *int
	CallOutWithoutQuote *bool
	QuoteSendAheadMinor *int64
	TravelBands         *[]TravelBand
}

var (
	codePattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// PriceBook is the business's settings and its price items; staff and technicians read it.
func (s *Service) PriceBook(ctx context.Context, a dispatch.Actor) (Settings, []PriceItem, error) {
	if !a.Staff() && a.Role != dispatch.RoleTechnician {
		return Settings{}, nil, dispatch.Forbidden("the price book is read by staff and technicians")
	}
	set, err := s.Store.Settings(ctx, s.Business, false)
	if err != nil {
		return Settings{}, nil, err
	}
	items, err := s.Store.PriceItems(ctx, s.Business)
	return set, items, err
}

// UpdatePriceBook changes the settings and adds or replaces items by code (admin), at once.
// The currency changes only while nothing has been priced in it: quotes and invoices keep theirs.
func (s *Service) UpdatePriceBook(ctx context.Context, a dispatch.Actor, ch SettingsChange, items []PriceItem) (Settings, []PriceItem, error) {
	if a.Role != dispatch.RoleAdmin {
		return Settings{}, nil, dispatch.Forbidden("only admins change the price book")
	}
	if len(items) > 500 {
		return Settings{}, nil, dispatch.Invalid("items", "too_many_items", "at most 500 items at a time")
	}
	for i := range items {
		if err := checkItem(i, &items[i]); err != nil {
			return Settings{}, nil, err
		}
	}
	if err := checkSettings(ch); err != nil {
		return Settings{}, nil, err
	}
	var (
		set Settings
		out []PriceItem
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		var err error
		if set, err = st.Settings(ctx, s.Business, true); err != nil {
			return err
		}
		now := s.Now()
		changed := map[string]any{}
		if ch.Currency != nil && *ch.Currency != set.Currency {
			n, err := st.ListInvoices(ctx, InvoiceFilter{Business: s.Business, Page: dispatch.Page{Limit: 1}})
			if err != nil {
				return err
			}
			if len(n) > 0 {
				return dispatch.Conflict("currency_locked", "invoices are issued in %s already: the currency cannot change", set.Currency)
			}
			set.Currency, changed["currency"] = *ch.Currency, *ch.Currency
		}
		if ch.TaxRateBP != nil {
			set.TaxRateBP, changed["tax_rate_bp"] = *ch.TaxRateBP, *ch.TaxRateBP
		}
		if ch.CallOutWithoutQuote != nil {
			set.CallOutWithoutQuote, changed["call_out_without_quote"] = *ch.CallOutWithoutQuote, *ch.CallOutWithoutQuote
		}
		if ch.QuoteSendAheadMinor != nil {
			set.QuoteSendAheadMinor, changed["quote_send_ahead_minor"] = *ch.QuoteSendAheadMinor, *ch.QuoteSendAheadMinor
		}
		if ch.TravelBands != nil {
			set.TravelBands, changed["travel_bands"] = *ch.TravelBands, *ch.TravelBands
		}
		if len(changed) > 0 {
			set.UpdatedAt = now
			if set, err = st.SaveSettings(ctx, set); err != nil {
				return err
			}
			if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "money_settings",
				Action: "settings_changed", Data: changed}); err != nil {
				return err
			}
		}
		for _, it := range items {
			it.Business, it.CreatedAt, it.UpdatedAt = s.Business, now, now
			saved, err := st.UpsertPriceItem(ctx, it)
			if err != nil {
				return err
			}
			if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "price_item", EntityID: saved.ID,
				Action: "price_set", Data: map[string]any{"code": saved.Code, "price_minor": saved.PriceMinor, "active": saved.Active}}); err != nil {
				return err
			}
		}
		out, err = st.PriceItems(ctx, s.Business)
		return err
	})
	return set, out, err
}

func checkSettings(ch SettingsChange) error {
	if ch.Currency != nil && !currencyPattern.MatchString(*ch.Currency) {
		return dispatch.Invalid("currency", "invalid_currency", "currency is an ISO 4217 code of three capital letters (EUR)")
	}
	if ch.TaxRateBP != nil && (*ch.TaxRateBP < 0 || *ch.TaxRateBP > 10000) {
		return dispatch.Invalid("tax_rate_bp", "invalid_tax_rate", "tax_rate_bp is basis points between 0 and 10000 (2000 = 20 %%)")
	}
	if ch.QuoteSendAheadMinor != nil && (*ch.QuoteSendAheadMinor < 0 || *ch.QuoteSendAheadMinor > MaxUnitMinor) {
		return dispatch.Invalid("quote_send_ahead_minor", "invalid_amount", "quote_send_ahead_minor is an amount in minor units, 0 or more")
	}
	if ch.TravelBands != nil {
		bands := *ch.TravelBands
		if len(bands) > 20 {
			return dispatch.Invalid("travel_bands", "invalid_travel_bands", "at most 20 travel bands")
		}
		for i, b := range bands {
			if !(b.UpToKm > 0 && b.UpToKm <= 10000) || b.AmountMinor < 0 || b.AmountMinor > MaxUnitMinor || (i > 0 && b.UpToKm <= bands[i-1].UpToKm) {
				return dispatch.Invalid("travel_bands", "invalid_travel_bands", "travel_bands[%d]: bands ascend by up_to_km (0 to 10000 km) with an amount_minor of 0 or more", i)
			}
		}
	}
	return nil
}

func checkItem(i int, it *PriceItem) error {
	bad := func(code, format string, args ...any) error {
		return dispatch.Invalid("items", code, "items[%d] (%s): "+format, append([]any{i, it.Code}, args...)...)
	}
	it.Name, it.SKU, it.Trade = strings.TrimSpace(it.Name), strings.TrimSpace(it.SKU), strings.TrimSpace(it.Trade)
	switch {
	case !codePattern.MatchString(it.Code):
		return bad("invalid_code", "a code is 1 to 64 lower-case letters, digits, '.', '_' or '-'")
	case !slices.Contains([]string{KindCallOut, KindLabour, KindService, KindPart}, it.Kind):
		return bad("invalid_kind", "kind is call_out, labour (per quarter hour), service (fixed price) or part")
	case it.Name == "" || utf8.RuneCountInString(it.Name) > 200:
		return bad("invalid_name", "a name of 1 to 200 characters is required")
	case it.Tier != "" && it.Tier != dispatch.TierPaid && it.Tier != dispatch.TierWarranty:
		return bad("invalid_tier", "tier is paid, warranty or empty (both)")
	case utf8.RuneCountInString(it.Trade) > 50 || utf8.RuneCountInString(it.SKU) > 100:
		return bad("too_long", "trade is at most 50 characters and sku 100")
	case it.Kind == KindPart && it.SKU == "":
		return bad("missing_sku", "a part needs the sku technicians report it by")
	case it.Kind != KindPart && it.SKU != "":
		return bad("invalid_sku", "only parts have a sku")
	case it.PriceMinor < 0 || it.PriceMinor > MaxUnitMinor:
		return bad("invalid_price", "price_minor is 0 to %d minor units", int64(MaxUnitMinor))
	case it.AfterHoursMinor != nil && (*it.AfterHoursMinor < 0 || *it.AfterHoursMinor > MaxUnitMinor):
		return bad("invalid_price", "after_hours_minor is 0 to %d minor units", int64(MaxUnitMinor))
	case it.AfterHoursMinor != nil && it.Kind != KindLabour && it.Kind != KindCallOut:
		return bad("invalid_price", "only labour and call-out fees have an evening and weekend price")
	case it.CostMinor != nil && (*it.CostMinor < 0 || *it.CostMinor > MaxUnitMinor):
		return bad("invalid_price", "cost_minor is 0 to %d minor units", int64(MaxUnitMinor))
	case it.TaxRateBP != nil && (*it.TaxRateBP < 0 || *it.TaxRateBP > 10000):
		return bad("invalid_tax_rate", "tax_rate_bp is 0 to 10000 basis points")
	}
	return nil
}

// AfterHours reports whether t is on an evening (before 08:00 or from 18:00) or a weekend in zone.
func AfterHours(t time.Time, zone *time.Location) bool {
	l := t.In(zone)
	return l.Weekday() == time.Saturday || l.Weekday() == time.Sunday || l.Hour() < 8 || l.Hour() >= 18
}

// book is the price book as a quote, invoice or claim reads it.
type book struct {
	set   Settings
	items []PriceItem
}

// loadBook reads the business's settings and price items, with the catalogue's price and cost
// for those of skus the parts catalogue knows: the catalogue is the parts' price list, the price
// book a stand-in for parts it does not hold (a price book item of the same sku keeps its code and tax rate).
func loadBook(ctx context.Context, st Store, business string, skus ...string) (book, error) {
	set, err := st.Settings(ctx, business, false)
	if err != nil {
		return book{}, err
	}
	items, err := st.PriceItems(ctx, business)
	if err != nil || len(skus) == 0 {
		return book{set: set, items: items}, err
	}
	cat, err := st.CatalogueParts(ctx, skus)
	for _, c := range cat {
		i := slices.IndexFunc(items, func(it PriceItem) bool { return it.Kind == KindPart && it.SKU == c.SKU })
		if i < 0 {
			items = append(items, c)
			continue
		}
		items[i].Name, items[i].PriceMinor, items[i].CostMinor, items[i].AfterHoursMinor, items[i].Active = c.Name, c.PriceMinor, c.CostMinor, nil, true
	}
	return book{set: set, items: items}, err
}

// item is the active item of a code (or a part's sku).
func (b book) item(code string) (PriceItem, bool) {
	for _, it := range b.items {
		if it.Active && (it.Code == code || (it.Kind == KindPart && it.SKU == code)) {
			return it, true
		}
	}
	return PriceItem{}, false
}

// rateFor is the item of a kind for a trade and tier: the most specific active one (trade and
// tier given beat either left blank).
func (b book) rateFor(kind, trade string, tier dispatch.Tier) (PriceItem, bool) {
	best, score := PriceItem{}, -1
	for _, it := range b.items {
		if !it.Active || it.Kind != kind || (it.Trade != "" && it.Trade != trade) || (it.Tier != "" && it.Tier != tier) {
			continue
		}
		sc := 0
		if it.Trade != "" {
			sc += 2
		}
		if it.Tier != "" {
			sc++
		}
		if sc > score {
			best, score = it, sc
		}
	}
	return best, score >= 0
}

// line prices quantity of it, at its evening and weekend price when afterHours and it has one.
func (b book) line(it PriceItem, quantity int64, afterHours bool) Line {
	unit := it.PriceMinor
	ah := false
	if afterHours && it.AfterHoursMinor != nil {
		unit, ah = *it.AfterHoursMinor, true
	}
	rate := b.set.TaxRateBP
	if it.TaxRateBP != nil {
		rate = *it.TaxRateBP
	}
	return priced(Line{Code: it.Code, Kind: it.Kind, Description: it.Name, SKU: it.SKU, Quantity: quantity, UnitMinor: unit, TaxRateBP: rate, AfterHours: ah})
}

// skusOf are the SKUs of a visit's parts.
func skusOf(ps []dispatch.Part) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.SKU
	}
	return out
}
