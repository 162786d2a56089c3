package board

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// ListAudit lists audit events, newest first (dispatcher, admin).
func (s *Service) ListAudit(ctx context.Context, a dispatch.Actor, f AuditFilter) ([]dispatch.AuditEvent, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only staff read the audit trail")
	}
	f.Page = f.Page.Norm()
	return s.Store.ListAudit(ctx, f)
}

// AuditFilter narrows the audit list.
type AuditFilter struct {
	Entity   string
	EntityID int64
	Actor    string
	From, To *time.Time
	dispatch.Page
}
