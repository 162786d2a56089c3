package dispatch

import (
	"fmt"
	"sync"
	"time"
)

// Times told to people: a technician reads them in the technician's own zone (time_zone), a
// customer in the business's (Rules.Zone, FIELDFIX_TIME_ZONE). The window a customer is promised
// is the slot grid's: ArrivalWindow wide, starting on an even hour of the business zone, the one
// that holds the visit's planned start.

// PromisedWindow is the arrival window holding start on the slot grid of loc: the window the
// slots offer, so a visit planned inside a chosen slot is promised that slot.
func PromisedWindow(start time.Time, loc *time.Location) Window {
	l := start.In(loc)
	from := time.Date(l.Year(), l.Month(), l.Day(), l.Hour()-l.Hour()%2, 0, 0, 0, loc)
	return Window{Start: from.UTC(), End: from.Add(ArrivalWindow).UTC()}
}

// TellWindow says w in loc as a person reads it: "Mon 23 Nov between 08:00 and 10:00".
func TellWindow(w Window, loc *time.Location) string {
	s := w.Start.In(loc)
	return fmt.Sprintf("%s between %s and %s", s.Format("Mon 2 Jan"), s.Format("15:04"), w.End.In(loc).Format("15:04"))
}

// Zone is the technician's time zone (UTC when unset or unknown): their messages tell times in it.
func (t Technician) Zone() *time.Location {
	if t.TimeZone == "" {
		return time.UTC
	}
	if loc, ok := zones.Load(t.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	zones.Store(t.TimeZone, loc)
	return loc
}

// zones remembers the zones Zone loaded, by name: time.LoadLocation reads and parses the zone's
// file every time, which every offer's message did (25 µs of a booking's CPU and its garbage, in
// bench-load's profile). A zone's rules do not change while the process runs.
var zones sync.Map // name → *time.Location
