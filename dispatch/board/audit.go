package board

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// ListAudit lists audit events, newest first (dispatcher, admin).
func (s *Service) ListAudit(ctx context.Context, a dispatch.Actor, f AuditFilter) ([]dispatch.AuditEvent, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only staff read the audit trail")
	}
	if f.Entity != "" && !slices.Contains(AuditEntities, f.Entity) {
		return nil, dispatch.Invalid("entity", "invalid_entity", "unknown entity %q; one of %s", f.Entity, strings.Join(AuditEntities, ", "))
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		return nil, dispatch.Invalid("to", "invalid_window", "to must be after from")
	}
	f.Page = f.Page.Norm()
	return s.Store.ListAudit(ctx, f)
}

// AuditEntities are the kinds of things the audit trail records changes of.
var AuditEntities = []string{"booking", "job", "technician", "complaint", "purchase"}

// AuditFilter narrows the audit list.
type AuditFilter struct {
	Entity   string
	EntityID int64
	Actor    string
	From, To *time.Time
	dispatch.Page
}
