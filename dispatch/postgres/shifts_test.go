package postgres

import (
	"reflect"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestWeeklyShiftsCache: a cached pattern decodes like a fresh one, and a caller changing its copy
// does not change the next technician's shifts.
func TestWeeklyShiftsCache(t *testing.T) {
	raw := []byte(`[{"day":"mon","start":"08:00","end":"17:00"},{"day":"tue","start":"09:00","end":"12:30"}]`)
	want := []dispatch.Shift{{Day: "mon", Start: "08:00", End: "17:00"}, {Day: "tue", Start: "09:00", End: "12:30"}}
	first := weeklyShifts(raw)
	first[0].Day = "sun"
	for range 3 {
		if got := weeklyShifts(raw); !reflect.DeepEqual(got, want) {
			t.Fatalf("shifts %v, want %v", got, want)
		}
	}
	for _, in := range []string{`[]`, `null`, `not json`} {
		if got := weeklyShifts([]byte(in)); got == nil || len(got) != 0 {
			t.Fatalf("%s: %#v, want an empty list", in, got)
		}
	}
}
