package parts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Requests keeps the part requests.
type Requests interface {
	InsertRequest(ctx context.Context, r Request) (Request, error)
	// GetRequest reads a request; lock holds its row until the transaction ends.
	GetRequest(ctx context.Context, id int64, lock bool) (Request, error)
	// SaveRequest writes r's state, dates, destination and reference (a conflict when it is no
	// longer at r.Version).
	SaveRequest(ctx context.Context, r Request) (Request, error)
	ListRequests(ctx context.Context, f RequestFilter) ([]Request, error)
	// NearestWarehouse is the warehouse nearest to near that has quantity of sku available; nil when none has.
	NearestWarehouse(ctx context.Context, sku string, quantity int, near dispatch.Location) (*Location, error)
	SetJobNotBefore(ctx context.Context, jobID int64, at *time.Time) error
	SetSupplierDeferred(ctx context.Context, bookingID int64, deferred bool) error
}

// Request states: requested (to be ordered from the supplier), ordered (from the supplier or a
// warehouse, expected at ExpectedAt), arrived (in the destination van), fitted (the visit that
// needed it used it), cancelled.
const (
	RequestRequested = "requested"
	RequestOrdered   = "ordered"
	RequestArrived   = "arrived"
	RequestFitted    = "fitted"
	RequestCancelled = "cancelled"
)

// Request sources.
const (
	FromWarehouse = "warehouse"
	FromSupplier  = "supplier"
)

// Request is a part on its way to the van of the technician of the job that needs it.
type Request struct {
	ID, BookingID   int64
	JobID           int64  // the visit that will fit it
	ReportedOnJobID *int64 // the incomplete visit that found it missing
	SKU             string
	Quantity        int
	State, Source   string
	From            *int64 // the warehouse it comes from
	To              int64  // where it arrives: a van
	ExpectedAt      time.Time
	ArrivedAt       *time.Time
	SupplierRef     string
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int
}

// RequestFilter narrows the list of requests.
type RequestFilter struct {
	State      string
	BookingID  *int64
	JobID      *int64
	ToLocation *int64
	dispatch.Page
}

// Lead times of a part request when nobody says better: from a warehouse (the technician picks
// it up or it is sent the same day), from the supplier.
var (
	WarehouseLead = 4 * time.Hour
	SupplierLead  = 72 * time.Hour
)

// open opens a request for quantity of sku, for job j of booking b: from the warehouse nearest to
// the address that has it, else from the supplier (expected: expected, or the lead time), to the
// van of the job's technician (tech). It holds the job back until the part's arrival.
func (s *Service) open(ctx context.Context, st Store, a dispatch.Actor, b dispatch.Booking, j *dispatch.Job, tech int64, reportedOn *int64,
	sku string, quantity int, expected *time.Time) (Request, error) {
	known, err := st.PartsBySKU(ctx, []string{sku})
	if err != nil {
		return Request{}, err
	}
	if len(known) == 0 {
		return Request{}, dispatch.Invalid("sku", "unknown_sku", "%q is not in the catalogue", sku)
	}
	van, err := st.Van(ctx, tech, s.Now())
	if err != nil {
		return Request{}, err
	}
	now := s.Now()
	r := Request{BookingID: b.ID, JobID: j.ID, ReportedOnJobID: reportedOn, SKU: sku, Quantity: quantity, State: RequestRequested,
		Source: FromSupplier, To: van.ID, ExpectedAt: now.Add(SupplierLead), CreatedBy: a.Subject, CreatedAt: now, UpdatedAt: now}
	wh, err := st.NearestWarehouse(ctx, sku, quantity, b.Location)
	if err != nil {
		return Request{}, err
	}
	if wh != nil {
		r.Source, r.From, r.State, r.ExpectedAt = FromWarehouse, &wh.ID, RequestOrdered, now.Add(WarehouseLead)
	}
	if expected != nil {
		r.ExpectedAt = *expected
	}
	if r, err = st.InsertRequest(ctx, r); err != nil {
		return Request{}, err
	}
	if j.NotBefore == nil || j.NotBefore.Before(r.ExpectedAt) {
		j.NotBefore = &r.ExpectedAt
		if err := st.SetJobNotBefore(ctx, j.ID, j.NotBefore); err != nil {
			return Request{}, err
		}
	}
	return r, st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "part_request", EntityID: r.ID,
		Action: "part_requested", ToStatus: r.State, Data: map[string]any{"booking_id": b.ID, "job_id": j.ID, "sku": sku, "quantity": quantity,
			"source": r.Source, "expected_at": r.ExpectedAt}})
}

