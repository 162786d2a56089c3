package money

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerifySignature: whatever the header and body, the check never panics, and it accepts only
// a header that holds the body's true signature at a time within the tolerance.
func FuzzVerifySignature(f *testing.F) {
	secret := []byte("whsec-fuzz")
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"payment.succeeded","invoice_id":1,"amount_minor":100,"currency":"EUR"}`)
	f.Add(Sign(secret, body, now), body)
	f.Add("t=,v1=", []byte{})
	f.Add("v1=00,t=1796637600,v1=zz", body)
	f.Add("t=99999999999999999999,v1=ab", body)
	f.Fuzz(func(t *testing.T, header string, b []byte) {
		err := VerifySignature(secret, header, b, now, 5*time.Minute)
		if err != nil {
			return
		}
		// Accepted: the true signature of b at some timestamp within the tolerance must be in it.
		for d := -5 * time.Minute; d <= 5*time.Minute; d += time.Second {
			_, sig, _ := strings.Cut(Sign(secret, b, now.Add(d)), ",") // "v1=<hex>"
			if strings.Contains(header, sig) {
				return
			}
		}
		t.Fatalf("accepted %q for %q without its signature", header, b)
	})
}
