package parts

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// AddFault adds a common fault of an appliance category and a part it needs (admin).
func (s *Service) AddFault(ctx context.Context, a dispatch.Actor, f Fault) (Fault, error) {
	if a.Role != dispatch.RoleAdmin {
		return Fault{}, dispatch.Forbidden("common faults are kept by admins")
	}
	f.Category, f.Fault, f.SKU = strings.TrimSpace(f.Category), strings.TrimSpace(f.Fault), strings.TrimSpace(f.SKU)
	switch {
	case !slices.Contains(dispatch.Appliances(), f.Category):
		return Fault{}, dispatch.Invalid("category", "unknown_appliance", "unknown appliance %q; one of: %s", f.Category, strings.Join(dispatch.Appliances(), ", "))
	case f.Fault == "" || utf8.RuneCountInString(f.Fault) > 200:
		return Fault{}, dispatch.Invalid("fault", "invalid_fault", "fault is the words a problem mentions, 1 to 200 characters")
	case f.Quantity == 0:
		f.Quantity = 1
	case f.Quantity < 0 || f.Quantity > 100:
		return Fault{}, dispatch.Invalid("quantity", "invalid_quantity", "quantity is 1 to 100")
	}
	var out Fault
	err := s.Store.Tx(ctx, func(st Store) error {
		ps, err := st.PartsBySKU(ctx, []string{f.SKU})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return dispatch.Invalid("sku", "unknown_sku", "%q is not in the catalogue", f.SKU)
		}
		f.CreatedAt, f.Name = s.Now(), ps[0].Name
		if out, err = st.AddFault(ctx, f); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: f.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "part_fault", EntityID: out.ID,
			Action: "part_fault_added", Data: map[string]any{"category": f.Category, "fault": f.Fault, "sku": f.SKU, "quantity": f.Quantity}})
	})
	return out, err
}

// ListFaults lists the common faults (staff and technicians), of one category or all.
func (s *Service) ListFaults(ctx context.Context, a dispatch.Actor, category string) ([]Fault, error) {
	if a.Role == dispatch.RoleCustomer {
		return nil, dispatch.Forbidden("common faults are for staff and technicians")
	}
	return s.Store.Faults(ctx, category)
}

// DeleteFault removes a common fault (admin).
func (s *Service) DeleteFault(ctx context.Context, a dispatch.Actor, id int64) error {
	if a.Role != dispatch.RoleAdmin {
		return dispatch.Forbidden("common faults are kept by admins")
	}
	return s.Store.Tx(ctx, func(st Store) error {
		ok, err := st.DeleteFault(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return dispatch.NotFound("part_fault", id)
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "part_fault", EntityID: id, Action: "part_fault_deleted"})
	})
}

// JobPartsView is what job jobID requires, and the parts its booking's problem suggests (the
// faults of its appliance the problem mentions), less those already required: for its technician
// and staff.
func (s *Service) JobPartsView(ctx context.Context, a dispatch.Actor, jobID int64) ([]Required, []Fault, error) {
	if !a.Staff() && a.Role != dispatch.RoleTechnician {
		return nil, nil, dispatch.Forbidden("a job's parts are for dispatchers and its technician")
	}
	var (
		req     []Required
		suggest []Fault
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		j, err := st.GetJob(ctx, jobID)
		if err != nil {
			return err
		}
		if a.Role == dispatch.RoleTechnician {
			t, err := st.TechnicianBySubject(ctx, a.Subject)
			if err != nil || j.TechnicianID == nil || *j.TechnicianID != t.ID {
				return dispatch.NotFound("job", jobID)
			}
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return err
		}
		if req, err = st.JobParts(ctx, jobID); err != nil {
			return err
		}
		fs, err := st.FaultsFor(ctx, b.Appliance, b.Problem)
		if err != nil {
			return err
		}
		for _, f := range fs {
			required := slices.ContainsFunc(req, func(r Required) bool { return r.SKU == f.SKU })
			seen := slices.ContainsFunc(suggest, func(g Fault) bool { return g.SKU == f.SKU })
			if !required && !seen {
				suggest = append(suggest, f)
			}
		}
		return nil
	})
	return req, suggest, err
}
