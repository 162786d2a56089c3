package board

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch"
)

// ListAudit lists audit events, newest first (dispatcher, admin).
func (s *Service) ListAudit(ctx context.Context, a dispatch.Actor, f dispatch.AuditFilter) ([]dispatch.AuditEvent, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only staff read the audit trail")
	}
	f.Page = f.Page.Norm()
	return s.Store.ListAudit(ctx, f)
}
