package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

func (s *Store) GetJob(ctx context.Context, id int64) (dispatch.Job, error) {
	r, err := s.q.JobGet(ctx, id)
	if err != nil {
		return dispatch.Job{}, notFound(err, "job", id)
	}
	return jobFrom(r.Job, r.TechnicianName), nil
}

func (s *Store) LockJob(ctx context.Context, id int64) (dispatch.Job, error) {
	r, err := s.q.JobLock(ctx, id)
	if err != nil {
		return dispatch.Job{}, notFound(err, "job", id)
	}
	return jobFrom(r, ""), nil
}

func (s *Store) PlanVersions(ctx context.Context, ids []int64, lock bool) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	if lock {
		rows, err := s.q.PlanVersionsLock(ctx, ids)
		for _, r := range rows {
			out[r.ID] = r.PlanVersion
		}
		return out, mapErr(err)
	}
	rows, err := s.q.PlanVersions(ctx, ids)
	for _, r := range rows {
		out[r.ID] = r.PlanVersion
	}
	return out, mapErr(err)
}

func (s *Store) InsertJob(ctx context.Context, j dispatch.Job) (dispatch.Job, error) {
	r, err := s.q.JobInsert(ctx, db.JobInsertParams{BookingID: j.BookingID, Visit: int32(j.Visit), Status: string(j.Status),
		TechnicianID: j.TechnicianID, PlannedStart: j.PlannedStart, PlannedEnd: j.PlannedEnd, Pinned: j.Pinned, OfferExpiresAt: j.OfferExpiresAt,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt})
	if err != nil {
		return dispatch.Job{}, mapErr(err)
	}
	return jobFrom(r, ""), nil
}

func (s *Store) UpdateJob(ctx context.Context, j dispatch.Job) (dispatch.Job, error) {
	parts, _ := json.Marshal(j.PartsUsed)
	if j.PartsUsed == nil {
		parts = []byte("[]")
	}
	v, err := s.q.JobSave(ctx, db.JobSaveParams{ID: j.ID, Status: string(j.Status), TechnicianID: j.TechnicianID,
		PlannedStart: j.PlannedStart, PlannedEnd: j.PlannedEnd, Pinned: j.Pinned, PinnedStart: j.PinnedStart,
		OfferExpiresAt: j.OfferExpiresAt, AcceptedAt: j.AcceptedAt, EnRouteAt: j.EnRouteAt, OnSiteAt: j.OnSiteAt,
		FinishedAt: j.FinishedAt, Outcome: j.Outcome, Notes: j.Notes, PartsUsed: parts, UpdatedAt: j.UpdatedAt, ReadVersion: int32(j.Version)})
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

func (s *Store) TechnicianJobs(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Job, error) {
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

func (s *Store) RouteStops(ctx context.Context, techIDs []int64, from, to time.Time) ([]planning.Stop, error) {
	rows, err := s.q.LiveJobsOf(ctx, techIDs, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, stopFrom), nil
}

func stopFrom(r db.LiveJobsOfRow) planning.Stop {
	return planning.Stop{JobID: r.ID, BookingID: r.BookingID, TechnicianID: *r.TechnicianID, Status: dispatch.JobStatus(r.Status),
		Start: r.PlannedStart.UTC(), End: r.PlannedEnd.UTC(), Pinned: r.Pinned, PinnedStart: r.PinnedStart,
		Location: dispatch.Location{Lat: r.Lat, Lng: r.Lng}, Duration: time.Duration(r.DurationMinutes) * time.Minute}
}

func (s *Store) MovableJobs(ctx context.Context, frozenUntil time.Time, region string) ([]int64, error) {
	ids, err := s.q.MovableJobs(ctx, frozenUntil, region)
	return ids, mapErr(err)
}

func (s *Store) TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error) {
	r, err := s.q.TechnicianBySubject(ctx, &subject)
	if err != nil {
		return dispatch.Technician{}, notFound(err, "technician", subject)
	}
	return technicianFrom(r), nil
}

func (s *Store) SetTechnicianPosition(ctx context.Context, id int64, l dispatch.Location, at time.Time) error {
	if err := s.q.TechnicianSetPosition(ctx, id, &l.Lat, &l.Lng, &at); err != nil {
		return mapErr(err)
	}
	return s.announceTechnician(ctx, id)
}

func (s *Store) CandidateTechnicians(ctx context.Context, skills []string) ([]dispatch.Technician, error) {
	if skills == nil {
		skills = []string{}
	}
	rows, err := s.q.TechniciansWithSkills(ctx, skills)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, technicianFrom), nil
}

