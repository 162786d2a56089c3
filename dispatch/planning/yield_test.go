package planning

import (
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// The scheduled re-optimisation waits between iterations while a booking is being placed, and
// only then: idle, its Yield returns at once; busy, it waits backgroundPause.
func TestBackgroundSolveYieldsToBookings(t *testing.T) {
	planner := NewPlanner(nil, dispatch.NewEnv(dispatch.DefaultRules(), nil, nil))
	began := time.Now()
	for range 1000 {
		planner.YieldToBookings()
	}
	if idle := time.Since(began); idle >= backgroundPause { // a thousand atomic loads, not a pause
		t.Fatalf("1,000 idle yields took %s", idle)
	}
	planner.booking.Add(1)
	began = time.Now()
	planner.YieldToBookings()
	if busy := time.Since(began); busy < backgroundPause {
		t.Fatalf("with a booking in flight the yield returned after %s", busy)
	}
	planner.booking.Add(-1)
}
