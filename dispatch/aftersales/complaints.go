package aftersales

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// FileComplaint records a complaint against a booking (its customer, or staff on their behalf).
func (s *Service) FileComplaint(ctx context.Context, a dispatch.Actor, bookingID int64, category, description string) (dispatch.Complaint, error) {
	if a.Role != dispatch.RoleCustomer && !a.Staff() {
		return dispatch.Complaint{}, dispatch.Forbidden("a %s cannot file complaints", a.Role)
	}
	if !slices.Contains(dispatch.ComplaintCategories, category) {
		return dispatch.Complaint{}, dispatch.Invalid("category", "invalid_category", "category must be one of %s", strings.Join(dispatch.ComplaintCategories, ", "))
	}
	description = strings.TrimSpace(description)
	if description == "" || utf8.RuneCountInString(description) > 4000 {
		return dispatch.Complaint{}, dispatch.Invalid("description", "invalid_description", "description must say what went wrong (at most 4000 characters)")
	}
	var out dispatch.Complaint
	err := s.Store.Tx(ctx, func(st Store) error {
		// Another customer's booking answers as a missing one does: which ids exist is not told.
		b, err := st.GetBooking(ctx, bookingID)
		if err != nil {
			return err
		}
		if a.Role == dispatch.RoleCustomer && b.CustomerSubject != a.Subject {
			return dispatch.NotFound("booking", bookingID)
		}
		// The technician who made the last visit that happened; none when nobody came (a
		// technician only planned is not answerable for it).
		var tech *int64
		for _, j := range b.Jobs {
			if j.OnSiteAt != nil && j.TechnicianID != nil {
				tech = j.TechnicianID
			}
		}
		out, err = st.CreateComplaint(ctx, dispatch.Complaint{BookingID: b.ID, CustomerID: b.CustomerID, TechnicianID: tech, Category: category,
			Description: description, Status: "open", CreatedAt: s.Now()})
		if err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: out.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "complaint", EntityID: out.ID,
			Action: "filed", ToStatus: "open", Data: map[string]any{"booking_id": b.ID, "category": category}})
	})
	return out, err
}

// ListComplaints lists the caller's complaints (customer) or all (staff).
func (s *Service) ListComplaints(ctx context.Context, a dispatch.Actor, status string, page dispatch.Page) ([]dispatch.Complaint, error) {
	var cid *int64
	switch {
	case a.Role == dispatch.RoleCustomer:
		c, err := s.Store.EnsureCustomer(ctx, a.Subject)
		if err != nil {
			return nil, err
		}
		cid = &c.ID
	case a.Staff():
	default:
		return nil, dispatch.Forbidden("a %s cannot list complaints", a.Role)
	}
	if status != "" && !slices.Contains([]string{"open", "acknowledged", "resolved"}, status) {
		return nil, dispatch.Invalid("status", "invalid_status", "status must be open, acknowledged or resolved")
	}
	return s.Store.ListComplaints(ctx, cid, status, page.Norm())
}

// UpdateComplaint moves a complaint open → acknowledged → resolved (staff); resolving needs a note.
func (s *Service) UpdateComplaint(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, status, resolution string) (dispatch.Complaint, error) {
	if !a.Staff() {
		return dispatch.Complaint{}, dispatch.Forbidden("only staff handle complaints")
	}
	resolution = strings.TrimSpace(resolution)
	if utf8.RuneCountInString(resolution) > 4000 {
		return dispatch.Complaint{}, dispatch.Invalid("resolution", "too_long", "resolution is longer than 4000 characters")
	}
	var out dispatch.Complaint
	err := s.Store.Tx(ctx, func(st Store) error {
		c, err := st.LockComplaint(ctx, id)
		if err != nil {
			return err
		}
		if err := dispatch.CheckVersion("complaint", id, c.Version, ifVersion); err != nil {
			return err
		}
		now, from := s.Now(), c.Status
		switch {
		case c.Status == "open" && status == "acknowledged":
			c.AcknowledgedAt = &now
		case c.Status == "acknowledged" && status == "resolved":
			if resolution == "" {
				return dispatch.Invalid("resolution", "missing_field", "resolving a complaint needs a resolution note")
			}
			c.ResolvedAt, c.Resolution = &now, resolution
		default:
			return dispatch.Conflict("invalid_transition", "complaint %d cannot go from %s to %q (open → acknowledged → resolved)", id, c.Status, status)
		}
		c.Status = status
		if out, err = st.SaveComplaint(ctx, c); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "complaint", EntityID: id,
			Action: status, FromStatus: from, ToStatus: status, Reason: resolution})
	})
	return out, err
}