// RevisitCreated opens the part requests of a visit that ended incomplete for want of parts, and
// holds its return visit back until the last of them arrives (lifecycle's RevisitHook).
func (s *Service) RevisitCreated(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport, next *dispatch.Job) error {
	if len(r.Update.NeededParts) == 0 || r.Job.TechnicianID == nil {
		return nil
	}
	st := s.Store.Join(tx)
	for _, p := range r.Update.NeededParts {
		if _, err := s.open(ctx, st, r.Actor, *r.Booking, next, *r.Job.TechnicianID, &r.Job.ID, strings.TrimSpace(p.SKU), p.Quantity, nil); err != nil {
			return err
		}
	}
	return nil
}

// RevisitPlanned sends the parts to the van of the technician the return visit went to, marks
// the booking supplier-deferred when the parts arrive too late for its SLA, and tells the customer
// when the part is expected and the new window.
func (s *Service) RevisitPlanned(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport, next dispatch.Job) error {
	if len(r.Update.NeededParts) == 0 || r.Job.TechnicianID == nil {
		return nil
	}
	st := s.Store.Join(tx)
	return s.followRevisit(ctx, st, *r.Booking, next, true)
}

// followRevisit brings job j's open requests to its technician's van, recomputes whether its
// booking is supplier-deferred, and (tell) tells the customer the part's date and the window.
func (s *Service) followRevisit(ctx context.Context, st Store, b dispatch.Booking, j dispatch.Job, tell bool) error {
	reqs, err := st.ListRequests(ctx, RequestFilter{JobID: &j.ID, Page: dispatch.Page{Limit: 200}})
	if err != nil {
		return err
	}
	var latest time.Time
	for _, rq := range reqs {
		if rq.State != RequestRequested && rq.State != RequestOrdered {
			continue
		}
		latest = planning.Later(latest, rq.ExpectedAt)
		if j.TechnicianID == nil {
			continue
		}
		van, err := st.Van(ctx, *j.TechnicianID, s.Now())
		if err != nil {
			return err
		}
		if van.ID != rq.To {
			rq.To, rq.UpdatedAt = van.ID, s.Now()
			if _, err := st.SaveRequest(ctx, rq); err != nil {
				return err
			}
		}
	}
	if latest.IsZero() {
		return nil
	}
	// The part decides: it comes after the due time, and the visit cannot be kept inside it.
	deferred := latest.After(b.SLADueAt) && (j.PlannedStart == nil || j.PlannedStart.After(b.SLADueAt))
	if err := st.SetSupplierDeferred(ctx, b.ID, deferred); err != nil {
		return err
	}
	if !tell {
		return nil
	}
	loc := s.Rules.Zone()
	body := fmt.Sprintf("The part for your %s is expected on %s. ", b.Appliance, latest.In(loc).Format("Mon 2 Jan"))
	if j.PlannedStart != nil {
		body += "Your technician comes back " + dispatch.TellWindow(dispatch.PromisedWindow(*j.PlannedStart, loc), loc) + "."
	} else {
		body += "We will tell you the time of your next visit as soon as it is planned."
	}
	return s.Env.TellCustomer(ctx, st, b, j, "revisit_planned", "Your return visit", body, map[string]any{"part_expected_at": latest})
}

// RequestPatch changes a request: its state (ordered, arrived, cancelled), expected date and supplier reference.
type RequestPatch struct {
	State       string
	ExpectedAt  *time.Time
	SupplierRef *string
	Version     int
}

