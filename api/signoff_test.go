package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/internal/pdftext"
)

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// lastCode is the acceptance code in the customer's newest acceptance_code notification.
func (b *testBundle) lastCode(cust string) string {
	b.t.Helper()
	items := b.do("GET", "/v1/customers/me/inbox", b.token(dispatch.RoleCustomer, cust), nil).json(b.t)["items"].([]any)
	for _, it := range items { // newest first
		n := it.(map[string]any)
		if n["kind"] == "acceptance_code" {
			return sixDigits.FindString(n["title"].(string))
		}
	}
	b.t.Fatalf("no acceptance code in %s's inbox: %v", cust, items)
	return ""
}

func (b *testBundle) bookingOf(jobID int64) int64 {
	b.t.Helper()
	var id int64
	if err := b.db.Pool.QueryRow(context.Background(), "SELECT booking_id FROM jobs WHERE id = $1", jobID).Scan(&id); err != nil {
		b.t.Fatal(err)
	}
	return id
}

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// TestAcceptanceCodeFlow: a business that signs off by code sends the customer one on arrival;
// completion waits for it; wrong codes count down and the sixth try meets a locked code; a resend
// (not too soon) starts again; a code expires; the right one signs the visit off, once.
func TestAcceptanceCodeFlow(t *testing.T) {
	b := setup(t)
	b.svc.Proof.Policy.SignOff = "code"
	id := b.visitOnSite("tech-k", "cust-k")
	tech := b.token(dispatch.RoleTechnician, "tech-k")
	path := fmt.Sprintf("/v1/jobs/%d/signoff", id)
	code := b.lastCode("cust-k")
	if code == "" {
		t.Fatal("the notification carries no 6-digit code")
	}
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, map[string]any{"status": "completed"}), 409, "signoff_missing")
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "signature", "signer_name": "K", "strokes": [][][2]float64{{{0, 0}, {1, 1}}}}), 422, "signoff_method_not_allowed")
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "code", "code": "12345"}), 400, "invalid_code")

	for left := 4; left >= 0; left-- {
		r := b.do("POST", path, tech, map[string]any{"method": "code", "code": wrongCode(code)})
		wantProblem(t, r, 422, "code_wrong")
		if got := r.json(t)["attempts_left"]; got != float64(left) {
			t.Fatalf("attempts_left %v, want %d", got, left)
		}
	}
	r := b.do("POST", path, tech, map[string]any{"method": "code", "code": code}) // the sixth try, right but too late
	wantProblem(t, r, 409, "code_locked")

	wantProblem(t, b.do("POST", path+"/code", tech, nil), 409, "code_resend_too_soon")
	b.clock.Set(b.clock.Now().Add(2 * time.Minute))
	if r := b.do("POST", path+"/code", tech, nil); r.Status != 202 {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	second := b.lastCode("cust-k")
	if second == code {
		t.Log("the new code happens to equal the old one")
	}
	// It expires.
	b.clock.Set(b.clock.Now().Add(31 * time.Minute))
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "code", "code": second}), 409, "code_expired")
	if r := b.do("POST", path+"/code", tech, nil); r.Status != 202 {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	third := b.lastCode("cust-k")
	r = b.do("POST", path, tech, map[string]any{"method": "code", "code": third, "signer_name": "Karim"})
	if r.Status != 201 || r.json(t)["method"] != "code" {
		t.Fatalf("sign-off: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "code", "code": third}), 409, "already_signed_off")
	// The sign-off is part of the visit: the booking's job answers how and when.
	bk := b.do("GET", fmt.Sprintf("/v1/bookings/%v", b.bookingOf(id)), b.token(dispatch.RoleCustomer, "cust-k"), nil).json(t)
	if j := jobOf(t, bk); j["signoff_method"] != "code" || j["signed_off_at"] == nil {
		t.Fatalf("the visit does not carry its sign-off: %v", j)
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, map[string]any{"status": "completed"}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	// The customer is sent the report.
	items := b.do("GET", "/v1/customers/me/inbox", b.token(dispatch.RoleCustomer, "cust-k"), nil).json(t)["items"].([]any)
	sent := false
	for _, it := range items {
		n := it.(map[string]any)
		sent = sent || (n["kind"] == "service_report" && n["data"].(map[string]any)["report_url"] == fmt.Sprintf("/v1/jobs/%d/report.pdf", id))
	}
	if !sent {
		t.Fatalf("no service report in the customer's inbox: %v", items)
	}
	if b.auditCount("job", id, "signoff_code") != 1 {
		t.Fatal("the sign-off is not in the audit trail")
	}
}

// TestCodeTriesAreCountedUnderConcurrency: concurrent wrong guesses cannot get past five tries.
func TestCodeTriesAreCountedUnderConcurrency(t *testing.T) {
	b := setup(t)
	b.svc.Proof.Policy.SignOff = "any"
	id := b.visitOnSite("tech-r", "cust-r")
	tech := b.token(dispatch.RoleTechnician, "tech-r")
	code := b.lastCode("cust-r")
	done := make(chan int, 10)
	for range 10 {
		go func() {
			r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/signoff", id), tech, map[string]any{"method": "code", "code": wrongCode(code)})
			done <- r.Status
		}()
	}
	wrong, locked := 0, 0
	for range 10 {
		switch <-done {
		case 422:
			wrong++
		case 409:
			locked++
		}
	}
	if wrong != 5 || locked != 5 {
		t.Fatalf("%d wrong and %d locked answers, want 5 and 5", wrong, locked)
	}
}

// TestSignatureAndReport: a drawn signature with the signer's name signs the visit off; the PDF
// report holds the customer, the Chinese problem text, the checklist answers and the signer.
func TestSignatureAndReport(t *testing.T) {
	b := setup(t)
	b.svc.Proof.Policy.SignOff = "signature"
	b.washerChecklist()
	b.technician("tech-s", []string{"washer"}, 45.76, 4.84)
	book := washerBooking(nil)
	book["problem"] = "洗衣机不脱水，滚筒不转"
	bk := b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "cust-s"), book)
	id := int64(jobOf(t, bk.json(t))["id"].(float64))
	tech := b.token(dispatch.RoleTechnician, "tech-s")
	b.do("POST", fmt.Sprintf("/v1/jobs/%d/accept", id), tech, nil)
	b.step(b.clock.Now(), time.Minute, "tech-s", id, map[string]any{"status": "en_route"})
	b.step(b.clock.Now(), 20*time.Minute, "tech-s", id, map[string]any{"status": "on_site"})
	if items := b.do("GET", "/v1/customers/me/inbox", b.token(dispatch.RoleCustomer, "cust-s"), nil).json(t)["items"].([]any); strings.Contains(fmt.Sprint(items), "acceptance_code") {
		t.Fatal("a business that signs by signature sent a code")
	}
	b.do("PUT", fmt.Sprintf("/v1/jobs/%d/checklist", id), tech, map[string]any{"answers": map[string]any{"drum_spins": true, "motor_current": 4.2, "error_code": "E21"}})
	path := fmt.Sprintf("/v1/jobs/%d/signoff", id)
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "signature", "strokes": [][][2]float64{{{0, 0}, {5, 5}}}}), 400, "missing_field")
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "signature", "signer_name": "王芳", "png_base64": base64.StdEncoding.EncodeToString(photo(10, 10, false))}), 400, "invalid_signature")
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "signature", "signer_name": "王芳"}), 400, "invalid_signature")
	strokes := [][][2]float64{{{10, 40}, {30, 10}, {50, 40}, {70, 10}}, {{80, 30}, {120, 30}}}
	r := b.do("POST", path, tech, map[string]any{"method": "signature", "signer_name": "王芳", "strokes": strokes})
	if r.Status != 201 {
		t.Fatalf("signature: %d %s", r.Status, r.Body)
	}
	b.step(b.clock.Now(), 40*time.Minute, "tech-s", id, map[string]any{"status": "completed", "notes": "replaced the drive belt",
		"parts_used": []map[string]any{{"sku": "BELT-1", "name": "Drive belt", "quantity": 1}}})

	rep := b.do("GET", fmt.Sprintf("/v1/jobs/%d/report", id), b.token(dispatch.RoleCustomer, "cust-s"), nil)
	if rep.Status != 200 || rep.json(t)["signoff"].(map[string]any)["signer_name"] != "王芳" {
		t.Fatalf("report: %d %s", rep.Status, rep.Body)
	}
	pdf := b.do("GET", fmt.Sprintf("/v1/jobs/%d/report.pdf", id), b.token(dispatch.RoleCustomer, "cust-s"), nil)
	if pdf.Status != 200 || pdf.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("report.pdf: %d %s", pdf.Status, pdf.Header.Get("Content-Type"))
	}
	text := pdftext.Text(pdf.Body)
	for _, want := range []string{"cust-s", "洗衣机不脱水，滚筒不转", "Drum spins freely", "yes", "4.2 A", "E21", "1 × BELT-1", "王芳", "replaced the drive belt", "tech-s Tech"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report's text lacks %q", want)
		}
	}
	wantProblem(t, b.do("GET", fmt.Sprintf("/v1/jobs/%d/report.pdf", id), b.token(dispatch.RoleCustomer, "someone-else"), nil), 404, "job_not_found")
}

