package techsync

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Limits of one pull.
const (
	// MaxChanges is how many change rows one pull reads; past it the answer says more and its
	// cursor stops at a transaction's edge, so the next pull goes on from there.
	MaxChanges = 2000
	// RecentNotifications is how many notifications (of the last 24 h) a first pull brings.
	RecentNotifications = 50
)

// World is an answer to a pull: what of the technician's world to put and what to drop, and
// the cursor to pull from next.
type World struct {
	Technician    dispatch.Technician
	Zone          *time.Location
	Cursor        string
	Full          bool // a first pull: the world of today and tomorrow, not changes
	More          bool // more changes wait: pull again at once with Cursor
	Visits        []Visit
	Notifications []dispatch.Notification
	TimeOff       []dispatch.TimeOff
	Removals      []Removal
}

// Removal is something the app must drop, and why.
type Removal struct {
	Entity string // job, time_off
	ID     int64
	// Reason: reassigned (another technician has it), unassigned (nobody has it: taken back,
	// or the offer withdrawn), cancelled, declined, offer_expired, deleted.
	Reason string
}

// Retention is how long the change log, the action keys and spent sign-in links are kept: a
// phone offline longer pulls its world afresh, and an act replayed after it is judged by the
// job's state alone (a step already taken answers already_applied).
const Retention = 30 * 24 * time.Hour

// Prune drops what the sync keeps past Retention.
func (s *Service) Prune(ctx context.Context) (Pruned, error) {
	return s.Store.Prune(ctx, Retention, s.Now())
}

// cursorPrefix versions the cursor's form; clients keep it opaque.
const cursorPrefix = "1-"

func encodeCursor(mark uint64) string { return cursorPrefix + strconv.FormatUint(mark, 10) }

func parseCursor(c string) (uint64, error) {
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	mark, err := strconv.ParseUint(rest, 10, 63)
	if !ok || err != nil || mark == 0 {
		return 0, dispatch.Invalid("cursor", "invalid_cursor", "the cursor is not one this server gave; pull without it for the whole world")
	}
	return mark, nil
}

// Pull answers what of the caller's world changed since cursor; without one, the world of today
// and tomorrow in the technician's zone (jobs under way whenever planned, the last day's
// notifications). Every change is in exactly one answer: an answer holds the changes of the
// transactions that ended between its cursor and its snapshot's watermark.
func (s *Service) Pull(ctx context.Context, a dispatch.Actor, cursor string) (World, error) {
	var after uint64
	if cursor != "" {
		var err error
		if after, err = parseCursor(cursor); err != nil {
			return World{}, err
		}
	}
	t, err := s.technicianFor(ctx, a)
	if err != nil {
		return World{}, err
	}
	w := World{Technician: t, Zone: zoneOf(t), Full: cursor == ""}
	err = s.Store.Snapshot(ctx, func(r Reader) error {
		mark, err := r.Watermark(ctx)
		if err != nil {
			return err
		}
		if after > mark {
			return dispatch.Invalid("cursor", "invalid_cursor", "the cursor is ahead of this server; pull without it for the whole world")
		}
		if !w.Full {
			horizon, err := r.Horizon(ctx)
			if err != nil {
				return err
			}
			if after < horizon {
				return &dispatch.Error{Kind: dispatch.KindConflict, Code: "cursor_expired", Field: "cursor",
					Message: fmt.Sprintf("the cursor is older than the changes kept (%s); pull without it for the whole world", Retention)}
			}
		}
		if w.Full {
			w.Cursor = encodeCursor(mark)
			return s.whole(ctx, r, t, mark, &w)
		}
		next, err := s.changes(ctx, r, t, after, mark, &w)
		w.Cursor = encodeCursor(next)
		return err
	})
	return w, err
}

