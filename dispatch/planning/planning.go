package planning

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// Placement is where and when a job goes.
type Placement struct {
	TechnicianID int64
	Technician   dispatch.Technician
	Start, End   time.Time
	// PlanVersion is the technician's plan_version the placement was made on, when it was made
	// on the plan cache; a new booking's write is then guarded by it (nil: not guarded), plus
	// one for each pick of this process it was planned around (seen) that committed.
	PlanVersion *int64
	seen        []*reservation
	route       []Stop       // the technician's stops it was planned among (picks included)
	pick        *reservation // its own reservation
	planner     *Planner     // that made it, for its guarded write
	// Pickup is the warehouse the technician passes first to collect the job's parts, and when
	// (nil: none: the parts are in the van, or there are none).
	Pickup *Pickup
}

// Reason says why a job could not be placed, for the dispatcher.
type Reason struct {
	Code    string
	Message string
}

// Config tunes candidate search and the planning horizon.
type Config struct {
	Candidates     int           // technicians geo proposes for a new job (nearest first)
	MaxRadiusKm    float64       // how far geo looks
	Horizon        time.Duration // how far past its SLA due time a job may be planned
	PositionMaxAge time.Duration // an older position falls back to the next visit or home base
	// PlanCacheMaxAge is how long a candidate's cached plan is trusted without a read for a new
	// booking, whose write is guarded by the chosen plan's version (0: read every time).
	PlanCacheMaxAge time.Duration
}

// DefaultConfig are the defaults.
func DefaultConfig() Config {
	// Two days past the due time is far enough to rank late options; a booking that fits nowhere
	// by then waits on the board for a dispatcher.
	// A plan not chosen is at most PlanCacheMaxAge old: a technician freed by another replica's
	// (or psql's) change is seen by new bookings within seconds.
	return Config{Candidates: 30, MaxRadiusKm: 60, Horizon: 48 * time.Hour, PositionMaxAge: 30 * time.Minute,
		PlanCacheMaxAge: 5 * time.Second}
}

// Point is l as the geo package has it.
func Point(l dispatch.Location) geo.Point { return geo.Point{Lat: l.Lat, Lng: l.Lng} }

// TravelTime is the driving time between two places leaving at 'at'.
func (p *Planner) TravelTime(from, to dispatch.Location, at time.Time) time.Duration {
	return p.Travel.Duration(Point(from), Point(to), at)
}

// StartPosition is where the technician is now: the latest ping when fresh, else home.
func (p *Planner) StartPosition(t dispatch.Technician, now time.Time) dispatch.Location {
	return p.PositionAt(t, now, nil)
}

// PositionAt is where the technician is now: the latest ping when fresh; else the visit they are
// at or heading to (the first stop of route not yet over); else home.
func (p *Planner) PositionAt(t dispatch.Technician, now time.Time, route []Stop) dispatch.Location {
	if t.LastPosition != nil && t.LastSeenAt != nil && now.Sub(*t.LastSeenAt) <= p.Config.PositionMaxAge {
		return *t.LastPosition
	}
	for _, sp := range route {
		if sp.End.After(now) && sp.Start.Before(now.Add(p.Config.PositionMaxAge)) {
			return sp.Location
		}
	}
	return t.Home
}

// Covers reports whether the technician's service area (none: everywhere) holds l.
func Covers(t dispatch.Technician, l dispatch.Location) bool {
	if len(t.ServiceArea) == 0 {
		return true
	}
	a, err := geo.ParseArea(t.ServiceArea)
	if err != nil {
		return true // an unreadable area restricts nothing; validated on write
	}
	return a.Contains(Point(l))
}

// weekdayNames are the shift days' names, by time.Weekday.
var weekdayNames = [7]string{time.Sunday: "sun", time.Monday: "mon", time.Tuesday: "tue", time.Wednesday: "wed",
	time.Thursday: "thu", time.Friday: "fri", time.Saturday: "sat"}

// ShiftWindows expands the weekly shifts into absolute windows overlapping [from, to), in order,
// with time off cut out. It runs for every candidate of every booking, so it reads the shifts'
// times with clockOf rather than time.Parse.
func ShiftWindows(t dispatch.Technician, from, to time.Time, off []dispatch.Window) []dispatch.Window {
	loc := t.Zone()
	var out []dispatch.Window
	local := from.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -1)
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		name := weekdayNames[day.Weekday()]
		y, m, d := day.Date()
		for _, sh := range t.WeeklyShifts {
			if sh.Day != name {
				continue
			}
			sh1, sm1, ok1 := clockOf(sh.Start)
			sh2, sm2, ok2 := clockOf(sh.End)
			if !ok1 || !ok2 {
				continue
			}
			w := dispatch.Window{
				Start: time.Date(y, m, d, sh1, sm1, 0, 0, loc).UTC(),
				End:   time.Date(y, m, d, sh2, sm2, 0, 0, loc).UTC(),
			}
			if w.End.After(from) && w.Start.Before(to) {
				out = append(out, w)
			}
		}
	}
	slices.SortFunc(out, func(a, b dispatch.Window) int { return a.Start.Compare(b.Start) })
	for _, o := range off {
		out = cut(out, o)
	}
	return out
}