// TestRefusalOpensComplaint: the customer refuses with a reason; a quality complaint is opened,
// charged to the technician; the visit may still end; the refusal shows in the sign-off report.
func TestRefusalOpensComplaint(t *testing.T) {
	b := setup(t)
	b.svc.Proof.Policy.SignOff = "any"
	id := b.visitOnSite("tech-f", "cust-f")
	tech := b.token(dispatch.RoleTechnician, "tech-f")
	path := fmt.Sprintf("/v1/jobs/%d/signoff", id)
	wantProblem(t, b.do("POST", path, tech, map[string]any{"method": "refused"}), 400, "missing_field")
	r := b.do("POST", path, tech, map[string]any{"method": "refused", "signer_name": "Fatima", "reason": "still leaking under the door"})
	if r.Status != 201 || r.json(t)["complaint_id"] == nil {
		t.Fatalf("refusal: %d %s", r.Status, r.Body)
	}
	cid := r.json(t)["complaint_id"]
	cs := b.do("GET", "/v1/complaints", b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["items"].([]any)
	if len(cs) != 1 || cs[0].(map[string]any)["id"] != cid || cs[0].(map[string]any)["category"] != "quality" || cs[0].(map[string]any)["technician_id"] == nil {
		t.Fatalf("complaints %v", cs)
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, map[string]any{"status": "completed"}); r.Status != 200 {
		t.Fatalf("complete after a refusal: %d %s", r.Status, r.Body)
	}
	b.clock.Set(b.clock.Now().Add(time.Hour))
	rep := b.do("GET", "/v1/reports/signoffs", b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)
	refusals := rep["refusals"].([]any)
	if rep["refused"] != 1.0 || len(refusals) != 1 || refusals[0].(map[string]any)["reason"] != "still leaking under the door" || rep["signed_off"] != 0.0 {
		t.Fatalf("sign-off report %v", rep)
	}
}

// TestSignaturePNG: a signature sent as a PNG is kept as the visit's attachment of kind signature
// (not counted among its photos), served back, and drawn into the report.
func TestSignaturePNG(t *testing.T) {
	b := setup(t)
	id := b.visitOnSite("tech-g", "cust-g")
	tech := b.token(dispatch.RoleTechnician, "tech-g")
	sig := pngImage(300, 100)
	r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/signoff", id), tech, map[string]any{"method": "signature", "signer_name": "Gaëlle",
		"png_base64": base64.StdEncoding.EncodeToString(sig)})
	if r.Status != 201 || r.json(t)["signature_url"] == nil {
		t.Fatalf("signature: %d %s", r.Status, r.Body)
	}
	got := b.do("GET", r.json(t)["signature_url"].(string), b.token(dispatch.RoleCustomer, "cust-g"), nil)
	if got.Status != 200 || got.Header.Get("Content-Type") != "image/png" || sha(got.Body) != sha(sig) {
		t.Fatalf("signature image: %d %s", got.Status, got.Header.Get("Content-Type"))
	}
	if r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/status", id), tech, map[string]any{"status": "completed"}); r.Status != 200 {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	rep := b.do("GET", fmt.Sprintf("/v1/jobs/%d/report", id), tech, nil).json(t)
	if len(rep["photos"].([]any)) != 0 || rep["signoff"].(map[string]any)["signature_url"] == nil {
		t.Fatalf("report %v", rep)
	}
	pdf := b.do("GET", fmt.Sprintf("/v1/jobs/%d/report.pdf", id), tech, nil)
	if pdf.Status != 200 || !strings.Contains(string(pdf.Body), "/Subtype /Image") || !strings.Contains(pdftext.Text(pdf.Body), "Gaëlle") {
		t.Fatalf("report.pdf without the signature image (%d, %d bytes)", pdf.Status, len(pdf.Body))
	}
}
