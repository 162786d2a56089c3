package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/aftersales"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

func (s aftersalesStore) AddFeedback(ctx context.Context, f aftersales.Feedback) (aftersales.Feedback, bool, error) {
	r, err := s.q.FeedbackInsert(ctx, db.FeedbackInsertParams{BookingID: f.BookingID, CustomerID: f.CustomerID, Csat: int32(f.CSAT),
		Nps: int32(f.NPS), Comment: f.Comment, CreatedAt: f.CreatedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return aftersales.Feedback{}, false, nil // the primary key says it was given already
	} else if err != nil {
		return aftersales.Feedback{}, false, mapErr(err)
	}
	return aftersales.Feedback{BookingID: r.BookingID, CustomerID: r.CustomerID, CSAT: int(r.Csat), NPS: int(r.Nps), Comment: r.Comment,
		CreatedAt: r.CreatedAt.UTC()}, true, nil
}

func complaintFrom(r db.Complaint) dispatch.Complaint {
	return dispatch.Complaint{ID: r.ID, BookingID: r.BookingID, CustomerID: r.CustomerID, TechnicianID: r.TechnicianID, Category: r.Category,
		Description: r.Description, Status: r.Status, Resolution: r.Resolution, CreatedAt: r.CreatedAt.UTC(),
		AcknowledgedAt: utcPtr(r.AcknowledgedAt), ResolvedAt: utcPtr(r.ResolvedAt), Version: int(r.Version)}
}

func (s aftersalesStore) CreateComplaint(ctx context.Context, c dispatch.Complaint) (dispatch.Complaint, error) {
	r, err := s.q.ComplaintInsert(ctx, db.ComplaintInsertParams{BookingID: c.BookingID, CustomerID: c.CustomerID, TechnicianID: c.TechnicianID,
		Category: c.Category, Description: c.Description, CreatedAt: c.CreatedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		// The open one of this category (a concurrent insert waited for it to commit).
		id, err := s.q.ComplaintOpenFor(ctx, c.BookingID, c.Category)
		if err != nil {
			return dispatch.Complaint{}, mapErr(err)
		}
		return dispatch.Complaint{}, dispatch.Conflict("complaint_exists",
			"booking %d has an open %s complaint already (complaint %d): it is being handled", c.BookingID, c.Category, id)
	}
	if err != nil {
		return dispatch.Complaint{}, mapErr(err)
	}
	return complaintFrom(r), nil
}

func (s aftersalesStore) LockComplaint(ctx context.Context, id int64) (dispatch.Complaint, error) {
	r, err := s.q.ComplaintLock(ctx, id)
	if err != nil {
		return dispatch.Complaint{}, notFound(err, "complaint", id)
	}
	return complaintFrom(r), nil
}

func (s aftersalesStore) SaveComplaint(ctx context.Context, c dispatch.Complaint) (dispatch.Complaint, error) {
	r, err := s.q.ComplaintSave(ctx, db.ComplaintSaveParams{ID: c.ID, Status: c.Status, Resolution: c.Resolution,
		AcknowledgedAt: c.AcknowledgedAt, ResolvedAt: c.ResolvedAt})
	if err != nil {
		return dispatch.Complaint{}, notFound(err, "complaint", c.ID)
	}
	return complaintFrom(r), nil
}

func (s aftersalesStore) ListComplaints(ctx context.Context, customerID *int64, status string, page dispatch.Page) ([]dispatch.Complaint, error) {
	rows, err := s.q.ComplaintList(ctx, customerID, status, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, complaintFrom), nil
}

func (s aftersalesStore) KPIs(ctx context.Context, from, to time.Time, groupBy string, now time.Time) ([]aftersales.KPIRow, error) {
	rows, err := s.q.KPIs(ctx, from, to, groupBy, now)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]aftersales.KPIRow, len(rows))
	n := nullable
	for i, r := range rows {
		out[i] = aftersales.KPIRow{Group: r.Grp, Bookings: r.Bookings, Cancelled: r.Cancelled, SLAMet: r.SlaMet, SLAMissed: r.SlaMissed, SLADeferred: r.SlaCustomerDeferred,
			Completed: r.Completed, Feedback: r.FeedbackCount, Complaints: r.Complaints, SLACompliance: n(r.SlaCompliance),
			FirstTimeFixRate: n(r.FirstTimeFixRate), CSATAvg: n(r.CsatAvg), NPS: n(r.Nps), ComplaintRate: n(r.ComplaintRate),
			ResponseP50: n(r.ResponseP50S), ResponseP90: n(r.ResponseP90S), ResolutionAvg: n(r.ResolutionAvgS), HandlingAvg: n(r.HandlingAvgS),
			SignedOff: r.SignedOff, SignedOffFirstTime: r.SignedOffFixedFirstTime, SignedOffFirstTimeFixRate: n(r.SignedOffFirstTimeFixRate),
			SLASupplierDeferred: r.SlaSupplierDeferred, PartsCostMinor: r.PartsCostMinor, PartsCostPerVisitMinor: n(r.PartsCostPerVisitMinor),
			FirstVisitsNeedingPart: r.FirstVisitsNeedingPart, FirstVisitsPartOnBoard: r.FirstVisitsPartOnBoard,
			FirstTimeFixRatePartOnBoard: n(r.FirstTimeFixRatePartOnBoard), FirstTimeFixRatePartMissing: n(r.FirstTimeFixRatePartMissing)}
	}
	return out, nil
}

func (s aftersalesStore) Utilisation(ctx context.Context, from, to time.Time) (map[int64][2]float64, error) {
	rows, err := s.q.Utilisation(ctx, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make(map[int64][2]float64, len(rows))
	for _, r := range rows {
		out[r.TechnicianID] = [2]float64{r.OnsiteSeconds, r.ShiftSeconds}
	}
	return out, nil
}

// nullable turns the store's NaN ("nothing to measure") into nil.
func nullable(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func (s aftersalesStore) FollowUpsDue(ctx context.Context, doneBefore time.Time) ([]int64, error) {
	ids, err := s.q.FollowUpsDue(ctx, doneBefore)
	return ids, mapErr(err)
}

func (s aftersalesStore) ClaimFollowUp(ctx context.Context, bookingID int64, at time.Time) (bool, error) {
	_, err := s.q.FollowUpClaim(ctx, bookingID, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

func (s aftersalesStore) SaveDailyKPIs(ctx context.Context, day dispatch.Date, groupBy string, rows []aftersales.KPIRow, at time.Time) error {
	g := groupBy
	if g == "" {
		g = "all"
	}
	for _, r := range rows {
		figures, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := s.q.KPIDailyUpsert(ctx, db.KPIDailyUpsertParams{Day: day.Time(), GroupBy: g, Grp: r.Group, Figures: figures, ComputedAt: at}); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func (s aftersalesStore) DailyKPIs(ctx context.Context, groupBy string, from, to dispatch.Date) ([]aftersales.DailyKPI, error) {
	g := groupBy
	if g == "" {
		g = "all"
	}
	rows, err := s.q.KPIDaily(ctx, g, from.Time(), to.Time())
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]aftersales.DailyKPI, len(rows))
	for i, r := range rows {
		var k aftersales.KPIRow
		if err := json.Unmarshal(r.Figures, &k); err != nil {
			return nil, err
		}
		out[i] = aftersales.DailyKPI{Day: dispatch.DateOf(r.Day), GroupBy: groupBy, Row: k}
	}
	return out, nil
}
