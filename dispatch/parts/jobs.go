package parts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// JobParts keeps the parts jobs require and what they hold of their technician's van.
type JobParts interface {
	// SetJobParts replaces the parts job jobID requires.
	SetJobParts(ctx context.Context, jobID int64, ps []dispatch.Part) error
	// JobParts are the parts the job requires, each with the location holding it for the job (if any).
	JobParts(ctx context.Context, jobID int64) ([]Required, error)
	// ReserveJobParts moves the job's reservations to its technician's van (parts_unavailable
	// when the van does not hold them); ReleaseJobParts drops them.
	ReserveJobParts(ctx context.Context, jobID int64) error
	ReleaseJobParts(ctx context.Context, jobID int64) error
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	// PickUpJobParts moves the parts job jobID holds at its pick-up warehouse to its technician's
	// van (transfers in the ledger) and reserves them there; false when there was none to make.
	PickUpJobParts(ctx context.Context, jobID int64, a dispatch.Actor, at time.Time) (bool, error)
}

// Required is a part a job requires, and where it is reserved for it.
type Required struct {
	dispatch.Part
	ReservedAt *int64 // the location (the technician's van) holding it for the job; nil: not reserved
}

// MaxRequired bounds the parts a job requires.
const MaxRequired = 100

// SetRequiredParts sets the parts job jobID requires (a dispatcher, or the job's technician) and
// follows them through the plan in one transaction: a job assigned (not started) to a technician
// whose van holds them reserves them there; one whose van does not is planned again, on a van that
// holds them, or waits unassigned with the reason parts_unavailable.
func (s *Service) SetRequiredParts(ctx context.Context, a dispatch.Actor, jobID int64, lines []dispatch.Part) (dispatch.Job, []Required, error) {
	if !a.Staff() && a.Role != dispatch.RoleTechnician {
		return dispatch.Job{}, nil, dispatch.Forbidden("a job's parts are set by dispatchers and its technician")
	}
	if len(lines) > MaxRequired {
		return dispatch.Job{}, nil, dispatch.Invalid("parts", "too_many_parts", "a job requires at most %d parts", MaxRequired)
	}
	var (
		want []dispatch.Part
		skus []string
	)
	for i, l := range lines {
		l.SKU = strings.TrimSpace(l.SKU)
		if l.Quantity < 1 || l.Quantity > 1000 || l.SKU == "" {
			return dispatch.Job{}, nil, dispatch.Invalid("parts", "invalid_part", "parts[%d] needs a sku and a quantity between 1 and 1000", i)
		}
		if slices.Contains(skus, l.SKU) {
			return dispatch.Job{}, nil, dispatch.Invalid("parts", "duplicate_sku", "parts[%d]: %s is listed twice; give its total quantity once", i, l.SKU)
		}
		skus = append(skus, l.SKU)
		want = append(want, dispatch.Part{SKU: l.SKU, Quantity: l.Quantity})
	}
	var (
		job dispatch.Job
		req []Required
	)
	err := planning.Retry(ctx, s.Store.Tx, func(st Store) error {
		known, err := st.PartsBySKU(ctx, skus)
		if err != nil {
			return err
		}
		if len(known) != len(skus) {
			for _, sku := range skus {
				if !slices.ContainsFunc(known, func(p Part) bool { return p.SKU == sku }) {
					return dispatch.Invalid("parts", "unknown_sku", "%q is not in the catalogue", sku)
				}
			}
		}
		j, err := s.lockLiveJob(ctx, st, a, jobID)
		if err != nil {
			return err
		}
		if err := st.SetJobParts(ctx, j.ID, want); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: j.ID,
			Action: "parts_required", Data: map[string]any{"booking_id": j.BookingID, "parts": want}}); err != nil {
			return err
		}
		if job, err = s.followParts(ctx, st, a, j); err != nil {
			return err
		}
		req, err = st.JobParts(ctx, j.ID)
		return err
	})
	return job, req, err
}

