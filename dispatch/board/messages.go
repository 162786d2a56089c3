package board

import (
	"context"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Message is a message sent about a booking, with how its pushes to the recipient's devices fared
// (none when the recipient has no device: the message is in their in-app inbox).
type Message struct {
	dispatch.Notification
	PushesDelivered, PushesPending, PushesFailed int
}

// BookingMessages are the messages sent about a booking to its customer and to the technicians
// who had its visits, newest first: what the job panel shows a dispatcher.
func (s *Service) BookingMessages(ctx context.Context, a dispatch.Actor, bookingID int64, page dispatch.Page) ([]Message, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only dispatchers read the messages of a booking")
	}
	ok, err := s.Store.BookingExists(ctx, bookingID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, dispatch.NotFound("booking", bookingID)
	}
	return s.Store.BookingMessages(ctx, bookingID, page.Norm())
}
