package proof

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch"
)

// VisitReported is proof of work's rule on a visit's report (lifecycle calls it in the report's
// transaction): on site, the visit has its checklist and, where the business takes codes, the
// customer gets an acceptance code; completed, the checklist's required items must be answered
// (409 checklist_incomplete, naming them) and the sign-off the business needs given
// (409 signoff_missing), and the customer is sent the service report.
func (s *Service) VisitReported(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport) error {
	switch r.Update.Status {
	case dispatch.JobOnSite, dispatch.JobCompleted:
	default:
		return nil
	}
	st := s.Store.Join(tx)
	v := visit{Job: r.Job, Booking: *r.Booking}
	c, err := s.checklistOf(ctx, st, v)
	if err != nil {
		return err
	}
	if r.Update.Status == dispatch.JobOnSite {
		return s.arrived(ctx, st, v)
	}
	if missing := c.Missing(); len(missing) > 0 {
		e := dispatch.Conflict("checklist_incomplete", "the visit's checklist misses %d required answer(s): %v", len(missing), missing).(*dispatch.Error)
		e.Extra = map[string]any{"missing": missing}
		return e
	}
	return s.completed(ctx, st, v)
}
