package parts

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Bounds of the catalogue.
const (
	MaxUnitMinor   = 100_000_000_000 // as money's
	MaxImportRows  = 50_000
	maxNameRunes   = 200
	maxFitsEntries = 100 // categories or models of one part
)

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`)

// ValidSKU reports whether s is a SKU as the catalogue keeps them.
func ValidSKU(s string) bool { return skuPattern.MatchString(s) }

// check validates a part as staff or an import give it; the error names the field.
func (p *Part) check() error {
	p.SKU, p.Name = strings.TrimSpace(p.SKU), strings.TrimSpace(p.Name)
	switch {
	case !ValidSKU(p.SKU):
		return dispatch.Invalid("sku", "invalid_sku", "a sku is 1 to 64 letters, digits and . _ / - (starting with a letter or digit); got %q", p.SKU)
	case p.Name == "" || utf8.RuneCountInString(p.Name) > maxNameRunes || !utf8.ValidString(p.Name) || strings.ContainsRune(p.Name, 0):
		return dispatch.Invalid("name", "invalid_name", "a part needs a name of 1 to %d characters (any language, no NUL)", maxNameRunes)
	case p.UnitPriceMinor < 0 || p.UnitPriceMinor > MaxUnitMinor:
		return dispatch.Invalid("unit_price_minor", "invalid_price", "unit_price_minor is 0 to %d (minor units)", int64(MaxUnitMinor))
	case p.CostMinor != nil && (*p.CostMinor < 0 || *p.CostMinor > MaxUnitMinor):
		return dispatch.Invalid("cost_minor", "invalid_price", "cost_minor is 0 to %d (minor units)", int64(MaxUnitMinor))
	case len(p.Categories) > maxFitsEntries || len(p.Models) > maxFitsEntries:
		return dispatch.Invalid("models", "too_many_entries", "a part lists at most %d categories and %d models", maxFitsEntries, maxFitsEntries)
	}
	p.Categories = folded(p.Categories)
	for _, c := range p.Categories {
		if !dispatch.ValidAppliance(c) {
			return dispatch.Invalid("categories", "unknown_appliance", "unknown appliance %q; one of: %s", c, strings.Join(dispatch.Appliances(), ", "))
		}
	}
	p.Models = folded(p.Models)
	for _, m := range p.Models {
		if utf8.RuneCountInString(m) > 100 || !utf8.ValidString(m) || strings.ContainsRune(m, 0) {
			return dispatch.Invalid("models", "invalid_model", "a model is at most 100 characters")
		}
	}
	return nil
}

// folded trims, drops empty entries and duplicates, keeps the order.
func folded(xs []string) []string {
	out := []string{}
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// SavePart adds a part to the catalogue or replaces the one of its SKU (admin); created says which.
func (s *Service) SavePart(ctx context.Context, a dispatch.Actor, p Part) (Part, bool, error) {
	if a.Role != dispatch.RoleAdmin {
		return Part{}, false, dispatch.Forbidden("the catalogue is kept by admins")
	}
	if err := p.check(); err != nil {
		return Part{}, false, err
	}
	now := s.Now()
	p.CreatedAt, p.UpdatedAt = now, now
	var (
		out     Part
		created int
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		var err error
		if created, err = st.UpsertParts(ctx, []Part{p}); err != nil {
			return err
		}
		got, err := st.PartsBySKU(ctx, []string{p.SKU})
		if err != nil || len(got) != 1 {
			return errors.Join(err, fmt.Errorf("part %s not read back", p.SKU))
		}
		out = got[0]
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "part", Action: "part_saved",
			Data: map[string]any{"sku": p.SKU, "unit_price_minor": p.UnitPriceMinor, "created": created == 1}})
	})
	return out, created == 1, err
}

// Parts lists the catalogue (staff and technicians).
func (s *Service) Parts(ctx context.Context, a dispatch.Actor, f PartFilter) ([]Part, error) {
	if a.Role == dispatch.RoleCustomer {
		return nil, dispatch.Forbidden("the catalogue is for staff and technicians")
	}
	if f.Category != "" && !dispatch.ValidAppliance(f.Category) {
		return nil, dispatch.Invalid("category", "unknown_appliance", "unknown appliance %q", f.Category)
	}
	if utf8.RuneCountInString(f.Query) > 100 || utf8.RuneCountInString(f.Model) > 100 || len(f.After) > 64 {
		return nil, dispatch.Invalid("q", "too_long", "q and model are at most 100 characters")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	return s.Store.ListParts(ctx, f)
}

// Rejection is a row of an import that cannot be taken, and why.
type Rejection struct {
	Row     int    `json:"row"` // 1 is the header; the first part is row 2
	SKU     string `json:"sku,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ImportReport says what an import did.
type ImportReport struct {
	Rows     int `json:"rows"`
	Created  int `json:"created"`
	Updated  int `json:"updated"`
	Rejected []Rejection
}

// importColumns are the CSV's columns; sku, name and unit_price_minor are required, the others optional.
var importColumns = []string{"sku", "name", "categories", "models", "unit_price_minor", "cost_minor", "serial_tracked"}