// UpdateRequest moves a part request on (staff): ordered from the supplier with an expected date;
// a new expected date (the return visit planned again when it was planned before it, the customer
// told); arrived (the part moved into the destination van on the ledger, added to the job's
// required parts and reserved there); or cancelled.
func (s *Service) UpdateRequest(ctx context.Context, a dispatch.Actor, id int64, p RequestPatch) (Request, error) {
	if !a.Staff() {
		return Request{}, dispatch.Forbidden("part requests are moved on by staff")
	}
	if p.SupplierRef != nil && utf8.RuneCountInString(*p.SupplierRef) > 200 {
		return Request{}, dispatch.Invalid("supplier_ref", "too_long", "supplier_ref is at most 200 characters")
	}
	if p.State != "" && !slices.Contains([]string{RequestOrdered, RequestArrived, RequestCancelled}, p.State) {
		return Request{}, dispatch.Invalid("state", "invalid_state", "state moves to ordered, arrived or cancelled (fitted follows the visit)")
	}
	var out Request
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		r, err := st.GetRequest(ctx, id, true)
		if err != nil {
			return err
		}
		if err := dispatch.CheckVersion("part request", id, r.Version, p.Version); err != nil {
			return err
		}
		open := r.State == RequestRequested || r.State == RequestOrdered
		if !open && (p.State != "" || p.ExpectedAt != nil) {
			return dispatch.Conflict("request_closed", "part request %d is %s", id, r.State)
		}
		if p.State == RequestOrdered && r.State != RequestRequested {
			return dispatch.Conflict("invalid_transition", "part request %d is %s already", id, r.State)
		}
		from, now := r.State, s.Now()
		if p.SupplierRef != nil {
			r.SupplierRef = strings.TrimSpace(*p.SupplierRef)
		}
		if p.ExpectedAt != nil {
			r.ExpectedAt = p.ExpectedAt.UTC()
		}
		if p.State != "" {
			r.State = p.State
		}
		r.UpdatedAt = now
		if r.State == RequestArrived {
			r.ArrivedAt = &now
			if err := s.arrive(ctx, st, a, r); err != nil {
				return err
			}
		}
		if out, err = st.SaveRequest(ctx, r); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "part_request", EntityID: id,
			Action: "part_request_" + r.State, FromStatus: from, ToStatus: r.State, Data: map[string]any{"booking_id": r.BookingID, "job_id": r.JobID,
				"expected_at": r.ExpectedAt}}); err != nil {
			return err
		}
		if p.ExpectedAt != nil && r.State != RequestArrived {
			return s.waitFor(ctx, st, a, r)
		}
		return nil
	})
	return out, err
}

// arrive moves the part into its destination van on the ledger (received from the supplier, or
// transferred from its warehouse), requires it on the job, and reserves it there (or plans the job
// again on the van that now holds it).
func (s *Service) arrive(ctx context.Context, st Store, a dispatch.Actor, r Request) error {
	m := Move{Kind: MoveReceive, SKU: r.SKU, Quantity: r.Quantity, To: &r.To, Note: fmt.Sprintf("part request %d", r.ID), Actor: a, At: s.Now()}
	if r.Source == FromWarehouse {
		m.Kind, m.From = MoveTransfer, r.From
	}
	if _, err := s.appendMove(ctx, st, m); err != nil {
		return err
	}
	j, err := st.LockJob(ctx, r.JobID)
	if err != nil || !j.Live() {
		return err
	}
	req, err := st.JobParts(ctx, j.ID)
	if err != nil {
		return err
	}
	lines := []dispatch.Part{{SKU: r.SKU, Quantity: r.Quantity}}
	for _, q := range req {
		if q.SKU == r.SKU {
			lines[0].Quantity += q.Quantity
		} else {
			lines = append(lines, dispatch.Part{SKU: q.SKU, Quantity: q.Quantity})
		}
	}
	if err := st.SetJobParts(ctx, j.ID, lines); err != nil {
		return err
	}
	if j.NotBefore != nil && j.NotBefore.After(s.Now()) {
		// arrived early: the visit may be brought forward by the next planning, not before now
		now := s.Now()
		if err := st.SetJobNotBefore(ctx, j.ID, &now); err != nil {
			return err
		}
	}
	_, err = s.followParts(ctx, st, a, j)
	return err
}