// ---- offers ----

func offerFrom(r db.Offer) dispatch.Offer {
	return dispatch.Offer{ID: r.ID, JobID: r.JobID, TechnicianID: r.TechnicianID, Status: r.Status, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), RespondedAt: utcPtr(r.RespondedAt), Reason: r.Reason}
}

func (s *Store) CreateOffer(ctx context.Context, o dispatch.Offer) (dispatch.Offer, error) {
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

func (s *Store) OpenOffer(ctx context.Context, jobID int64) (dispatch.Offer, error) {
	r, err := s.q.OfferOpen(ctx, jobID)
	if err != nil {
		return dispatch.Offer{}, notFound(err, "offer for job", jobID)
	}
	return offerFrom(r), nil
}

func (s *Store) UpdateOffer(ctx context.Context, o dispatch.Offer) error {
	return mapErr(s.q.OfferSave(ctx, o.ID, o.Status, o.RespondedAt, o.Reason))
}

func (s *Store) ExpiredOffers(ctx context.Context, now time.Time, limit int) ([]dispatch.Offer, error) {
	rows, err := s.q.OffersExpired(ctx, now, int32(limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, offerFrom), nil
}

func (s *Store) NextOfferExpiry(ctx context.Context) (time.Time, error) {
	t, err := s.q.NextOfferExpiry(ctx)
	return t.UTC(), mapErr(err)
}

func (s *Store) RefusedTechnicians(ctx context.Context, jobID int64) ([]int64, error) {
	ids, err := s.q.RefusedTechnicians(ctx, jobID)
	return ids, mapErr(err)
}

func (s *Store) JobsToOffer(ctx context.Context, horizon time.Time, limit int) ([]int64, error) {
	ids, err := s.q.JobsToOffer(ctx, horizon, int32(limit))
	return ids, mapErr(err)
}

// ---- devices and notifications ----

func deviceFrom(r db.Device) dispatch.Device {
	return dispatch.Device{ID: r.ID, OwnerKind: r.OwnerKind, OwnerSubject: r.OwnerSubject, Token: r.Token, Platform: r.Platform,
		AppVersion: r.AppVersion, Active: r.Active, DisabledReason: r.DisabledReason, CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC()}
}

func (s *Store) UpsertDevice(ctx context.Context, d dispatch.Device) (dispatch.Device, error) {
	r, err := s.q.DeviceUpsert(ctx, db.DeviceUpsertParams{OwnerKind: d.OwnerKind, OwnerSubject: d.OwnerSubject, Token: d.Token,
		Platform: d.Platform, AppVersion: d.AppVersion, CreatedAt: d.CreatedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return dispatch.Device{}, dispatch.Conflict("device_token_taken",
			"this device token is registered to someone else; the app removes its registration at sign-out (or requests a new token) before another person signs in")
	}
	if err != nil {
		return dispatch.Device{}, mapErr(err)
	}
	return deviceFrom(r), nil
}

func (s *Store) DeleteDevice(ctx context.Context, kind, subject, token string) error {
	n, err := s.q.DeviceDelete(ctx, kind, subject, token)
	if err != nil {
		return mapErr(err)
	}
	if n == 0 {
		return dispatch.NotFound("device", "token")
	}
	return nil
}

func (s *Store) ActiveDevices(ctx context.Context, kind, subject string) ([]dispatch.Device, error) {
	rows, err := s.q.DevicesActive(ctx, kind, subject)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, deviceFrom), nil
}

func (s *Store) AddNotification(ctx context.Context, n dispatch.Notification) (dispatch.Notification, error) {
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

func (s *Store) ListNotifications(ctx context.Context, kind, subject string, page dispatch.Page) ([]dispatch.Notification, error) {
	rows, err := s.q.NotificationList(ctx, kind, subject, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.Notification, len(rows))
	for i, r := range rows {
		var data map[string]any
		_ = json.Unmarshal(r.Data, &data)
		out[i] = dispatch.Notification{ID: r.ID, RecipientKind: r.RecipientKind, RecipientSubject: r.RecipientSubject, Kind: r.Kind,
			JobID: r.JobID, BookingID: r.BookingID, Title: r.Title, Body: r.Body, Data: data, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// ---- time off ----

func (s *Store) AddTimeOff(ctx context.Context, techID int64, from, to time.Time, reason string) error {
	return mapErr(s.q.TimeOffInsert(ctx, techID, from, to, reason))
}

func (s *Store) TimeOff(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Window, error) {
	m, err := s.TimeOffOf(ctx, []int64{techID}, from, to)
	return m[techID], err
}

func (s *Store) TimeOffOf(ctx context.Context, techIDs []int64, from, to time.Time) (map[int64][]dispatch.Window, error) {
	rows, err := s.q.TimeOffBetween(ctx, techIDs, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	return timeOffByTechnician(rows), nil
}

func timeOffByTechnician(rows []db.TechnicianTimeOff) map[int64][]dispatch.Window {
	out := map[int64][]dispatch.Window{}
	for _, r := range rows {
		out[r.TechnicianID] = append(out[r.TechnicianID], dispatch.Window{Start: r.StartsAt.UTC(), End: r.EndsAt.UTC()})
	}
	return out
}

// ---- audit and board ----

func (s *Store) ListAudit(ctx context.Context, f board.AuditFilter) ([]dispatch.AuditEvent, error) {
	rows, err := s.q.AuditList(ctx, db.AuditListParams{Entity: f.Entity, EntityID: f.EntityID, Actor: f.Actor, FromTime: f.From,
		ToTime: f.To, Before: f.Before, MaxRows: int32(f.Limit)})
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.AuditEvent, len(rows))
	for i, r := range rows {
		var data map[string]any
		_ = json.Unmarshal(r.Data, &data)
		out[i] = dispatch.AuditEvent{ID: r.ID, At: r.At.UTC(), ActorSub: r.ActorSub, ActorRole: dispatch.Role(r.ActorRole), Entity: r.Entity,
			EntityID: r.EntityID, Action: r.Action, FromStatus: r.FromStatus, ToStatus: r.ToStatus, Reason: r.Reason, Data: data}
	}
	return out, nil
}

func (s *Store) OpenJobs(ctx context.Context, riskBefore time.Time) ([]board.BoardJob, error) {
	rows, err := s.q.BookingsOpenJobs(ctx, riskBefore)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]board.BoardJob, len(rows))
	for i, r := range rows {
		out[i] = board.BoardJob{Job: jobFrom(r.Job, ""), SLADueAt: r.SlaDueAt.UTC(), Tier: dispatch.Tier(r.Tier),
			Location: dispatch.Location{Lat: r.Lat, Lng: r.Lng}, Appliance: r.Appliance, Address: r.Address, Region: r.Region}
	}
	return out, nil
}

// ---- geo ----

// TechnicianChannel is the LISTEN/NOTIFY channel (suffixed ":<schema>") on which every
// technician change is announced, in the changing transaction, so each replica's index can follow.
const TechnicianChannel = "fieldfix_technicians"

func (s *Store) announceTechnician(ctx context.Context, id int64) error {
	return mapErr(s.q.TechnicianNotifyChanged(ctx, id))
}

func (s *Store) TechniciansByIDs(ctx context.Context, ids []int64) ([]dispatch.Technician, error) {
	rows, err := s.q.TechniciansByIDs(ctx, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, technicianFrom), nil
}

func (s *Store) OpenBookingPoints(ctx context.Context) ([]dispatch.Location, error) {
	rows, err := s.q.OpenBookingPoints(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.Location, len(rows))
	for i, r := range rows {
		out[i] = dispatch.Location{Lat: r.Lat, Lng: r.Lng}
	}
	return out, nil
}

// ListenTechnicians calls changed(id) for every technician change any replica commits, and
// resync() after each (re)connection, since notifications sent while disconnected are lost.
func (s *Store) ListenTechnicians(ctx context.Context, changed func(id int64), resync func()) {
	s.Listen(ctx, TechnicianChannel, func(payload string) {
		var id int64
		if _, err := fmt.Sscan(payload, &id); err == nil {
			changed(id)
		}
	}, resync)
}

// Listen calls fn with each payload NOTIFYed on channel by any replica, and resync() after each
// (re)connection. It reconnects with backoff and returns when ctx ends.
func (s *Store) Listen(ctx context.Context, channel string, fn func(payload string), resync func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		connected := s.listenOnce(ctx, channel, fn, resync)
		if connected {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// listenOnce listens until the connection fails or ctx ends; it reports whether it got connected.
func (s *Store) listenOnce(ctx context.Context, channel string, fn func(string), resync func()) bool {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false
	}
	defer conn.Release()
	// Channels are per schema, so several FieldFix databases in one cluster (or test schemas)
	// do not hear each other.
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
		return false
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel + ":" + schema}.Sanitize()); err != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
		return false
	}
	resync()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			// A connection that was listening must not go back to the pool still subscribed.
			conn.Conn().Close(context.WithoutCancel(ctx))
			return true
		}
		fn(n.Payload)
	}
}