// ImportCSV adds or replaces the catalogue's parts from a CSV file (admin): a header naming the
// columns (importColumns, any order), then a part per row; categories and models are lists
// separated by '|'. All or nothing: when a row cannot be taken, no row is, and the answer lists
// every rejected row with its reason (422 import_rejected). The parts are written in one statement.
func (s *Service) ImportCSV(ctx context.Context, a dispatch.Actor, r io.Reader) (ImportReport, error) {
	if a.Role != dispatch.RoleAdmin {
		return ImportReport{}, dispatch.Forbidden("the catalogue is kept by admins")
	}
	ps, rep, err := readCSV(r)
	if err != nil {
		return ImportReport{}, err
	}
	if len(rep.Rejected) > 0 {
		return rep, &dispatch.Error{Kind: dispatch.KindUnprocessable, Code: "import_rejected",
			Message: fmt.Sprintf("%d of %d rows cannot be imported; nothing was imported", len(rep.Rejected), rep.Rows),
			Extra:   map[string]any{"rejected": rep.Rejected, "rows": rep.Rows}}
	}
	now := s.Now()
	for i := range ps {
		ps[i].CreatedAt, ps[i].UpdatedAt = now, now
	}
	err = s.Store.Tx(ctx, func(st Store) error {
		created, err := st.UpsertParts(ctx, ps)
		if err != nil {
			return err
		}
		rep.Created, rep.Updated = created, len(ps)-created
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "part", Action: "parts_imported",
			Data: map[string]any{"rows": rep.Rows, "created": rep.Created, "updated": rep.Updated}})
	})
	return rep, err
}

// readCSV reads the parts of an import, rejecting rows one by one; an unreadable file or header is an error.
func readCSV(r io.Reader) ([]Part, ImportReport, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	var pe *csv.ParseError
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &pe) {
		return nil, ImportReport{}, err // the body could not be read
	}
	if err != nil {
		return nil, ImportReport{}, dispatch.Invalid("file", "invalid_csv", "the file has no CSV header: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		if !slices.Contains(importColumns, h) {
			return nil, ImportReport{}, dispatch.Invalid("file", "unknown_column", "unknown column %q; columns are %s", h, strings.Join(importColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, ImportReport{}, dispatch.Invalid("file", "duplicate_column", "column %q is given twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"sku", "name", "unit_price_minor"} {
		if _, ok := col[need]; !ok {
			return nil, ImportReport{}, dispatch.Invalid("file", "missing_column", "the header needs sku, name and unit_price_minor")
		}
	}
	var (
		ps   []Part
		rep  ImportReport
		seen = map[string]int{} // sku → row
	)
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		rep.Rows++
		if rep.Rows > MaxImportRows {
			return nil, ImportReport{}, dispatch.Invalid("file", "too_many_rows", "an import has at most %d rows", MaxImportRows)
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, ImportReport{}, err
			}
			rep.Rejected = append(rep.Rejected, Rejection{Row: row, Code: "invalid_csv", Message: pe.Err.Error()})
			continue
		}
		field := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		p, rj := partOfRow(field)
		rj.Row, rj.SKU = row, p.SKU
		if rj.Code == "" {
			if first, dup := seen[p.SKU]; dup {
				rj.Code, rj.Message = "duplicate_sku", fmt.Sprintf("sku %s is on row %d already", p.SKU, first)
			} else {
				seen[p.SKU] = row
			}
		}
		if rj.Code != "" {
			rep.Rejected = append(rep.Rejected, rj)
			continue
		}
		ps = append(ps, p)
	}
	if rep.Rows == 0 {
		return nil, ImportReport{}, dispatch.Invalid("file", "empty_import", "the file has a header and no parts")
	}
	return ps, rep, nil
}

// partOfRow reads one row; a rejection without a code means the row is good.
func partOfRow(field func(string) string) (Part, Rejection) {
	p := Part{SKU: field("sku"), Name: field("name"), Categories: strings.Split(field("categories"), "|"), Models: strings.Split(field("models"), "|")}
	price, err := strconv.ParseInt(field("unit_price_minor"), 10, 64)
	if err != nil {
		return p, Rejection{Code: "invalid_price", Message: fmt.Sprintf("unit_price_minor %q is not a whole number of minor units", field("unit_price_minor"))}
	}
	p.UnitPriceMinor = price
	if c := field("cost_minor"); c != "" {
		cost, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return p, Rejection{Code: "invalid_price", Message: fmt.Sprintf("cost_minor %q is not a whole number of minor units", c)}
		}
		p.CostMinor = &cost
	}
	switch strings.ToLower(field("serial_tracked")) {
	case "", "false", "no", "0":
	case "true", "yes", "1":
		p.SerialTracked = true
	default:
		return p, Rejection{Code: "invalid_flag", Message: fmt.Sprintf("serial_tracked %q is not true or false", field("serial_tracked"))}
	}
	if err := p.check(); err != nil {
		var de *dispatch.Error
		errors.As(err, &de)
		return p, Rejection{Code: de.Code, Message: de.Message}
	}
	return p, Rejection{}
}