// whole fills w with the world of today and tomorrow.
func (s *Service) whole(ctx context.Context, r Reader, t dispatch.Technician, mark uint64, w *World) error {
	now := s.Now()
	local := now.In(w.Zone)
	from := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, w.Zone)
	to := from.AddDate(0, 0, 2)
	ids, err := r.WorldJobIDs(ctx, t.ID, from, to)
	if err != nil {
		return err
	}
	visits, err := r.Visits(ctx, t.ID, ids)
	if err == nil {
		err = s.withPickups(ctx, visits)
	}
	if err != nil {
		return err
	}
	for _, v := range visits {
		if ok, _ := holds(v, t.ID); ok {
			w.Visits = append(w.Visits, v)
		}
	}
	if w.Notifications, err = r.RecentNotifications(ctx, t.ID, deref(t.Subject), now.Add(-24*time.Hour), mark, RecentNotifications); err != nil {
		return err
	}
	w.TimeOff, err = r.TimeOffBetween(ctx, t.ID, from, to)
	return err
}

// changes fills w with the changes of transactions in [after, mark) and returns the next cursor's mark.
func (s *Service) changes(ctx context.Context, r Reader, t dispatch.Technician, after, mark uint64, w *World) (uint64, error) {
	cs, err := r.Changes(ctx, t.ID, after, mark, MaxChanges+1)
	if err != nil {
		return 0, err
	}
	next := mark
	if len(cs) > MaxChanges {
		w.More = true
		cut := cs[MaxChanges].TxID
		keep := cs[:0]
		for _, c := range cs[:MaxChanges] {
			if c.TxID < cut {
				keep = append(keep, c)
			}
		}
		next = cut
		if len(keep) == 0 { // one transaction larger than a page: take it whole
			if keep, err = r.Changes(ctx, t.ID, cut, cut+1, math.MaxInt32); err != nil {
				return 0, err
			}
			next = cut + 1
		}
		cs = keep
	}
	ids := map[string][]int64{}
	seen := map[Change]bool{}
	for _, c := range cs {
		k := Change{Entity: c.Entity, EntityID: c.EntityID}
		if !seen[k] {
			seen[k] = true
			ids[c.Entity] = append(ids[c.Entity], c.EntityID)
		}
	}
	visits, err := r.Visits(ctx, t.ID, ids["job"])
	if err == nil {
		err = s.withPickups(ctx, visits)
	}
	if err != nil {
		return 0, err
	}
	found := map[int64]bool{}
	for _, v := range visits {
		found[v.Job.ID] = true
		if ok, why := holds(v, t.ID); ok {
			w.Visits = append(w.Visits, v)
		} else {
			w.Removals = append(w.Removals, Removal{Entity: "job", ID: v.Job.ID, Reason: why})
		}
	}
	for _, id := range ids["job"] {
		if !found[id] {
			w.Removals = append(w.Removals, Removal{Entity: "job", ID: id, Reason: "deleted"})
		}
	}
	if w.Notifications, err = r.Notifications(ctx, deref(t.Subject), ids["notification"]); err != nil {
		return 0, err
	}
	if w.TimeOff, err = r.TimeOff(ctx, t.ID, ids["time_off"]); err != nil {
		return 0, err
	}
	kept := map[int64]bool{}
	for _, o := range w.TimeOff {
		kept[o.ID] = true
	}
	for _, id := range ids["time_off"] {
		if !kept[id] {
			w.Removals = append(w.Removals, Removal{Entity: "time_off", ID: id, Reason: "deleted"})
		}
	}
	return next, nil
}

// holds reports whether visit v is in technician techID's world, and if not why it left it.
func holds(v Visit, techID int64) (bool, string) {
	mine := v.Job.TechnicianID != nil && *v.Job.TechnicianID == techID
	switch {
	case v.Job.Status == dispatch.JobCancelled:
		return false, "cancelled"
	case mine:
		return true, ""
	case v.Job.TechnicianID != nil:
		return false, "reassigned"
	case v.Offer != nil && v.Offer.Status == "declined":
		return false, "declined"
	case v.Offer != nil && v.Offer.Status == "expired":
		return false, "offer_expired"
	}
	return false, "unassigned"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
