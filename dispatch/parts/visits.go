package parts

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch"
)

// VisitReported takes the parts a visit used out of its technician's van (lifecycle calls it on
// each report, in the report's transaction): each line of parts_used whose SKU the catalogue knows
// is a consume move, priced at the catalogue's price on a paid visit, with its serial where the
// part is serial-tracked. What the job held in the van is released first. A van that does not
// hold a part refuses the report (409 insufficient_stock): the technician moves it to the van
// first, or reports the visit incomplete. Lines of parts the catalogue does not know are kept on
// the visit as reported, outside the stock.
func (s *Service) VisitReported(ctx context.Context, tx dispatch.Tx, r dispatch.VisitReport) error {
	if (r.Update.Status != dispatch.JobCompleted && r.Update.Status != dispatch.JobIncomplete) || r.Job.TechnicianID == nil {
		return nil
	}
	st := s.Store.Join(tx)
	if len(r.Update.PartsUsed) > 0 {
		if err := s.consume(ctx, st, r); err != nil {
			return err
		}
	}
	if r.Update.Status == dispatch.JobCompleted {
		return s.fitted(ctx, st, r.Job, r.At)
	}
	return nil
}

// consume writes the consume moves of a visit's catalogued parts.
func (s *Service) consume(ctx context.Context, st Store, r dispatch.VisitReport) error {
	skus := make([]string, len(r.Update.PartsUsed))
	for i, p := range r.Update.PartsUsed {
		skus[i] = p.SKU
	}
	known, err := st.PartsBySKU(ctx, skus)
	if err != nil || len(known) == 0 {
		return err
	}
	van, err := st.Van(ctx, *r.Job.TechnicianID, r.At)
	if err != nil {
		return err
	}
	if err := st.ReleaseJobParts(ctx, r.Job.ID); err != nil {
		return err
	}
	for _, p := range r.Update.PartsUsed {
		if !catalogued(known, p.SKU) {
			continue
		}
		m := Move{Kind: MoveConsume, SKU: p.SKU, Quantity: p.Quantity, From: &van.ID, JobID: &r.Job.ID, Serial: p.Serial, Actor: r.Actor, At: r.At}
		if _, err := s.appendMove(ctx, st, m); err != nil {
			return err
		}
	}
	return nil
}

func catalogued(ps []Part, sku string) bool {
	for _, p := range ps {
		if p.SKU == sku {
			return true
		}
	}
	return false
}