// clockOf reads a time of day as time.Parse("15:04", s) does: an hour of one or two digits up
// to 23, a colon, two digits of minutes up to 59.
func clockOf(s string) (hour, minute int, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 1 || i > 2 || len(s) != i+3 {
		return 0, 0, false
	}
	for k := range len(s) {
		if k != i && (s[k] < '0' || s[k] > '9') {
			return 0, 0, false
		}
	}
	hour = int(s[0] - '0')
	if i == 2 {
		hour = hour*10 + int(s[1]-'0')
	}
	minute = int(s[i+1]-'0')*10 + int(s[i+2]-'0')
	return hour, minute, hour <= 23 && minute <= 59
}

// cut removes o from every window.
func cut(ws []dispatch.Window, o dispatch.Window) []dispatch.Window {
	var out []dispatch.Window
	for _, w := range ws {
		if !o.End.After(w.Start) || !o.Start.Before(w.End) {
			out = append(out, w)
			continue
		}
		if o.Start.After(w.Start) {
			out = append(out, dispatch.Window{Start: w.Start, End: o.Start})
		}
		if o.End.Before(w.End) {
			out = append(out, dispatch.Window{Start: o.End, End: w.End})
		}
	}
	return out
}

// OnShift reports whether [start, start+d) lies inside one of t's shifts.
func OnShift(t dispatch.Technician, start time.Time, d time.Duration) bool {
	for _, w := range ShiftWindows(t, start.Add(-24*time.Hour), start.Add(d+24*time.Hour), nil) {
		if !start.Before(w.Start) && !start.Add(d).After(w.End) {
			return true
		}
	}
	return false
}

// candidates are the technicians who may take the job: active, skilled, inside their area,
// not excluded, nearest first: from the geo index when there is one. Given the horizon a route
// will be planned until (else zero), they may come with their routes read (for loadRoutes), from
// the plan cache when onCache (see planCache).
func (p *Planner) candidates(ctx context.Context, st Store, b dispatch.Booking, exclude []int64, until time.Time, onCache bool) ([]dispatch.Technician, *routeRead, Reason, error) {
	if p.Index != nil {
		return p.nearbyCandidates(ctx, st, b, exclude, until, onCache)
	}
	ts, reason, err := p.storeCandidates(ctx, st, b, exclude)
	return ts, nil, reason, err
}

// storeCandidates scans the skilled technicians in the database; it also names the reason
// when there is none.
func (p *Planner) storeCandidates(ctx context.Context, st Store, b dispatch.Booking, exclude []int64) ([]dispatch.Technician, Reason, error) {
	all, err := st.CandidateTechnicians(ctx, b.RequiredSkills)
	if err != nil {
		return nil, Reason{}, err
	}
	if len(all) == 0 {
		return nil, Reason{"no_skill", "no active technician has the skills " + strings.Join(b.RequiredSkills, ", ")}, nil
	}
	var out []dispatch.Technician
	outside := 0
	for _, t := range all {
		if slices.Contains(exclude, t.ID) {
			continue
		}
		if !Covers(t, b.Location) {
			outside++
			continue
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		if outside > 0 {
			return nil, Reason{"outside_areas", "the address is outside the service area of every technician with the skills"}, nil
		}
		return nil, Reason{"all_refused", "every technician with the skills declined this job or let its offer expire"}, nil
	}
	// Nearest first, and no more than the configured number: the solver works on a neighbourhood.
	slices.SortStableFunc(out, func(x, y dispatch.Technician) int {
		dx := geo.DistanceKm(Point(x.Home), Point(b.Location))
		dy := geo.DistanceKm(Point(y.Home), Point(b.Location))
		switch {
		case dx < dy:
			return -1
		case dx > dy:
			return 1
		}
		return 0
	})
	if n := p.Config.Candidates; n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, Reason{}, nil
}

// Plan finds the best placement of job j among the candidates; onCache: on the plan cache, for a
// write guarded by the placement's PlanVersion.
func (p *Planner) Plan(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, exclude []int64, onCache bool) (*Placement, Reason, error) {
	techs, pre, reason, err := p.candidates(ctx, st, b, exclude, p.Config.until(b), onCache)
	if err != nil || len(techs) == 0 {
		return nil, reason, err
	}
	var wh *Warehouse
	if techs, wh, reason, err = WithParts(ctx, st, j, b.Location, techs); err != nil || len(techs) == 0 {
		return nil, reason, err
	}
	return p.insert(ctx, st, b, j, techs, pre, wh)
}

// PlanFor finds the best time for job j in one technician's route (past its pick-up's warehouse
// first, when it has one to make).
func (p *Planner) PlanFor(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, t dispatch.Technician) (*Placement, Reason, error) {
	via, err := PickupOf(ctx, st, j)
	if err != nil {
		return nil, Reason{}, err
	}
	return p.insert(ctx, st, b, j, []dispatch.Technician{t}, nil, via)
}

// NotBefore are the customer's windows from t on (a return visit waits for its part); with none
// left, the week from t.
func NotBefore(ws []dispatch.Window, t time.Time) []dispatch.Window {
	var out []dispatch.Window
	for _, w := range ws {
		if w.End.After(t) {
			out = append(out, dispatch.Window{Start: Later(w.Start, t), End: w.End})
		}
	}
	if len(out) == 0 {
		out = []dispatch.Window{{Start: t, End: t.Add(7 * 24 * time.Hour)}}
	}
	return out
}
