// Package techsync is the technician app's sync: what of a technician's world changed since a
// cursor (pull), and the acts a phone made offline applied in order, each once (push). Any
// client uses it: the web app at /tech and native apps woken by FCM (docs/technician-app.md).
package techsync

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Store is what the sync reads and the idempotency keys of the acts it applies.
type Store interface {
	SigninStore
	TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error)
	// Snapshot runs fn on one read-only snapshot of the database: the watermark, the changes and
	// the rows they name are read as of one instant.
	Snapshot(ctx context.Context, fn func(Reader) error) error
	// Visits reads jobs as the technician sees them, outside a snapshot (push's checks).
	Visits(ctx context.Context, techID int64, ids []int64) ([]Visit, error)
	// ClaimAct claims an act's key for the technician; when it is taken already (done, or being
	// applied by another request), claimed is false and prior is the key's record.
	ClaimAct(ctx context.Context, techID int64, key, kind, hash string, now time.Time) (claimed bool, prior ActRecord, err error)
	// FinishAct records the answer of an act whose key this request claimed.
	FinishAct(ctx context.Context, techID int64, key string, answer []byte, now time.Time) error
	// ReleaseAct gives a claimed key back (the act was not applied: it may come again).
	ReleaseAct(ctx context.Context, techID int64, key string) error
	// Prune drops change rows older than keep (by the database's clock, which stamps them), action
	// keys and sign-in links older than now less keep, and raises the horizon below which cursors
	// have expired.
	Prune(ctx context.Context, keep time.Duration, now time.Time) (Pruned, error)
}

// Pruned counts what a prune dropped.
type Pruned struct {
	Changes, Actions, SigninLinks int64
}

// Reader reads one snapshot.
type Reader interface {
	// Watermark is the oldest transaction still running at the snapshot (pg_snapshot_xmin): every
	// transaction below it has ended, so no change below it can still appear.
	Watermark(ctx context.Context) (uint64, error)
	// Horizon is the transaction id below which change rows may have been pruned (0: none were).
	Horizon(ctx context.Context) (uint64, error)
	// Changes are the technician's changes of transactions in [after, before), oldest first, at most limit.
	Changes(ctx context.Context, techID int64, after, before uint64, limit int) ([]Change, error)
	// WorldJobIDs are the jobs of the technician's world in [from, to): planned or offered to
	// them then, under way whenever planned, finished in it; and their open offers.
	WorldJobIDs(ctx context.Context, techID int64, from, to time.Time) ([]int64, error)
	Visits(ctx context.Context, techID int64, ids []int64) ([]Visit, error)
	Notifications(ctx context.Context, subject string, ids []int64) ([]dispatch.Notification, error)
	// RecentNotifications are the technician's notifications since, newest first, at most limit,
	// leaving out those whose change is at or past watermark (the next pull brings them).
	RecentNotifications(ctx context.Context, techID int64, subject string, since time.Time, watermark uint64, limit int) ([]dispatch.Notification, error)
	TimeOff(ctx context.Context, techID int64, ids []int64) ([]dispatch.TimeOff, error)
	TimeOffBetween(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.TimeOff, error)
}

// Change is one row of a technician's change log: an entity of their world changed in a transaction.
type Change struct {
	TxID     uint64
	Entity   string // job, notification, time_off
	EntityID int64
}

// Visit is a job as its technician's app holds it: the booking behind it, the latest offer of it
// to the technician, its checklist (the visit's own, or the template it will get) and photos.
type Visit struct {
	Job         dispatch.Job
	Booking     dispatch.Booking
	Offer       *dispatch.Offer
	Checklist   json.RawMessage // {template_id, items, answers, version}; null when there is none
	Attachments []AttachmentRef
	// Pickup is the warehouse to pass before the visit to collect its parts (nil: none to make).
	Pickup *Pickup
}

// Pickup is a stop at a warehouse before a visit, to collect its parts, and when.
type Pickup struct {
	LocationID int64
	Name       string
	Location   dispatch.Location
	Start, End time.Time
}

// AttachmentRef names a photo or file of a visit.
type AttachmentRef struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	CreatedAt   time.Time `json:"created_at"`
}

// ActRecord is what is kept of an act's idempotency key.
type ActRecord struct {
	Kind, RequestHash string
	Done              bool
	Answer            []byte
}

// Acts are the technician's acts as the areas that own them carry them out (lifecycle: accept,
// decline, statuses, pings; proof: checklist answers, sign-off). services wires them, so this room
// imports no other area.
type Acts struct {
	Accept  func(ctx context.Context, a dispatch.Actor, jobID int64) (dispatch.Job, error)
	Decline func(ctx context.Context, a dispatch.Actor, jobID int64, reason string) (dispatch.Job, error)
	Status  func(ctx context.Context, a dispatch.Actor, jobID int64, u dispatch.StatusUpdate) (dispatch.Job, error)
	Ping    func(ctx context.Context, a dispatch.Actor, l dispatch.Location, at *time.Time) (dispatch.Technician, error)
	Answer  func(ctx context.Context, a dispatch.Actor, jobID int64, answers map[string]any) error
	SignOff func(ctx context.Context, a dispatch.Actor, jobID int64, s SignOff) error
	// PickUp: the parts were collected at the warehouse of the visit's pick-up stop (parts).
	PickUp func(ctx context.Context, a dispatch.Actor, jobID int64) error
	// PickupOf is the pick-up stop still to make before job j of booking b (nil: none).
	PickupOf func(ctx context.Context, j dispatch.Job, b dispatch.Booking) (*Pickup, error)
}

// withPickups gives each visit its pick-up stop, when it has one to make.
func (s *Service) withPickups(ctx context.Context, vs []Visit) error {
	for i := range vs {
		if !vs[i].Job.PickupPending() || s.Acts.PickupOf == nil {
			continue
		}
		p, err := s.Acts.PickupOf(ctx, vs[i].Job, vs[i].Booking)
		if err != nil {
			return err
		}
		vs[i].Pickup = p
	}
	return nil
}

// SignOff is the customer's word taken offline: a drawn signature, the acceptance code or a refusal.
type SignOff struct {
	Method     string         `json:"method"`
	SignerName string         `json:"signer_name,omitempty"`
	Strokes    [][][2]float64 `json:"strokes,omitempty"`
	Code       string         `json:"code,omitempty"`
	Reason     string         `json:"reason,omitempty"`
}

// Service is the technician app's sync.
type Service struct {
	*dispatch.Env
	Store Store
	Acts  Acts
}

// New is the sync over store, carrying acts out through acts.
func New(store Store, env *dispatch.Env, acts Acts) *Service {
	return &Service{Env: env, Store: store, Acts: acts}
}

// technicianFor resolves the calling technician's record.
func (s *Service) technicianFor(ctx context.Context, a dispatch.Actor) (dispatch.Technician, error) {
	if a.Role != dispatch.RoleTechnician {
		return dispatch.Technician{}, dispatch.Forbidden("only technicians sync")
	}
	t, err := s.Store.TechnicianBySubject(ctx, a.Subject)
	if errors.Is(err, dispatch.ErrNotFound) {
		return dispatch.Technician{}, dispatch.Forbidden("no technician is linked to subject %q; an admin creates technicians", a.Subject)
	}
	return t, err
}

// zoneOf is the technician's time zone (UTC when it does not load).
func zoneOf(t dispatch.Technician) *time.Location {
	if z, err := time.LoadLocation(t.TimeZone); err == nil {
		return z
	}
	return time.UTC
}
