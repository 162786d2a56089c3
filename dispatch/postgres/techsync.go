package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
	"github.com/fieldfix/fieldfix/dispatch/techsync"
)

// techsyncStore is the store of the technician app's sync.
type techsyncStore struct{ jobRows }

// TechSync is the store of the technician app's sync: the change log read by cursor, and the
// idempotency keys of the acts phones send.
func (s *Store) TechSync() techsync.Store { return techsyncStore{rowsOf(s)} }

// Snapshot runs fn in a read-only repeatable-read transaction: every statement of fn sees the
// one snapshot the watermark is taken from.
func (s techsyncStore) Snapshot(ctx context.Context, fn func(techsync.Reader) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return fn(techsyncStore{rowsOf(&Store{pool: s.pool, tx: tx, q: db.New(tx)})})
	})
	return mapErr(err)
}

func (s techsyncStore) Watermark(ctx context.Context) (uint64, error) {
	w, err := s.q.SyncWatermark(ctx)
	return uint64(w), mapErr(err)
}

func (s techsyncStore) Changes(ctx context.Context, techID int64, after, before uint64, limit int) ([]techsync.Change, error) {
	rows, err := s.q.SyncChanges(ctx, techID, int64(after), int64(before), int32(limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, func(r db.SyncChangesRow) techsync.Change {
		return techsync.Change{TxID: uint64(r.Txid), Entity: r.Entity, EntityID: r.EntityID}
	}), nil
}

func (s techsyncStore) WorldJobIDs(ctx context.Context, techID int64, from, to time.Time) ([]int64, error) {
	ids, err := s.q.SyncWorldJobIDs(ctx, techID, to, from)
	return ids, mapErr(err)
}

// offerRow is the latest offer of a job to the technician, as SyncVisits reads it.
type offerRow struct {
	ID           int64      `json:"id"`
	TechnicianID int64      `json:"technician_id"`
	Status       string     `json:"status"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	RespondedAt  *time.Time `json:"responded_at"`
	Reason       string     `json:"reason"`
}

func (s techsyncStore) Visits(ctx context.Context, techID int64, ids []int64) ([]techsync.Visit, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.q.SyncVisits(ctx, techID, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]techsync.Visit, 0, len(rows))
	for _, r := range rows {
		if !r.Known {
			continue // never theirs: the job does not exist for them
		}
		v := techsync.Visit{Job: jobFrom(r.Job, ""), Booking: bookingFrom(r.Booking, "")}
		var o *offerRow
		if err := json.Unmarshal(r.Offer, &o); err == nil && o != nil {
			v.Offer = &dispatch.Offer{ID: o.ID, JobID: v.Job.ID, TechnicianID: o.TechnicianID, Status: o.Status, CreatedAt: o.CreatedAt.UTC(),
				ExpiresAt: o.ExpiresAt.UTC(), RespondedAt: utcPtr(o.RespondedAt), Reason: o.Reason}
		}
		if string(r.Checklist) != "null" {
			v.Checklist = json.RawMessage(r.Checklist)
		}
		if err := json.Unmarshal(r.Attachments, &v.Attachments); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func notificationFrom(r db.Notification) dispatch.Notification {
	var data map[string]any
	_ = json.Unmarshal(r.Data, &data)
	return dispatch.Notification{ID: r.ID, RecipientKind: r.RecipientKind, RecipientSubject: r.RecipientSubject, Kind: r.Kind,
		JobID: r.JobID, BookingID: r.BookingID, Title: r.Title, Body: r.Body, Data: data, CreatedAt: r.CreatedAt.UTC()}
}

func (s techsyncStore) Notifications(ctx context.Context, subject string, ids []int64) ([]dispatch.Notification, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.q.SyncNotifications(ctx, ids, subject)
	return mapAll(rows, notificationFrom), mapErr(err)
}

func (s techsyncStore) RecentNotifications(ctx context.Context, techID int64, subject string, since time.Time, watermark uint64, limit int) ([]dispatch.Notification, error) {
	rows, err := s.q.SyncRecentNotifications(ctx, db.SyncRecentNotificationsParams{Subject: subject, Since: since, TechnicianID: techID,
		Watermark: int64(watermark), MaxRows: int32(limit)})
	return mapAll(rows, notificationFrom), mapErr(err)
}

func (s techsyncStore) TimeOff(ctx context.Context, techID int64, ids []int64) ([]dispatch.TimeOff, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.q.SyncTimeOff(ctx, techID, ids)
	return mapAll(rows, timeOffFrom), mapErr(err)
}

func (s techsyncStore) TimeOffBetween(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.TimeOff, error) {
	rows, err := s.q.SyncTimeOffBetween(ctx, techID, from, to)
	return mapAll(rows, timeOffFrom), mapErr(err)
}

func (s techsyncStore) ClaimAct(ctx context.Context, techID int64, key, kind, hash string, now time.Time) (bool, techsync.ActRecord, error) {
	_, err := s.q.SyncActClaim(ctx, db.SyncActClaimParams{TechnicianID: techID, Key: key, Kind: kind, RequestHash: hash, Now: now})
	if err == nil {
		return true, techsync.ActRecord{}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, techsync.ActRecord{}, mapErr(err)
	}
	r, err := s.q.SyncActGet(ctx, techID, key)
	if err != nil {
		return false, techsync.ActRecord{}, mapErr(err)
	}
	return false, techsync.ActRecord{Kind: r.Kind, RequestHash: r.RequestHash, Done: r.State == "done", Answer: r.Answer}, nil
}

func (s techsyncStore) FinishAct(ctx context.Context, techID int64, key string, answer []byte, now time.Time) error {
	return mapErr(s.q.SyncActFinish(ctx, techID, key, answer, now))
}

func (s techsyncStore) ReleaseAct(ctx context.Context, techID int64, key string) error {
	return mapErr(s.q.SyncActRelease(ctx, techID, key))
}

// ---- one-time sign-in links ----

func (s techsyncStore) IssueSigninLink(ctx context.Context, l techsync.SigninLinkRecord, audit dispatch.AuditEvent) error {
	return s.inTx(ctx, func(st *Store) error {
		if err := st.q.SigninLinksRevoke(ctx, l.TechnicianID, l.CreatedAt); err != nil {
			return err
		}
		if err := st.q.SigninLinkCreate(ctx, db.SigninLinkCreateParams{TechnicianID: l.TechnicianID, CodeSha256: l.CodeSHA256,
			CreatedBy: l.CreatedBy, Now: l.CreatedAt, ExpiresAt: l.ExpiresAt}); err != nil {
			return err
		}
		return techsyncStore{rowsOf(st)}.AddAudit(ctx, audit)
	})
}

func (s techsyncStore) RedeemSigninLink(ctx context.Context, code string, now time.Time,
	accept func(dispatch.Technician) (dispatch.AuditEvent, error)) (*dispatch.Technician, techsync.SigninLinkRecord, bool, error) {
	var (
		t     *dispatch.Technician
		rec   techsync.SigninLinkRecord
		found bool
	)
	err := s.inTx(ctx, func(st *Store) error {
		id, err := st.q.SigninLinkRedeem(ctx, code, now)
		if errors.Is(err, pgx.ErrNoRows) {
			r, err := st.q.SigninLinkGet(ctx, code)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			found, rec = true, techsync.SigninLinkRecord{TechnicianID: r.TechnicianID, CodeSHA256: r.CodeSha256, CreatedBy: r.CreatedBy,
				CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UsedAt: utcPtr(r.UsedAt), RevokedAt: utcPtr(r.RevokedAt)}
			return nil
		}
		if err != nil {
			return err
		}
		tr, err := st.q.TechnicianGet(ctx, id)
		if err != nil {
			return err
		}
		tech := technicianFrom(tr)
		ev, err := accept(tech)
		if err != nil {
			return err
		}
		found, t = true, &tech
		return techsyncStore{rowsOf(st)}.AddAudit(ctx, ev)
	})
	if err != nil {
		return nil, techsync.SigninLinkRecord{}, false, err
	}
	return t, rec, found, nil
}

func (s techsyncStore) Horizon(ctx context.Context) (uint64, error) {
	h, err := s.q.SyncHorizon(ctx)
	return uint64(h), mapErr(err)
}

// Prune drops change rows, action keys and sign-in links older than keep in one transaction
// with the horizon it raises: a pull sees the rows gone and the horizon together, or neither.
func (s techsyncStore) Prune(ctx context.Context, keep time.Duration, now time.Time) (techsync.Pruned, error) {
	var p techsync.Pruned
	cutoff := now.Add(-keep)
	err := s.inTx(ctx, func(st *Store) error {
		r, err := st.q.SyncPruneChanges(ctx, keep.Seconds())
		if err != nil {
			return err
		}
		p.Changes = r.Pruned
		if r.Pruned > 0 {
			if err := st.q.SyncSetHorizon(ctx, r.Below, now); err != nil {
				return err
			}
		}
		if p.Actions, err = st.q.SyncPruneActions(ctx, cutoff); err != nil {
			return err
		}
		p.SigninLinks, err = st.q.SigninLinksPrune(ctx, cutoff)
		return err
	})
	return p, err
}