// ---- the push outbox ----

func (s *Store) EnqueuePush(ctx context.Context, notificationID int64, now time.Time) (int64, error) {
	n, err := s.q.PushEnqueue(ctx, now, notificationID)
	return n, mapErr(err)
}

// ClaimPushes leases up to limit due deliveries to worker.
func (s *Store) ClaimPushes(ctx context.Context, worker int64, now time.Time, limit int) ([]dispatch.PushDelivery, error) {
	rows, err := s.q.PushClaim(ctx, worker, now, int32(limit))
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.PushDelivery, len(rows))
	for i, r := range rows {
		out[i] = dispatch.PushDelivery{ID: r.ID, NotificationID: r.NotificationID, DeviceID: r.DeviceID, Token: r.Token,
			Attempts: int(r.Attempts), Unreachable: int(r.Unreachable), LeasedBy: worker}
	}
	return out, nil
}

// Notifications reads notifications by id.
func (s *Store) Notifications(ctx context.Context, ids []int64) (map[int64]dispatch.Notification, error) {
	rows, err := s.q.PushNotifications(ctx, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make(map[int64]dispatch.Notification, len(rows))
	for _, r := range rows {
		var data map[string]any
		_ = json.Unmarshal(r.Data, &data)
		out[r.ID] = dispatch.Notification{ID: r.ID, RecipientKind: r.RecipientKind, RecipientSubject: r.RecipientSubject, Kind: r.Kind,
			JobID: r.JobID, BookingID: r.BookingID, Title: r.Title, Body: r.Body, Data: data, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// SettlePush records one attempt and its outcome; status "pending" schedules another at a.Next.
func (s *Store) SettlePush(ctx context.Context, c dispatch.PushDelivery, a dispatch.PushAttempt) error {
	return s.inTx(ctx, func(st *Store) error {
		if err := st.q.PushSettle(ctx, db.PushSettleParams{ID: c.ID, Status: a.Status, WasUnreachable: a.Unreachable, NextAttemptAt: a.Next,
			MessageName: a.MessageName, LastError: a.Error, UpdatedAt: a.At, Worker: c.LeasedBy}); err != nil {
			return mapErr(err)
		}
		var started *time.Time
		if !a.StartedAt.IsZero() {
			started = &a.StartedAt
		}
		return mapErr(st.q.PushAttemptInsert(ctx, db.PushAttemptInsertParams{DeliveryID: c.ID, Attempt: int32(c.Attempts + 1),
			Outcome: outcomeOf(a.Status), Code: a.Code, HttpStatus: int32(a.HTTPStatus), RetryAfterMs: a.RetryAfter.Milliseconds(),
			Error: a.Error, StartedAt: started, At: a.At}))
	})
}

// ReleasePushes gives deliveries leased by worker back unsent, due as they were.
func (s *Store) ReleasePushes(ctx context.Context, worker int64, ids []int64) error {
	return mapErr(s.q.PushRelease(ctx, ids, worker))
}

func outcomeOf(status string) string {
	if status == "pending" {
		return "retryable"
	}
	return status
}

// DisableDevice stops pushes to a token FCM says is dead.
func (s *Store) DisableDevice(ctx context.Context, id int64, reason string) error {
	return mapErr(s.q.DeviceDisable(ctx, id, reason))
}

// PendingPushes counts deliveries still to make.
func (s *Store) PendingPushes(ctx context.Context) (int64, error) {
	n, err := s.q.PushPendingCount(ctx)
	return n, mapErr(err)
}
