// Package pdf renders a visit's service report (proof.Report) as a PDF with codeberg.org/go-pdf/fpdf,
// in an embedded font that covers Latin and CJK text alike (WenQuanYi Micro Hei, Apache-2.0).
package pdf

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/fieldfix/fieldfix/dispatch/money"
	"github.com/fieldfix/fieldfix/dispatch/proof"
)

// font is WenQuanYi Micro Hei (© 2008-2009 The WenQuanYi Project Board of Trustees; Apache License
// 2.0, or GPL-3+ with the font exception), the first font of Debian's fonts-wqy-microhei collection
// taken out as a .ttf (scripts/ttc2ttf.go): one TrueType face with Latin, Greek, Cyrillic, CJK
// ideographs, kana and hangul, so a report in French or Chinese renders alike; fpdf embeds only
// the glyphs a report uses (a subset).
//
//go:embed wqy-microhei.ttf
var font []byte

const (
	family = "wqy"
	margin = 15.0
	lineH  = 6.0
)

// Renderer renders service reports.
type Renderer struct {
	// Compress the page streams (the default in production); tests read them uncompressed.
	Uncompressed bool
}

// Render draws r on A4 pages.
func (rd Renderer) Render(r proof.Report) ([]byte, error) {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCompression(!rd.Uncompressed)
	f.SetCreationDate(r.GeneratedAt)
	f.SetModificationDate(r.GeneratedAt)
	f.SetTitle(fmt.Sprintf("Service report, visit %d", r.JobID), true)
	f.SetAuthor(r.Company, true)
	f.AddUTF8FontFromBytes(family, "", font)
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, margin)
	f.AddPage()
	p := page{f: f, zone: r.Zone}
	p.header(r)
	p.section("Customer")
	p.row("Customer", r.CustomerSubject)
	p.row("Address", r.Address)
	p.section("Appliance")
	p.row("Appliance", r.Appliance)
	p.row("Brand and model", strings.TrimSpace(r.Brand+" "+r.Model))
	p.row("Serial number", r.Serial)
	p.row("Service", r.ServiceType)
	p.row("Tier", r.Tier)
	p.row("Warranty", r.Warranty)
	p.section("Problem reported")
	p.para(r.Problem)
	p.section("Work done")
	p.row("Arrived", p.stamp(r.ArrivedAt))
	p.row("Finished", p.stamp(r.FinishedAt))
	p.row("Outcome", r.Outcome)
	p.row("Visit status", r.Status)
	if r.Notes != "" {
		p.para(r.Notes)
	}
	if len(r.Checklist) > 0 {
		p.section("Checklist")
		for _, a := range r.Checklist {
			v := a.Value
			if v == "" {
				v = "—"
			}
			p.row(a.Label, v)
		}
	}
	if len(r.Parts) > 0 {
		p.section("Parts used")
		var total int64
		priced := false
		for _, pt := range r.Parts {
			line := pt.Name
			if pt.Serial != "" {
				line += ", serial " + pt.Serial
			}
			if price, ok := r.Prices[pt.SKU]; ok {
				line += fmt.Sprintf(" — %s each, %s", money.Format(price, r.Currency), money.Format(price*int64(pt.Quantity), r.Currency))
				total += price * int64(pt.Quantity)
				priced = true
			}
			p.row(fmt.Sprintf("%d × %s", pt.Quantity, pt.SKU), line)
		}
		if priced {
			p.row("Parts total", money.Format(total, r.Currency))
		}
	}
	p.photos(r.Photos)
	p.signOff(r)
	p.section("Technician")
	p.row("Technician", r.Technician)
	var out bytes.Buffer
	if err := f.Output(&out); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return out.Bytes(), nil
}

// page writes a report down a page, breaking to the next as it fills.
type page struct {
	f    *fpdf.Fpdf
	zone *time.Location // times are told in it (nil: UTC)
}

func (p page) width() float64 { w, _ := p.f.GetPageSize(); return w - 2*margin }

// room starts a new page unless h millimetres are left on this one.
func (p page) room(h float64) {
	_, ph := p.f.GetPageSize()
	if p.f.GetY()+h > ph-margin {
		p.f.AddPage()
	}
}

func (p page) header(r proof.Report) {
	p.f.SetFont(family, "", 20)
	p.f.CellFormat(p.width(), 10, r.Company, "", 1, "L", false, 0, "")
	p.f.SetFont(family, "", 13)
	p.f.CellFormat(p.width(), 8, "Service report — "+r.Reference, "", 1, "L", false, 0, "")
	p.f.SetFont(family, "", 9)
	p.f.SetTextColor(90, 90, 90)
	p.f.CellFormat(p.width(), 5, "Generated "+p.stamp(&r.GeneratedAt), "", 1, "L", false, 0, "")
	p.f.SetTextColor(0, 0, 0)
	p.f.Ln(2)
}

func (p page) section(title string) {
	p.room(20)
	p.f.Ln(2)
	p.f.SetFont(family, "", 12)
	p.f.SetFillColor(230, 236, 245)
	p.f.CellFormat(p.width(), 7, " "+title, "", 1, "L", true, 0, "")
	p.f.SetFont(family, "", 10)
	p.f.Ln(1)
}

