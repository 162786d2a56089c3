// Package planning owns where and when a job goes: candidates (geo index or a scan), their plans
// (plan cache), this process's picks, the online insertion into route gaps. Areas plan through it.
package planning

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/geo"
)

// Store is what planning reads: the candidates and their plans, and the technicians for the geo
// index. AfterTx tells a pick whether its transaction committed.
type Store interface {
	// AfterTx calls fn once the transaction this store is bound to has ended (committed or not);
	// outside a transaction, at once with true.
	AfterTx(fn func(committed bool))
	// CandidateTechnicians are the active technicians with every skill.
	CandidateTechnicians(ctx context.Context, skills []string) ([]dispatch.Technician, error)
	TechniciansByIDs(ctx context.Context, ids []int64) ([]dispatch.Technician, error)
	// ChangedPlans reads, in one round trip, the plans of those technicians among ids whose plan
	// version differs from known (same order; -1: none held): each with its live jobs ending after
	// stopsFrom and its time off ending after offFrom.
	ChangedPlans(ctx context.Context, ids, known []int64, stopsFrom, offFrom time.Time) ([]PlanRead, error)
	// RouteStops are the live jobs of several technicians overlapping [from, to), by technician and start.
	RouteStops(ctx context.Context, techIDs []int64, from, to time.Time) ([]Stop, error)
	TimeOffOf(ctx context.Context, techIDs []int64, from, to time.Time) (map[int64][]dispatch.Window, error)
	ListTechnicians(ctx context.Context, page dispatch.Page) ([]dispatch.Technician, error)
	GetTechnician(ctx context.Context, id int64) (dispatch.Technician, error)
	PartsStock
}

// PartsStock is what planning asks of the parts' stock (issue 25): a job that requires parts goes
// only to a technician whose van holds them.
type PartsStock interface {
	// VansHolding are those of techIDs whose van holds every part job jobID requires, beyond what
	// other jobs reserved there; needs is false when the job requires none (holders then nil).
	VansHolding(ctx context.Context, jobID int64, techIDs []int64) (holders []int64, needs bool, err error)
	// WarehousesHolding are the warehouses holding every part job jobID requires beyond what
	// other jobs reserved there: where its technician can pick them up.
	WarehousesHolding(ctx context.Context, jobID int64) ([]Warehouse, error)
	// SetJobPickup names the warehouse job jobID's technician passes first (nil: none); its
	// parts' reservation follows in the same transaction.
	SetJobPickup(ctx context.Context, jobID int64, locationID *int64) error
	// WarehousesByIDs are those stock locations, with their names and points (a van has none).
	WarehousesByIDs(ctx context.Context, ids []int64) ([]Warehouse, error)
}

// Planner decides where and when a job goes: the candidates (the geo index, or a scan), the plans
// they already have (read, or from the plan cache), this process's picks not yet committed, and
// the online insertion into the gaps of their routes.
type Planner struct {
	Env    *dispatch.Env
	Store  Store
	Config Config
	Travel geo.TravelModel
	Index  *geo.Index // technicians by place; nil: candidates come from a database scan
	// Matrix gives the routing engine's times (OSRM, FIELDFIX_OSRM_URL) to the insertion; nil:
	// the travel model alone.
	Matrix *geo.MatrixBuilder

	pending *reservations // this process's picks not yet seen committed
	cache   *planCache    // the candidates' plans as last read
	// booking counts the bookings being placed: background solves yield to them.
	booking *atomic.Int64
}

// NewPlanner is a planner with the default configuration and travel model, no index or matrix.
func NewPlanner(store Store, env *dispatch.Env) *Planner {
	return &Planner{Env: env, Store: store, Config: DefaultConfig(), Travel: geo.DefaultTravelModel(),
		pending: newReservations(), cache: newPlanCache(), booking: new(atomic.Int64)}
}

// YieldToBookings is the background work's yield (the scheduled re-optimisation's, called before
// each job it reads, each solver iteration and each group it writes; the SLA watchdog's, before
// each job it rescues): while bookings are being placed it waits, up
// to backgroundPause each time, so that work in the background does not take the cores (or the
// database) a customer's booking is waiting for; with none in flight it returns at once.
func (p *Planner) YieldToBookings() {
	for waited := time.Duration(0); waited < backgroundPause && p.booking.Load() > 0; waited += backgroundPoll {
		time.Sleep(backgroundPoll)
	}
}

// backgroundPause bounds the wait of one solver iteration for bookings in flight: under a
// steady stream the solve still moves, at up to 200 iterations a second.
const backgroundPause, backgroundPoll = 5 * time.Millisecond, 250 * time.Microsecond

// Placing marks a booking being placed until done is called: background solves yield to it.
func (p *Planner) Placing() (done func()) {
	p.booking.Add(1)
	return func() { p.booking.Add(-1) }
}

// IndexTechnician puts t, as it is at now, in the geo index (when there is one).
func (p *Planner) IndexTechnician(t dispatch.Technician, now time.Time) {
	if p.Index != nil {
		_ = p.Index.Upsert(indexEntry(t, p.StartPosition(t, now)))
	}
}

// Candidates are the technicians who may take booking b's job, nearest first, leaving out those
// excluded (no reason is given when there are none).
func (p *Planner) Candidates(ctx context.Context, st Store, b dispatch.Booking, exclude []int64) ([]dispatch.Technician, error) {
	ts, _, _, err := p.candidates(ctx, st, b, exclude, time.Time{}, false)
	return ts, err
}

// Retry runs fn in a transaction (tx) that plans a job on the routes it reads (re-dispatch, the
// watchdog's rescue, a rescheduled or next visit, a manual assignment). Those reads take no lock:
// a booking (or another replica) may take the chosen gap between the read and the write, and
// PostgreSQL's no-overlap constraint then refuses the write. The transaction is rolled back and
// run again, on routes read afresh, up to three more times. fn must start from scratch each time.
func Retry[S any](ctx context.Context, tx func(context.Context, func(S) error) error, fn func(S) error) error {
	for attempt := 0; ; attempt++ {
		err := tx(ctx, fn)
		if attempt < 3 && dispatch.LostRace(err) {
			continue
		}
		return err
	}
}

// Stop is a job on a technician's route, as the planner needs it.
type Stop struct {
	JobID, BookingID, TechnicianID int64
	Status                         dispatch.JobStatus
	Start, End                     time.Time
	Pinned, PinnedStart            bool
	Location                       dispatch.Location
	Duration                       time.Duration
	// Via is the warehouse the technician passes before this visit to collect its parts (a
	// pick-up not yet made; nil: none). loadRoutes puts the pick-up in the route as a stop of
	// its own before the visit (Pickup set, same JobID), so that nothing is planned in its time.
	Via    *dispatch.Location
	Pickup bool
}
