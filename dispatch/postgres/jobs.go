package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
	"github.com/jackc/pgx/v5"
)

func (s jobRows) EnsureCustomer(ctx context.Context, subject string) (dispatch.Customer, error) {
	r, err := s.q.CustomerEnsure(ctx, subject)
	c := db.Customer(r)
	if errors.Is(err, pgx.ErrNoRows) { // a concurrent first call made it: read theirs
		c, err = s.q.CustomerBySubject(ctx, subject)
	}
	if err != nil {
		return dispatch.Customer{}, mapErr(err)
	}
	return dispatch.Customer{ID: c.ID, Subject: c.Subject, CreatedAt: c.CreatedAt}, nil
}

func (s jobRows) SetBookingStatus(ctx context.Context, id int64, status dispatch.BookingStatus, at time.Time) error {
	return mapErr(s.q.BookingSetStatus(ctx, id, string(status), at))
}

func (s jobRows) GetBooking(ctx context.Context, id int64) (dispatch.Booking, error) {
	r, err := s.q.BookingGet(ctx, id)
	if err != nil {
		return dispatch.Booking{}, notFound(err, "booking", id)
	}
	bs, err := s.withJobs(ctx, []dispatch.Booking{bookingFrom(r.Booking, r.CustomerSubject)})
	if err != nil {
		return dispatch.Booking{}, err
	}
	return bs[0], nil
}

// withJobs attaches every booking's visits in one query.
func (s *Store) withJobs(ctx context.Context, bs []dispatch.Booking) ([]dispatch.Booking, error) {
	if len(bs) == 0 {
		return bs, nil
	}
	ids := make([]int64, len(bs))
	at := make(map[int64]int, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
		at[b.ID] = i
	}
	rows, err := s.q.JobsByBookings(ctx, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	for _, r := range rows {
		i := at[r.Job.BookingID]
		bs[i].Jobs = append(bs[i].Jobs, jobFrom(r.Job, r.TechnicianName))
	}
	return bs, nil
}

func bookingFrom(r db.Booking, subject string) dispatch.Booking {
	var windows []dispatch.Window
	_ = json.Unmarshal(r.PreferredWindows, &windows)
	if windows == nil {
		windows = []dispatch.Window{}
	}
	return dispatch.Booking{
		ID: r.ID, CustomerID: r.CustomerID, CustomerSubject: subject, PurchaseID: r.PurchaseID,
		ServiceType: dispatch.ServiceType(r.ServiceType), Appliance: r.Appliance, Problem: r.Problem, Address: r.Address,
		Location: dispatch.Location{Lat: r.Lat, Lng: r.Lng}, Channel: dispatch.Channel(r.Channel), ReturnKind: dispatch.ReturnKind(r.ReturnKind),
		Tier: dispatch.Tier(r.Tier), Status: dispatch.BookingStatus(r.Status), SLADueAt: r.SlaDueAt.UTC(),
		RequiredSkills: r.RequiredSkills, Duration: time.Duration(r.DurationMinutes) * time.Minute, PreferredWindows: windows,
		CancelReason: r.CancelReason, AtRisk: r.AtRisk, Region: r.Region, CustomerDeferred: r.CustomerDeferred, WarrantyVerified: r.WarrantyVerified,
		Version: int(r.Version), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		ContactName: r.ContactName, ContactPhone: r.ContactPhone,
	}
}

func jobFrom(r db.Job, techName string) dispatch.Job {
	var parts []dispatch.Part
	_ = json.Unmarshal(r.PartsUsed, &parts)
	return dispatch.Job{
		ID: r.ID, BookingID: r.BookingID, Visit: int(r.Visit), Status: dispatch.JobStatus(r.Status), TechnicianID: r.TechnicianID,
		TechnicianName: techName, PlannedStart: utcPtr(r.PlannedStart), PlannedEnd: utcPtr(r.PlannedEnd), Pinned: r.Pinned,
		PinnedStart: r.PinnedStart, OfferExpiresAt: utcPtr(r.OfferExpiresAt), AcceptedAt: utcPtr(r.AcceptedAt), EnRouteAt: utcPtr(r.EnRouteAt),
		OnSiteAt: utcPtr(r.OnSiteAt), FinishedAt: utcPtr(r.FinishedAt), EnRouteDeviceAt: utcPtr(r.EnRouteDeviceAt),
		OnSiteDeviceAt: utcPtr(r.OnSiteDeviceAt), FinishedDeviceAt: utcPtr(r.FinishedDeviceAt), Outcome: r.Outcome, Notes: r.Notes, PartsUsed: parts,
		SignOffMethod: deref(r.SignoffMethod), SignedOffAt: utcPtr(r.SignedOffAt), NotBefore: utcPtr(r.NotBefore),
		PickupLocationID: r.PickupLocationID, PickedUpAt: utcPtr(r.PickedUpAt),
		Version: int(r.Version), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// AddAudit records an audited change. Inside a transaction the event is written with the
// others just before the commit (one statement); outside one, at once.
func (s jobRows) AddAudit(ctx context.Context, e dispatch.AuditEvent) error {
	if s.audit != nil {
		*s.audit = append(*s.audit, e)
		return nil
	}
	return s.writeAudit(ctx, []dispatch.AuditEvent{e})
}

func (s jobRows) GetJob(ctx context.Context, id int64) (dispatch.Job, error) {
	r, err := s.q.JobGet(ctx, id)
	if err != nil {
		return dispatch.Job{}, notFound(err, "job", id)
	}
	return jobFrom(r.Job, r.TechnicianName), nil
}

func (s jobRows) LockJob(ctx context.Context, id int64) (dispatch.Job, error) {
	r, err := s.q.JobLock(ctx, id)
	if err != nil {
		return dispatch.Job{}, notFound(err, "job", id)
	}
	return jobFrom(r, ""), nil
}

func (s jobRows) UpdateJob(ctx context.Context, j dispatch.Job) (dispatch.Job, error) {
	parts, _ := json.Marshal(j.PartsUsed)
	if j.PartsUsed == nil {
		parts = []byte("[]")
	}
	v, err := s.q.JobSave(ctx, db.JobSaveParams{ID: j.ID, Status: string(j.Status), TechnicianID: j.TechnicianID,
		PlannedStart: j.PlannedStart, PlannedEnd: j.PlannedEnd, Pinned: j.Pinned, PinnedStart: j.PinnedStart,
		OfferExpiresAt: j.OfferExpiresAt, AcceptedAt: j.AcceptedAt, EnRouteAt: j.EnRouteAt, OnSiteAt: j.OnSiteAt,
		FinishedAt: j.FinishedAt, Outcome: j.Outcome, Notes: j.Notes, PartsUsed: parts, UpdatedAt: j.UpdatedAt, ReadVersion: int32(j.Version),
		EnRouteDeviceAt: j.EnRouteDeviceAt, OnSiteDeviceAt: j.OnSiteDeviceAt, FinishedDeviceAt: j.FinishedDeviceAt})
	if errors.Is(err, pgx.ErrNoRows) {
		// Callers hold a job they read (most with its row locked): no row means another
		// transaction changed it since, and writing this copy would undo that change.
		return dispatch.Job{}, dispatch.Conflict("concurrent_update", "job %d changed since it was read (version %d); retry", j.ID, j.Version)
	}
	if err != nil {
		return dispatch.Job{}, mapErr(err)
	}
	j.Version = int(v)
	return j, nil
}

func (s jobRows) TechnicianJobs(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Job, error) {
	rows, err := s.q.TechnicianJobs(ctx, techID, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.Job, len(rows))
	for i, r := range rows {
		out[i] = jobFrom(r.Job, r.TechnicianName)
	}
	return out, nil
}

func offerFrom(r db.Offer) dispatch.Offer {
	return dispatch.Offer{ID: r.ID, JobID: r.JobID, TechnicianID: r.TechnicianID, Status: r.Status, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), RespondedAt: utcPtr(r.RespondedAt), Reason: r.Reason}
}

func (s jobRows) CreateOffer(ctx context.Context, o dispatch.Offer) (dispatch.Offer, error) {
	r, err := s.q.OfferInsert(ctx, db.OfferInsertParams{JobID: o.JobID, TechnicianID: o.TechnicianID, Status: o.Status,
		CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt})
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, dispatch.ErrConflict) {
			return dispatch.Offer{}, dispatch.Conflict("offer_open", "job %d already has an open offer", o.JobID)
		}
		return dispatch.Offer{}, err
	}
	return offerFrom(r), nil
}

