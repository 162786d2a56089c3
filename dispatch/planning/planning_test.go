package planning

import (
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

func TestPositionFallsBackToVisitThenHome(t *testing.T) {
	planner := NewPlanner(nil, dispatch.NewEnv(dispatch.DefaultRules(), nil, nil))
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	home, ping, visit := dispatch.Location{Lat: 45.70, Lng: 4.80}, dispatch.Location{Lat: 45.76, Lng: 4.84}, dispatch.Location{Lat: 45.78, Lng: 4.88}
	fresh, stale := now.Add(-5*time.Minute), now.Add(-2*time.Hour)
	route := []Stop{{Start: now.Add(-20 * time.Minute), End: now.Add(40 * time.Minute), Location: visit}}
	cases := []struct {
		name  string
		seen  *time.Time
		route []Stop
		want  dispatch.Location
	}{
		{"fresh ping", &fresh, route, ping},
		{"stale ping, on a visit", &stale, route, visit},
		{"stale ping, no visit", &stale, nil, home},
		{"no ping at all", nil, nil, home},
	}
	for _, c := range cases {
		tech := dispatch.Technician{Home: home, LastSeenAt: c.seen}
		if c.seen != nil {
			tech.LastPosition = &ping
		}
		if got := planner.PositionAt(tech, now, c.route); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestClockOfReadsLikeTimeParse: the shifts' fast reader agrees with time.Parse("15:04").
func TestClockOfReadsLikeTimeParse(t *testing.T) {
	for _, s := range []string{"08:00", "8:00", "23:59", "24:00", "00:00", "0:00", "12:60", "12:5", "12:055", "1200",
		":30", "123:00", "ab:cd", "08:0a", "-1:00", "+8:00", " 8:00", "08:00 ", "", "08", "08:", "9:30", "19:07", "07:7"} {
		want, err := time.Parse("15:04", s)
		h, m, ok := clockOf(s)
		if ok != (err == nil) || ok && (h != want.Hour() || m != want.Minute()) {
			t.Errorf("clockOf(%q) = %d, %d, %v; time.Parse gives %v, %v", s, h, m, ok, want.Format("15:04"), err)
		}
	}
}
