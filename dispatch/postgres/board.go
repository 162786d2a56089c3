package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/board"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

func (s boardStore) ListAudit(ctx context.Context, f board.AuditFilter) ([]dispatch.AuditEvent, error) {
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

func (s boardStore) OpenJobs(ctx context.Context, riskBefore time.Time) ([]board.BoardJob, error) {
	rows, err := s.q.BookingsOpenJobs(ctx, riskBefore)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]board.BoardJob, len(rows))
	for i, r := range rows {
		out[i] = board.BoardJob{Job: jobFrom(r.Job, ""), SLADueAt: r.SlaDueAt.UTC(), Tier: dispatch.Tier(r.Tier),
			Location: dispatch.Location{Lat: r.Lat, Lng: r.Lng}, Appliance: r.Appliance, Address: r.Address, Region: r.Region,
			CustomerDeferred: r.CustomerDeferred, CustomerName: r.ContactName, RequiredSkills: r.RequiredSkills,
			UnassignedCode: r.UnassignedCode, UnassignedReason: r.UnassignedReason}
	}
	return out, nil
}

func (s boardStore) OpenBookingPoints(ctx context.Context) ([]dispatch.Location, error) {
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

func (s boardStore) UnacknowledgedComplaints(ctx context.Context, olderThan time.Time) ([]dispatch.Complaint, error) {
	rows, err := s.q.ComplaintsUnacknowledged(ctx, olderThan)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, complaintFrom), nil
}