func (s jobRows) OpenOffer(ctx context.Context, jobID int64) (dispatch.Offer, error) {
	r, err := s.q.OfferOpen(ctx, jobID)
	if err != nil {
		return dispatch.Offer{}, notFound(err, "offer for job", jobID)
	}
	return offerFrom(r), nil
}

func (s jobRows) UpdateOffer(ctx context.Context, o dispatch.Offer) error {
	return mapErr(s.q.OfferSave(ctx, o.ID, o.Status, o.RespondedAt, o.Reason))
}

func (s jobRows) RefusedTechnicians(ctx context.Context, jobID int64) ([]int64, error) {
	ids, err := s.q.RefusedTechnicians(ctx, jobID)
	return ids, mapErr(err)
}

func (s jobRows) ReoptimizedFrom(ctx context.Context, jobID int64) ([]int64, error) {
	ids, err := s.q.ReoptimizedFrom(ctx, jobID)
	return ids, mapErr(err)
}

func (s jobRows) AddNotification(ctx context.Context, n dispatch.Notification) (dispatch.Notification, error) {
	data, _ := json.Marshal(n.Data)
	if n.Data == nil {
		data = []byte("{}")
	}
	id, err := s.q.NotificationInsert(ctx, db.NotificationInsertParams{RecipientKind: n.RecipientKind, RecipientSubject: n.RecipientSubject,
		Kind: n.Kind, JobID: n.JobID, BookingID: n.BookingID, Title: n.Title, Body: n.Body, Data: data, CreatedAt: n.CreatedAt})
	if err != nil {
		return dispatch.Notification{}, mapErr(err)
	}
	n.ID = id
	return n, nil
}

func (s jobRows) EnqueuePush(ctx context.Context, notificationID int64, now time.Time) (int64, error) {
	n, err := s.q.PushEnqueue(ctx, now, notificationID)
	return n, mapErr(err)
}

// TrackingLink is the booking's tracking token, issued (or its life extended) in this transaction.
func (s jobRows) TrackingLink(ctx context.Context, bookingID int64, token string, at, expires time.Time) (string, error) {
	got, err := s.q.TrackingLinkIssue(ctx, token, bookingID, at, expires)
	return got, mapErr(err)
}
