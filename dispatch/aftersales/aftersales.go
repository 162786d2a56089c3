// Package aftersales owns what follows a visit: the customer's feedback and the request for it,
// complaints to their resolution, and the KPIs, live and rolled up by day.
package aftersales

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Store is the after-sales area's store.
type Store interface {
	Feedbacks
	Complaints
	Figures
	dispatch.NoticeStore
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	EnsureCustomer(ctx context.Context, subject string) (dispatch.Customer, error)
	GetBooking(ctx context.Context, id int64) (dispatch.Booking, error)
	AddAudit(ctx context.Context, e dispatch.AuditEvent) error
}

// Feedbacks keeps customers' ratings and when each was asked for.
type Feedbacks interface {
	// AddFeedback records f unless its booking has feedback already (false).
	AddFeedback(ctx context.Context, f Feedback) (Feedback, bool, error)
	// FollowUpsDue are the bookings completed before doneBefore whose customer was not yet asked.
	FollowUpsDue(ctx context.Context, doneBefore time.Time) ([]int64, error)
	// ClaimFollowUp sets the booking's follow-up time unless already set.
	ClaimFollowUp(ctx context.Context, bookingID int64, at time.Time) (bool, error)
}

// Complaints keeps complaints through their handling.
type Complaints interface {
	// CreateComplaint files c; when the booking has an open (or acknowledged) complaint of the
	// category already, it is a conflict with code complaint_exists and nothing is written.
	CreateComplaint(ctx context.Context, c dispatch.Complaint) (dispatch.Complaint, error)
	LockComplaint(ctx context.Context, id int64) (dispatch.Complaint, error)
	SaveComplaint(ctx context.Context, c dispatch.Complaint) (dispatch.Complaint, error)
	ListComplaints(ctx context.Context, customerID *int64, status string, page dispatch.Page) ([]dispatch.Complaint, error)
}

// Figures computes the KPIs and keeps them by day.
type Figures interface {
	KPIs(ctx context.Context, from, to time.Time, groupBy string, now time.Time) ([]KPIRow, error)
	// Utilisation maps technician id to [seconds on site, seconds of shift] in [from, to).
	Utilisation(ctx context.Context, from, to time.Time) (map[int64][2]float64, error)
	SaveDailyKPIs(ctx context.Context, day dispatch.Date, groupBy string, rows []KPIRow, at time.Time) error
	DailyKPIs(ctx context.Context, groupBy string, from, to dispatch.Date) ([]DailyKPI, error)
}

// Service is what happens after a visit: the customer's feedback (and the request for it),
// complaints, and the KPIs, live and rolled up by day.
type Service struct {
	*dispatch.Env
	Store    Store
	FollowUp FollowUpConfig
	// Reads, when set, serves the KPIs from a read replica.
	Reads Figures
}

// New is the after-sales area, asking for feedback 24 h after a visit.
func New(store Store, env *dispatch.Env) *Service {
	return &Service{Env: env, Store: store, FollowUp: FollowUpConfig{After: 24 * time.Hour}}
}