// waitFor holds r's job back until r's new expected date: planned again when it was planned
// before it (the customer is told the new window), its booking's supplier deferral recomputed.
func (s *Service) waitFor(ctx context.Context, st Store, a dispatch.Actor, r Request) error {
	j, err := st.LockJob(ctx, r.JobID)
	if err != nil || !j.Live() || j.Started() {
		return err
	}
	j.NotBefore = &r.ExpectedAt
	if err := st.SetJobNotBefore(ctx, j.ID, j.NotBefore); err != nil {
		return err
	}
	if j.PlannedStart != nil && j.PlannedStart.Before(r.ExpectedAt) {
		if j, err = s.replan(ctx, st, a, j, "waits for a part expected "+r.ExpectedAt.In(s.Rules.Zone()).Format("Mon 2 Jan 15:04")); err != nil {
			return err
		}
	}
	b, err := st.GetBooking(ctx, j.BookingID)
	if err != nil {
		return err
	}
	return s.followRevisit(ctx, st, b, j, false)
}

// PartRequests lists part requests (staff; a technician those on their way to their van).
func (s *Service) PartRequests(ctx context.Context, a dispatch.Actor, f RequestFilter) ([]Request, error) {
	if f.State != "" && !slices.Contains([]string{RequestRequested, RequestOrdered, RequestArrived, RequestFitted, RequestCancelled}, f.State) {
		return nil, dispatch.Invalid("state", "invalid_state", "state is requested, ordered, arrived, fitted or cancelled")
	}
	f.Page = f.Page.Norm()
	switch {
	case a.Staff():
	case a.Role == dispatch.RoleTechnician:
		var van Location
		err := s.Store.Tx(ctx, func(st Store) error {
			var err error
			van, err = s.Locate(ctx, st, a, "me")
			return err
		})
		if err != nil {
			return nil, err
		}
		f.ToLocation = &van.ID
	default:
		return nil, dispatch.Forbidden("part requests are for staff and technicians")
	}
	return s.Store.ListRequests(ctx, f)
}

// RequestPart opens a part request for a job by hand (a dispatcher, or the job's technician): the
// part comes to the van of the job's technician, and the job waits for it when planned before.
func (s *Service) RequestPart(ctx context.Context, a dispatch.Actor, jobID int64, sku string, quantity int, expected *time.Time) (Request, error) {
	if !a.Staff() && a.Role != dispatch.RoleTechnician {
		return Request{}, dispatch.Forbidden("parts are requested by dispatchers and technicians")
	}
	if quantity < 1 || quantity > 1000 {
		return Request{}, dispatch.Invalid("quantity", "invalid_quantity", "quantity is 1 to 1000")
	}
	var out Request
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		j, err := s.lockLiveJob(ctx, st, a, jobID)
		if err != nil {
			return err
		}
		if j.TechnicianID == nil {
			return dispatch.Conflict("job_unassigned", "job %d has no technician: a part goes to the van of the technician who fits it", j.ID)
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return err
		}
		if out, err = s.open(ctx, st, a, b, &j, *j.TechnicianID, nil, strings.TrimSpace(sku), quantity, expected); err != nil {
			return err
		}
		return s.waitFor(ctx, st, a, out)
	})
	return out, err
}

// fitted closes the arrived requests of a job whose visit completed.
func (s *Service) fitted(ctx context.Context, st Store, j dispatch.Job, at time.Time) error {
	reqs, err := st.ListRequests(ctx, RequestFilter{JobID: &j.ID, State: RequestArrived, Page: dispatch.Page{Limit: 200}})
	if err != nil {
		return err
	}
	for _, r := range reqs {
		r.State, r.UpdatedAt = RequestFitted, at
		if _, err := st.SaveRequest(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
