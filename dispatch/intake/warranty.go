package intake

import (
	"context"
	"fmt"

	"github.com/fieldfix/fieldfix/dispatch"
)

// VisitReported takes the technician's word on the booking's unverified warranty (lifecycle calls
// it on each report, in the report's transaction), when it has one and the report carries the word
// or ends the visit: the proof shown, the warranty stands and the purchase is verified; not shown,
// or the visit over without it, the booking becomes paid, with the paid due time (its SLA and KPIs
// are the paid ones), and the customer is told.
func (s *Service) VisitReported(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport) error {
	a, b, j, u, now := r.Actor, r.Booking, r.Job, r.Update, r.At
	if b.Tier != dispatch.TierWarranty || b.WarrantyVerified == nil || *b.WarrantyVerified {
		return nil
	}
	shown := u.ProofOfPurchase != nil && *u.ProofOfPurchase
	if !shown && u.ProofOfPurchase == nil && u.Status != dispatch.JobCompleted && u.Status != dispatch.JobIncomplete {
		return nil // on site, not yet said
	}
	st := s.Store.Join(tx)
	e := dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "booking", EntityID: b.ID,
		FromStatus: string(dispatch.TierWarranty), Data: map[string]any{"booking_id": b.ID, "job_id": j.ID, "purchase_id": b.PurchaseID}}
	if shown {
		b.WarrantyVerified = new(true)
		if b.PurchaseID != nil {
			if err := st.VerifyPurchase(ctx, *b.PurchaseID); err != nil {
				return err
			}
		}
		e.Action, e.ToStatus, e.Reason = "warranty_confirmed", string(dispatch.TierWarranty), "proof of purchase shown on site"
	} else {
		b.Tier, b.SLADueAt = dispatch.TierPaid, s.Rules.SLADueAt(dispatch.TierPaid, b.CreatedAt)
		b.CustomerDeferred = deferredByCustomer(b.PreferredWindows, b.SLADueAt)
		e.Action, e.ToStatus, e.Reason = "tier_changed", string(dispatch.TierPaid), "proof of purchase not shown on site"
		e.Data["sla_due_at"] = b.SLADueAt
	}
	if err := st.SetBookingTier(ctx, *b, now); err != nil {
		return err
	}
	if err := st.AddAudit(ctx, e); err != nil {
		return err
	}
	if shown {
		return nil
	}
	return s.Env.TellCustomer(ctx, st, *b, j, "tier_changed", "Your repair is not under warranty",
		fmt.Sprintf("No proof of purchase was shown for your %s, so the visit is charged as a paid repair.", b.Appliance),
		map[string]any{"tier": dispatch.TierPaid})
}
