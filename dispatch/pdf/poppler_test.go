package pdf_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/pdf"
	"github.com/fieldfix/fieldfix/dispatch/proof"
)

// poppler finds a poppler-utils tool: CI installs the package (.ci/run), so there a missing tool
// fails the test; elsewhere the test is skipped with the reason.
func poppler(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: apt-get install poppler-utils", name)
		}
		t.Skipf("%s is not installed (apt-get install poppler-utils)", name)
	}
	return p
}

// thumb is a w × h JPEG: a blue-to-orange gradient, like a photo's thumbnail.
func thumb(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(40 + 200*x/w), uint8(90 + 60*y/h), uint8(200 - 150*x/w), 255})
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, nil)
	return b.Bytes()
}

// TestReportThroughPoppler: the service report as another PDF reader sees it. pdftotext reads the
// customer, the Chinese problem, the checklist answers, the parts with their prices, the sign-off
// and the technician; pdftoppm draws page 1, which must show ink where the header, the photos and
// the signature are. Page 1 is kept as report-page1.png under artifacts/ (or ARTIFACTS_DIR).
func TestReportThroughPoppler(t *testing.T) {
	pdftotext, pdftoppm := poppler(t, "pdftotext"), poppler(t, "pdftoppm")
	arrived := time.Date(2026, 11, 20, 9, 42, 0, 0, time.UTC)
	finished := arrived.Add(48 * time.Minute)
	w, h := 320, 240
	taken := arrived.Add(5 * time.Minute)
	photo := func(id int64, kind string) proof.Photo {
		return proof.Photo{Attachment: proof.Attachment{ID: id, Kind: kind, ContentType: "image/jpeg", Width: &w, Height: &h, TakenAt: &taken}, Thumbnail: thumb(w, h)}
	}
	price := int64(2490)
	r := proof.Report{Company: "FieldFix Lyon", JobID: 4711, BookingID: 812, Visit: 1, Reference: "B-812/1", Status: "completed", CustomerSubject: "王芳 (cust-812)",
		Address: "12 rue de la République, 69002 Lyon", ServiceType: "repair", Appliance: "washer", Brand: "Haier", Model: "HW80-B14959",
		Serial: "HW80SN2025-0042", Tier: "paid", Warranty: "none", Problem: "洗衣机不脱水，滚筒不转；显示错误代码 E21。",
		Outcome: "fixed", Notes: "Replaced the drive belt; drum spins at 1,400 rpm.",
		Checklist: []proof.Answer{{Label: "Drum spins freely", Value: "yes"}, {Label: "Motor current", Value: "4.2 A"}, {Label: "Error code shown", Value: "E21"}},
		Parts:     []dispatch.Part{{SKU: "BELT-1", Name: "Drive belt 1270 J5", Quantity: 1}},
		Prices:    map[string]int64{"BELT-1": price}, Currency: "EUR",
		Photos:    []proof.Photo{photo(31, "before"), photo(32, "serial_plate"), photo(33, "after")},
		ArrivedAt: &arrived, FinishedAt: &finished, Technician: "Ana Técnica",
		SignOff: &proof.SignOff{Method: "signature", SignerName: "王芳", SignedAt: finished,
			Strokes: [][][2]float64{{{10, 40}, {30, 10}, {50, 40}, {70, 10}, {90, 40}}, {{100, 30}, {140, 30}}}},
		GeneratedAt: finished}
	b, err := pdf.Renderer{}.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"FieldFix Lyon", "王芳 (cust-812)", "洗衣机不脱水，滚筒不转；显示错误代码 E21。", "Drum spins freely yes", "Motor current 4.2 A",
		"1 × BELT-1", "EUR 24.90", "HW80SN2025-0042", "République", "Ana Técnica", "#32 serial_plate", "signature"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext lacks %q:\n%s", want, text)
		}
	}
	if err := exec.Command(pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", file, filepath.Join(dir, "page")).Run(); err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	pngBytes, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	bd := page.Bounds()
	if bd.Dx() < 600 || bd.Dx() > 700 || bd.Dy() < 900 { // A4 at 80 dpi: 661 × 935
		t.Fatalf("page 1 is %v", bd)
	}
	// Ink in the upper third (the header and text) and coloured pixels (the photos' thumbnails).
	ink, coloured := 0, 0
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			cr, cg, cb, _ := page.At(x, y).RGBA()
			if y < bd.Dy()/3 && cr>>8 < 100 && cg>>8 < 100 && cb>>8 < 100 {
				ink++
			}
			if int(cb>>8)-int(cr>>8) > 80 {
				coloured++
			}
		}
	}
	if ink < 2000 || coloured < 1000 {
		t.Fatalf("page 1 looks empty: %d dark pixels in its upper third, %d coloured", ink, coloured)
	}
	d := os.Getenv("ARTIFACTS_DIR")
	if d == "" {
		d = filepath.Join("..", "..", "artifacts") // the repository's, as the browser tests keep theirs
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "report-page1.png"), pngBytes, 0o644); err != nil {
		t.Fatal(err)
	}
}
