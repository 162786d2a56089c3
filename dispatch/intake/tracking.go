package intake

import (
	"context"
	"errors"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Tracked is the booking a customer's tracking link opens (/t/{token}, no login), and the
// customer as whom the page acts: it reads, reschedules and cancels as they would.
func (s *Service) Tracked(ctx context.Context, token string) (dispatch.Booking, dispatch.Actor, error) {
	unknown := &dispatch.Error{Kind: dispatch.KindNotFound, Code: "tracking_link_not_found", Message: "no visit has this tracking link"}
	if len(token) < 22 || len(token) > 64 {
		return dispatch.Booking{}, dispatch.Actor{}, unknown
	}
	id, expires, err := s.Store.TrackedBooking(ctx, token)
	if errors.Is(err, dispatch.ErrNotFound) {
		return dispatch.Booking{}, dispatch.Actor{}, unknown
	} else if err != nil {
		return dispatch.Booking{}, dispatch.Actor{}, err
	}
	if !s.Now().Before(expires) {
		return dispatch.Booking{}, dispatch.Actor{}, &dispatch.Error{Kind: dispatch.KindNotFound, Code: "tracking_link_expired",
			Message: "this tracking link has expired; the latest message about your visit has a fresh one"}
	}
	b, err := s.Store.GetBooking(ctx, id)
	if err != nil {
		return dispatch.Booking{}, dispatch.Actor{}, err
	}
	return b, dispatch.Actor{Subject: b.CustomerSubject, Role: dispatch.RoleCustomer}, nil
}

// ChangesClose is when the customer's own changes to b's visit close (the cut-off before its
// window), nil when nothing closes them (no planned visit, or no cut-off) and, with it, whether
// the customer may still change the booking now and why not.
func (s *Service) ChangesClose(b dispatch.Booking) (closes *time.Time, ok bool, why string) {
	j := b.CurrentJob()
	switch {
	case b.Status == dispatch.BookingCancelled:
		return nil, false, "the booking is cancelled"
	case b.Status == dispatch.BookingCompleted:
		return nil, false, "the visit is done"
	case j != nil && (j.Status == dispatch.JobOnSite || j.Status == dispatch.JobEnRoute):
		return nil, false, "the technician is on the way"
	}
	if err := s.beforeCutoff(dispatch.Actor{Role: dispatch.RoleCustomer}, j, s.Now(), "changed"); err != nil {
		var de *dispatch.Error
		errors.As(err, &de)
		at := de.Extra["change_cutoff"].(time.Time)
		return &at, false, de.Message
	}
	if j == nil || j.PlannedStart == nil || j.TechnicianID == nil || s.Rules.ChangeCutoff <= 0 {
		return nil, true, ""
	}
	at := dispatch.PromisedWindow(*j.PlannedStart, s.Rules.Zone()).Start.Add(-s.Rules.ChangeCutoff)
	return &at, true, ""
}
