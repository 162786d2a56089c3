// Package board owns the dispatcher's view of the service: the day's board (unassigned and at-risk
// jobs, each technician's route, overdue complaints), the map's cells and the audit trail.
package board

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// Store is what the board reads.
type Store interface {
	// OpenJobs are live jobs without a technician, or due before riskBefore, or planned after their due time.
	OpenJobs(ctx context.Context, riskBefore time.Time) ([]BoardJob, error)
	// RouteJobs are the live and finished visits of the technicians ids overlapping [from, to), by technician and start.
	RouteJobs(ctx context.Context, ids []int64, from, to time.Time) ([]RouteJob, error)
	ListTechnicians(ctx context.Context, page dispatch.Page) ([]dispatch.Technician, error)
	UnacknowledgedComplaints(ctx context.Context, olderThan time.Time) ([]dispatch.Complaint, error)
	// OpenBookingPoints are the locations of bookings not yet completed or cancelled.
	OpenBookingPoints(ctx context.Context) ([]dispatch.Location, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]dispatch.AuditEvent, error)
	// TimeOffBetween is the time off of the technicians ids overlapping [from, to).
	TimeOffBetween(ctx context.Context, ids []int64, from, to time.Time) ([]dispatch.TimeOff, error)
	BookingExists(ctx context.Context, id int64) (bool, error)
	// BookingMessages are the messages about a booking to its customer and its technicians, newest first.
	BookingMessages(ctx context.Context, bookingID int64, page dispatch.Page) ([]Message, error)
	// WarehousesByIDs are those stock locations with their points (a route's pick-up stops).
	WarehousesByIDs(ctx context.Context, ids []int64) ([]planning.Warehouse, error)
}

// Service is the dispatcher's view: the day's board, the map, the audit trail.
type Service struct {
	*dispatch.Env
	Store   Store
	Planner *planning.Planner // where technicians are
	// Fresh, when Store reads a replica, says where the last read went and how stale it is.
	Fresh func(context.Context) (source string, lag time.Duration)
}

// New is the board over store.
func New(store Store, env *dispatch.Env, planner *planning.Planner) *Service {
	return &Service{Env: env, Store: store, Planner: planner}
}
