package planning

import (
	"context"
	"slices"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// A pick-up stop (issue 25): when no candidate's van holds the parts a job requires but a
// warehouse does, the job goes to a technician who drives past that warehouse first. The
// insertion times the drive into the visit as the drive to the warehouse, the stop there
// (dispatch.PickupDuration) and the drive on to the customer, each leg at its own hour; the visit
// then carries the warehouse (jobs.pickup_location_id), its parts are reserved there in the
// assignment's transaction, and every later read of the route shows the pick-up as a stop of its
// own, ending when the drive to the customer must leave (PickupWindow).

// Warehouse is a stock location a technician can collect parts at.
type Warehouse struct {
	ID       int64
	Name     string
	Location dispatch.Location
}

// Pickup is the warehouse a placement passes before its visit, and when.
type Pickup struct {
	Warehouse
	Start, End time.Time
}

// PickupWindow is when the pick-up at wh for a visit at loc starting at start takes place: it
// ends when the drive to the customer must leave to arrive by start (to the minute, as every
// time a customer is told), and lasts dispatch.PickupDuration.
func (p *Planner) PickupWindow(wh, loc dispatch.Location, start time.Time) dispatch.Window {
	d := p.TravelTime(wh, loc, start.Add(-p.TravelTime(wh, loc, start)))
	end := start.Add(-d).Truncate(time.Minute)
	return dispatch.Window{Start: end.Add(-dispatch.PickupDuration), End: end}
}

// PickupBefore is the pick-up at wh for a visit at loc starting at start, at PickupWindow's times.
func (p *Planner) PickupBefore(wh Warehouse, loc dispatch.Location, start time.Time) *Pickup {
	w := p.PickupWindow(wh.Location, loc, start)
	return &Pickup{Warehouse: wh, Start: w.Start, End: w.End}
}

// withPickups puts before each stop with a pick-up to make a stop at its warehouse, for the
// time PickupWindow gives (stops is not written: a copy is made when there is one).
func (p *Planner) withPickups(stops []Stop) []Stop {
	if !slices.ContainsFunc(stops, func(sp Stop) bool { return sp.Via != nil && !sp.Pickup }) {
		return stops
	}
	out := make([]Stop, 0, len(stops)+2)
	for _, sp := range stops {
		if sp.Via != nil && !sp.Pickup {
			w := p.PickupWindow(*sp.Via, sp.Location, sp.Start)
			pk := sp
			pk.Pickup, pk.Start, pk.End, pk.Location, pk.Duration = true, w.Start, w.End, *sp.Via, dispatch.PickupDuration
			pk.Pinned, pk.PinnedStart = true, true
			out = append(out, pk)
		}
		out = append(out, sp)
	}
	slices.SortStableFunc(out, func(a, b Stop) int { return a.Start.Compare(b.Start) })
	return out[:len(out):len(out)]
}

// WithParts keeps, of the candidates for job j, those whose van holds the parts it requires (all
// of them when it requires none). When no candidate's van does but a warehouse holds them, every
// candidate stays and the job passes the warehouse nearest its address first (pickup); with
// neither the job waits, parts_unavailable. A new booking's job (no id yet, or the planner's
// placeholder) requires none.
func WithParts(ctx context.Context, st Store, j dispatch.Job, loc dispatch.Location, techs []dispatch.Technician) ([]dispatch.Technician, *Warehouse, Reason, error) {
	if j.ID <= 0 { // a new booking's job, planned under a placeholder id before it is written:
		// it has no parts, and asking would cost every booking a round trip
		return techs, nil, Reason{}, nil
	}
	ids := make([]int64, len(techs))
	for i, t := range techs {
		ids[i] = t.ID
	}
	holders, needs, err := st.VansHolding(ctx, j.ID, ids)
	if err != nil || !needs {
		return techs, nil, Reason{}, err
	}
	if len(holders) > 0 {
		return slices.DeleteFunc(slices.Clone(techs), func(t dispatch.Technician) bool { return !slices.Contains(holders, t.ID) }),
			nil, Reason{}, nil
	}
	whs, err := st.WarehousesHolding(ctx, j.ID)
	if err != nil {
		return nil, nil, Reason{}, err
	}
	if len(whs) == 0 {
		return nil, nil, Reason{"parts_unavailable", "no candidate technician's van and no warehouse holds the parts this job requires"}, nil
	}
	best := whs[0]
	for _, w := range whs[1:] {
		if geo.DistanceKm(Point(w.Location), Point(loc)) < geo.DistanceKm(Point(best.Location), Point(loc)) {
			best = w
		}
	}
	return techs, &best, Reason{}, nil
}

// PickupOf is the warehouse job j's technician passes first, while that pick-up is to make (nil: none).
func PickupOf(ctx context.Context, st Store, j dispatch.Job) (*Warehouse, error) {
	if !j.PickupPending() {
		return nil, nil
	}
	ws, err := st.WarehousesByIDs(ctx, []int64{*j.PickupLocationID})
	if err != nil || len(ws) == 0 {
		return nil, err
	}
	return &ws[0], nil
}

// WritePlaced writes job j as placed at p (nil: unassigned) with write, and its pick-up: a
// warehouse to pass is named before the write, so that the new technician's reservation is taken
// there, and one no longer passed is dropped after it, once the job is off the old route (the new
// van holds the parts, or there is no technician). j's pick-up fields follow.
func WritePlaced(ctx context.Context, st Store, j *dispatch.Job, p *Placement, write func() error) error {
	var to *int64
	if p != nil && p.Pickup != nil {
		to = &p.Pickup.ID
	}
	if to != nil && (j.PickupLocationID == nil || *j.PickupLocationID != *to || j.PickedUpAt != nil) {
		if err := st.SetJobPickup(ctx, j.ID, to); err != nil {
			return err
		}
		j.PickupLocationID, j.PickedUpAt = to, nil
	}
	if err := write(); err != nil {
		return err
	}
	if to == nil && j.PickupLocationID != nil && j.PickedUpAt == nil {
		if err := st.SetJobPickup(ctx, j.ID, nil); err != nil {
			return err
		}
		j.PickupLocationID = nil
	}
	return nil
}