// followParts reserves the parts of job j in its technician's van, or plans j again when that van
// does not hold them; a visit under way keeps its technician (the parts it lacks are the
// technician's to fetch, or a part request's).
func (s *Service) followParts(ctx context.Context, st Store, a dispatch.Actor, j dispatch.Job) (dispatch.Job, error) {
	if j.TechnicianID == nil || j.Started() {
		return j, nil
	}
	holders, needs, err := st.VansHolding(ctx, j.ID, []int64{*j.TechnicianID})
	if err != nil {
		return j, err
	}
	if !needs || slices.Contains(holders, *j.TechnicianID) {
		return j, st.ReserveJobParts(ctx, j.ID)
	}
	if j.PickupPending() { // still on its way past a warehouse: it stays if that one holds them
		whs, err := st.WarehousesHolding(ctx, j.ID)
		if err != nil {
			return j, err
		}
		if slices.ContainsFunc(whs, func(w planning.Warehouse) bool { return w.ID == *j.PickupLocationID }) {
			return j, st.ReserveJobParts(ctx, j.ID)
		}
	}
	// Planned again among every candidate: when its own technician is still the best, past a
	// warehouse, it stays theirs (offer or acceptance kept) at its new time, not withdrawn and
	// offered to them again.
	b, err := st.GetBooking(ctx, j.BookingID)
	if err != nil {
		return j, err
	}
	refused, err := st.RefusedTechnicians(ctx, j.ID)
	if err != nil {
		return j, err
	}
	p, _, err := s.Offers.Planner.Plan(ctx, st, b, j, refused, false)
	if err != nil {
		return j, err
	}
	if p != nil && p.Pickup != nil && p.TechnicianID == *j.TechnicianID && !j.Pinned {
		before := j
		j.PlannedStart, j.PlannedEnd, j.UpdatedAt = &p.Start, &p.End, s.Now()
		if err := planning.WritePlaced(ctx, st, &j, p, func() error {
			saved, err := st.UpdateJob(ctx, j)
			j.Version = saved.Version
			return err
		}); err != nil {
			return j, err
		}
		if err := st.AddAudit(ctx, offers.PlanAudit(a, s.Now(), b.ID, j.ID, j.Status, p, planning.Reason{})); err != nil {
			return j, err
		}
		return j, s.Env.TellMoved(ctx, st, b, before, j)
	}
	return s.replan(ctx, st, a, j, "needs parts your van does not hold")
}

// replan plans job j again (its offer withdrawn, its technician told why), as offers does after a decline.
func (s *Service) replan(ctx context.Context, st Store, a dispatch.Actor, j dispatch.Job, why string) (dispatch.Job, error) {
	if err := s.Offers.Withdraw(ctx, st, j, why); err != nil {
		return j, err
	}
	if err := s.Env.TellTechnician(ctx, st, j.TechnicianID, j, "cancellation", "Visit planned again",
		fmt.Sprintf("Visit %s %s: it is planned again.", j.Reference(), why)); err != nil {
		return j, err
	}
	j.AcceptedAt = nil
	return s.Offers.Redispatch(ctx, st, a, j)
}

// lockLiveJob locks a job that has not ended, for staff or its own technician (another's is not found).
func (s *Service) lockLiveJob(ctx context.Context, st Store, a dispatch.Actor, jobID int64) (dispatch.Job, error) {
	j, err := st.LockJob(ctx, jobID)
	if err != nil {
		return j, err
	}
	if a.Role == dispatch.RoleTechnician {
		t, err := st.TechnicianBySubject(ctx, a.Subject)
		if err != nil || j.TechnicianID == nil || *j.TechnicianID != t.ID {
			return j, dispatch.NotFound("job", jobID)
		}
	}
	if !j.Live() {
		return j, dispatch.Conflict("visit_over", "job %d is %s: its parts are set before the visit ends", j.ID, j.Status)
	}
	return j, nil
}

// PickUp records that the job's technician collected its parts at the warehouse its route passes
// first (a pick-up stop): in one transaction the reservation there is released, the parts move to
// the van as transfers in the ledger, and the van holds them for the visit. The job's technician
// (or a dispatcher) does it once the visit is accepted and before it ends; a second time, or for a
// job with no pick-up, is 409 no_pickup.
func (s *Service) PickUp(ctx context.Context, a dispatch.Actor, jobID int64) (dispatch.Job, []Required, error) {
	if !a.Staff() && a.Role != dispatch.RoleTechnician {
		return dispatch.Job{}, nil, dispatch.Forbidden("parts are picked up by the job's technician or a dispatcher")
	}
	var (
		job dispatch.Job
		req []Required
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		j, err := s.lockLiveJob(ctx, st, a, jobID)
		if err != nil {
			return err
		}
		if !j.PickupPending() || j.TechnicianID == nil {
			return dispatch.Conflict("no_pickup", "job %d has no pick-up to make: its parts are in the van or it needs none", j.ID)
		}
		if j.Status != dispatch.JobAccepted && j.Status != dispatch.JobEnRoute && j.Status != dispatch.JobOnSite {
			return dispatch.Conflict("not_accepted", "job %d is %s: its parts are picked up once the visit is accepted", j.ID, j.Status)
		}
		now := s.Now()
		ok, err := st.PickUpJobParts(ctx, j.ID, a, now)
		if err != nil {
			return err
		}
		if !ok {
			return dispatch.Conflict("no_pickup", "job %d has no pick-up to make", j.ID)
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: j.ID,
			Action: "parts_picked_up", Data: map[string]any{"booking_id": j.BookingID, "location_id": *j.PickupLocationID}}); err != nil {
			return err
		}
		if job, err = st.GetJob(ctx, j.ID); err != nil {
			return err
		}
		req, err = st.JobParts(ctx, j.ID)
		return err
	})
	return job, req, err
}
