package pdf_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/pdf"
	"github.com/fieldfix/fieldfix/dispatch/proof"
	"github.com/fieldfix/fieldfix/internal/pdftext"
)

// TestReportRendersChineseAndLatin: the text read back from the PDF (compressed, as served)
// holds the customer, the Chinese problem, the checklist answers and the signer; a font without
// the glyphs would still write the code points, so the test also checks the font is embedded.
func TestReportRendersChineseAndLatin(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	r := proof.Report{Company: "FieldFix Lyon", JobID: 7, BookingID: 5, Visit: 1, Reference: "B-5/1", Status: "completed", CustomerSubject: "cust-王芳",
		Address: "12 rue de la République, Lyon", Appliance: "washer", Serial: "SN-123", Tier: "warranty", Warranty: "verified",
		Problem: "洗衣机不脱水，滚筒不转", Checklist: []proof.Answer{{Label: "Drum spins freely", Value: "yes"}, {Label: "Motor current", Value: "4.2 A"}},
		Parts: []dispatch.Part{{SKU: "BELT-1", Name: "Drive belt", Quantity: 1}}, ArrivedAt: &now, FinishedAt: &now, Technician: "Ana Tech",
		SignOff: &proof.SignOff{Method: "signature", SignerName: "王芳", Strokes: [][][2]float64{{{0, 0}, {10, 5}, {20, 0}}}, SignedAt: now}, GeneratedAt: now}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	r.Zone = paris // times in the business's zone: 10:00 UTC is 11:00 CET
	b, err := pdf.Renderer{}.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "%PDF-") || !strings.Contains(string(b), "/FontFile2") {
		t.Fatalf("not a PDF with an embedded TrueType font (%d bytes)", len(b))
	}
	text := pdftext.Text(b)
	for _, want := range []string{"cust-王芳", "洗衣机不脱水，滚筒不转", "Drum spins freely", "4.2 A", "1 × BELT-1", "République", "Ana Tech", "SN-123", "B-5/1", "2026-11-20 11:00 CET"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	if os.Getenv("PDF_OUT") != "" {
		_ = os.WriteFile(os.Getenv("PDF_OUT"), b, 0o644)
	}
}