// row is a label and its value, the value wrapping in its column.
func (p page) row(label, value string) {
	if value == "" {
		value = "—"
	}
	p.room(lineH)
	x, y := p.f.GetXY()
	p.f.SetTextColor(90, 90, 90)
	p.f.MultiCell(55, lineH, label, "", "L", false)
	yLabel := p.f.GetY()
	p.f.SetXY(x+55, y)
	p.f.SetTextColor(0, 0, 0)
	p.f.MultiCell(p.width()-55, lineH, value, "", "L", false)
	if p.f.GetY() < yLabel {
		p.f.SetY(yLabel)
	}
}

func (p page) para(text string) {
	if strings.TrimSpace(text) == "" {
		text = "—"
	}
	p.f.MultiCell(p.width(), lineH, text, "", "L", false)
}

// photos are the thumbnails, four to a row, each with its kind and when it was taken.
func (p page) photos(ph []proof.Photo) {
	if len(ph) == 0 {
		return
	}
	const w, gap, capH, maxH = 40.0, 5.0, 9.0, 55.0
	height := func(x proof.Photo) float64 {
		if x.Width != nil && x.Height != nil && *x.Width > 0 {
			return math.Min(w*float64(*x.Height)/float64(*x.Width), maxH)
		}
		return w * 0.75
	}
	first := 0.0
	for _, x := range ph[:min(4, len(ph))] {
		first = math.Max(first, height(x))
	}
	p.room(first + capH + 14) // the heading stays with the first row
	p.section("Photos and files")
	for start := 0; start < len(ph); start += 4 {
		row := ph[start:min(start+4, len(ph))]
		heights := make([]float64, len(row))
		rowH := 0.0
		for i, x := range row {
			heights[i] = height(x)
			rowH = math.Max(rowH, heights[i])
		}
		p.room(rowH + capH)
		top := p.f.GetY()
		for i, x := range row {
			left, h := margin+float64(i)*(w+gap), heights[i]
			if x.Thumbnail != nil {
				name := fmt.Sprintf("photo-%d", x.ID)
				p.f.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "JPG"}, bytes.NewReader(x.Thumbnail))
				p.f.ImageOptions(name, left, top, w, h, false, fpdf.ImageOptions{ImageType: "JPG"}, 0, "")
			} else {
				p.f.Rect(left, top, w, h, "D")
				p.f.SetXY(left, top+h/2-3)
				p.f.CellFormat(w, 6, x.ContentType, "", 0, "C", false, 0, "")
			}
			p.f.SetFont(family, "", 8)
			p.f.SetXY(left, top+h+0.5)
			p.f.CellFormat(w, 4, fmt.Sprintf("#%d %s", x.ID, x.Kind), "", 0, "L", false, 0, "")
			if x.TakenAt != nil {
				p.f.SetXY(left, top+h+4.5)
				p.f.CellFormat(w, 4, p.stamp(x.TakenAt), "", 0, "L", false, 0, "")
			}
			p.f.SetFont(family, "", 10)
		}
		p.f.SetXY(margin, top+rowH+capH+2)
	}
}

// signOff shows the customer's word: the signature drawn, the code record, or the refusal.
func (p page) signOff(r proof.Report) {
	p.section("Customer sign-off")
	s := r.SignOff
	if s == nil {
		p.row("Sign-off", "not signed off")
		return
	}
	p.row("Signed", p.stamp(&s.SignedAt))
	switch s.Method {
	case "code":
		p.row("Method", "one-time acceptance code sent to the customer, typed by the technician")
	case "refused":
		p.row("Method", "refused by the customer")
		p.row("Reason", s.RefusalReason)
		if s.ComplaintID != nil {
			p.row("Complaint", fmt.Sprintf("#%d opened", *s.ComplaintID))
		}
	case "signature":
		p.row("Method", "signature")
	}
	p.row("Signed by", s.SignerName)
	if s.Method != "signature" {
		return
	}
	const bw, bh = 80.0, 30.0
	p.room(bh + 4)
	left, top := margin+55, p.f.GetY()+1
	p.f.SetDrawColor(160, 160, 160)
	p.f.Rect(left, top, bw, bh, "D")
	p.f.SetDrawColor(0, 0, 0)
	switch {
	case r.Signature != nil:
		p.f.RegisterImageOptionsReader("signature", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(r.Signature))
		p.f.ImageOptions("signature", left+1, top+1, 0, bh-2, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	case len(s.Strokes) > 0:
		drawStrokes(p.f, s.Strokes, left+2, top+2, bw-4, bh-4)
	}
	p.f.SetY(top + bh + 2)
}

// drawStrokes fits the strokes' bounding box into the box at (x, y) of w × h, keeping their shape.
func drawStrokes(f *fpdf.Fpdf, strokes [][][2]float64, x, y, w, h float64) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, s := range strokes {
		for _, pt := range s {
			minX, minY, maxX, maxY = math.Min(minX, pt[0]), math.Min(minY, pt[1]), math.Max(maxX, pt[0]), math.Max(maxY, pt[1])
		}
	}
	scale := math.Min(w/math.Max(maxX-minX, 1e-9), h/math.Max(maxY-minY, 1e-9))
	f.SetLineWidth(0.4)
	for _, s := range strokes {
		for i := 1; i < len(s); i++ {
			f.Line(x+(s[i-1][0]-minX)*scale, y+(s[i-1][1]-minY)*scale, x+(s[i][0]-minX)*scale, y+(s[i][1]-minY)*scale)
		}
	}
	f.SetLineWidth(0.2)
}

// stamp is t in the report's zone, named (CET, UTC, …); "" for none.
func (p page) stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	zone := p.zone
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("2006-01-02 15:04 MST")
}
