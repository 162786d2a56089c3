package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

func (s lifecycleStore) InsertJob(ctx context.Context, j dispatch.Job) (dispatch.Job, error) {
	r, err := s.q.JobInsert(ctx, db.JobInsertParams{BookingID: j.BookingID, Visit: int32(j.Visit), Status: string(j.Status),
		TechnicianID: j.TechnicianID, PlannedStart: j.PlannedStart, PlannedEnd: j.PlannedEnd, Pinned: j.Pinned, OfferExpiresAt: j.OfferExpiresAt,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt})
	if err != nil {
		return dispatch.Job{}, mapErr(err)
	}
	return jobFrom(r, ""), nil
}

// TechnicianBySubject is the technician linked to a login (lifecycle's and money's).
func (s jobRows) TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error) {
	r, err := s.q.TechnicianBySubject(ctx, &subject)
	if err != nil {
		return dispatch.Technician{}, notFound(err, "technician", subject)
	}
	return technicianFrom(r), nil
}

func (s lifecycleStore) SetTechnicianPosition(ctx context.Context, id int64, l dispatch.Location, at time.Time) error {
	if err := s.q.TechnicianSetPosition(ctx, id, &l.Lat, &l.Lng, &at); err != nil {
		return mapErr(err)
	}
	return s.announceTechnician(ctx, id)
}

// ---- offers ----

// ---- devices and notifications ----

func deviceFrom(r db.Device) dispatch.Device {
	return dispatch.Device{ID: r.ID, OwnerKind: r.OwnerKind, OwnerSubject: r.OwnerSubject, Token: r.Token, Platform: r.Platform,
		AppVersion: r.AppVersion, Active: r.Active, DisabledReason: r.DisabledReason, CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC()}
}

func (s lifecycleStore) UpsertDevice(ctx context.Context, d dispatch.Device) (dispatch.Device, error) {
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

func (s lifecycleStore) DeleteDevice(ctx context.Context, kind, subject, token string) error {
	n, err := s.q.DeviceDelete(ctx, kind, subject, token)
	if err != nil {
		return mapErr(err)
	}
	if n == 0 {
		return dispatch.NotFound("device", "token")
	}
	return nil
}

func (s lifecycleStore) ListNotifications(ctx context.Context, kind, subject string, page dispatch.Page) ([]dispatch.Notification, error) {
	rows, err := s.q.NotificationList(ctx, kind, subject, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, notificationFrom), nil
}

// ---- time off ----

// ---- audit and board ----

// ---- geo ----

// ---- the push outbox ----

func (s lifecycleStore) DisableStaleDevices(ctx context.Context, lastSeenBefore time.Time) (int64, error) {
	n, err := s.q.DevicesDisableStale(ctx, lastSeenBefore)
	return n, mapErr(err)
}

func (s lifecycleStore) TechnicianFinishedJobs(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Job, error) {
	rows, err := s.q.TechnicianFinishedJobs(ctx, techID, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.Job, len(rows))
	for i, r := range rows {
		out[i] = jobFrom(r.Job, r.TechnicianName)
	}
	return out, nil
}
