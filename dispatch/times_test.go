package dispatch

import (
	"testing"
	"time"
)

// Zone is loaded once per name and answers the same zone every time; unset or unknown is UTC.
func TestTechnicianZone(t *testing.T) {
	paris := Technician{TimeZone: "Europe/Paris"}
	first, again := paris.Zone(), paris.Zone()
	if first.String() != "Europe/Paris" || first != again {
		t.Fatalf("Zone() = %v then %v, want Europe/Paris both times, the same *time.Location", first, again)
	}
	summer := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).In(first)
	if _, off := summer.Zone(); off != 2*3600 {
		t.Fatalf("Europe/Paris in July is UTC%+d s, want +7200", off)
	}
	for _, name := range []string{"", "Mars/Olympus_Mons", "Mars/Olympus_Mons"} {
		if got := (Technician{TimeZone: name}).Zone(); got != time.UTC {
			t.Errorf("Zone() of %q = %v, want UTC", name, got)
		}
	}
}
