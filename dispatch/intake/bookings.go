package intake

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
	"github.com/fieldfix/fieldfix/dispatch/planning"
)

// BookingRequest is a new booking as the client sends it.
type BookingRequest struct {
	ServiceType      dispatch.ServiceType
	Appliance        string
	Problem          string
	Address          string
	Location         dispatch.Location
	PurchaseID       *int64
	PreferredWindows []dispatch.Window
	Channel          dispatch.Channel
	ReturnKind       dispatch.ReturnKind
	CustomerSub      string
	// ForceReason: a dispatcher books at an address outside every service area all the same (it
	// waits unassigned, reason outside_areas, for them to find someone), and says why.
	ForceReason string
	// ContactName and ContactPhone: who the technician meets at the door (optional).
	ContactName, ContactPhone string
}

// Coverage says whether an address is served and by which trades (skills), so an app can check
// before the booking form: the rule POST /v1/bookings refuses unserved addresses by.
func (s *Service) Coverage(ctx context.Context, l dispatch.Location) ([]string, error) {
	if err := dispatch.ValidateLocation("location", l); err != nil {
		return nil, err
	}
	return s.Planner.Coverage(ctx, s.Store, l)
}

// CreateBooking books a visit. With an idempotency key, a retry of the same request returns the
// booking the first call made (replay=true); the same key with another request is refused.
func (s *Service) CreateBooking(ctx context.Context, a dispatch.Actor, r BookingRequest, idemKey, requestHash string) (dispatch.Booking, bool, error) {
	defer s.Planner.Placing()()
	subject, err := s.customerSubjectFor(a, r.CustomerSub)
	if err != nil {
		if a.Role == dispatch.RoleTechnician {
			return dispatch.Booking{}, false, dispatch.Forbidden("technicians cannot create bookings")
		}
		return dispatch.Booking{}, false, err
	}
	now := s.Now()
	if err := s.validate(&r, now); err != nil {
		return dispatch.Booking{}, false, err
	}
	if r.ForceReason != "" && !a.Staff() {
		return dispatch.Booking{}, false, dispatch.Forbidden("only dispatchers force a booking outside the service areas")
	}
	if utf8.RuneCountInString(r.ForceReason) > 1000 {
		return dispatch.Booking{}, false, dispatch.Invalid("force_reason", "too_long", "force_reason is longer than 1000 characters")
	}
	if len(idemKey) > 200 {
		return dispatch.Booking{}, false, dispatch.Invalid("Idempotency-Key", "invalid_idempotency_key", "Idempotency-Key is longer than 200 characters")
	}
	var (
		out     dispatch.Booking
		replay  bool
		key     *IdempotencyKey
		keyRead bool // the key was found taken and its booking read
	)
	if idemKey != "" {
		key = &IdempotencyKey{Subject: subject, Key: idemKey, RequestHash: requestHash}
	}
	served, err := s.Planner.Served(ctx, s.Store, r.Location)
	if err != nil {
		return dispatch.Booking{}, false, err
	} else if !served && r.ForceReason == "" {
		if key != nil { // a retry of a booking made while the address was served is that booking
			if prev, err := s.replay(ctx, s.Store, *key); err == nil {
				return prev, true, nil
			}
		}
		return dispatch.Booking{}, false, refuseUnserved(r.Location)
	}
	// No transaction: the reads (customer, purchase, plans) commit on their own, and everything
	// the booking writes is one statement (Store.WriteNewBooking), its own transaction.
	// Every attempt but the last plans on the plan cache with a guarded write; the last reads the
	// plans and writes unguarded, as a booking without the cache would.
	const maxAttempts = 4
	for attempt := 0; ; attempt++ {
		err = s.Store.Autocommit(ctx, func(st Store) (bool, error) {
			draft, err := s.draftBooking(ctx, st, a, subject, r, now)
			if err != nil {
				return false, err
			}
			nb := NewBooking{Booking: draft, Idempotency: key, Audit: []dispatch.AuditEvent{{
				At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "booking", Action: "created",
				ToStatus: string(dispatch.BookingOpen), Data: map[string]any{"tier": draft.Tier, "channel": r.Channel},
			}}}
			if r.ForceReason != "" {
				nb.Audit[0].Reason = r.ForceReason
				nb.Audit[0].Data["forced"] = true
			}
			var written bool
			out, written, err = s.placeNewBooking(ctx, st, a, nb, served, attempt < maxAttempts-1)
			if err == nil && !written {
				keyRead = true
				out, err = s.replay(ctx, st, *key)
				replay = err == nil
			}
			return written, err
		})
		// Two bookings racing for the same gap (another replica, or a dispatcher's manual
		// assignment): PostgreSQL let one win. Plan the loser again. So too a booking whose
		// chosen technician's plan moved since it was cached (read again now).
		if attempt < maxAttempts-1 && (dispatch.HasCode(err, "plan_changed") || (dispatch.LostRace(err) && len(r.PreferredWindows) == 0)) {
			continue
		}
		break
	}
	if err != nil && key != nil && !keyRead {
		// A retry of a request that was written already (its answer lost) is planned again
		// before its key is seen; planning may fail now (its window is full, with itself): the
		// key answers.
		if prev, kerr := s.replay(ctx, s.Store, *key); kerr == nil {
			out, replay, err = prev, true, nil
		} else if dispatch.HasCode(kerr, "idempotency_key_reused") {
			err = kerr
		}
	}
	if errors.Is(err, errWindowTaken) || (dispatch.HasCode(err, "technician_double_booked") && len(r.PreferredWindows) > 0) {
		return dispatch.Booking{}, false, s.windowTaken(ctx, a, r)
	}
	if err != nil {
		return dispatch.Booking{}, false, err
	}
	if !replay {
		s.Count().BookingCreated(out.Tier)
		s.Log.Info("booking created", "booking_id", out.ID, "tier", out.Tier, "sla_due_at", out.SLADueAt)
	}
	return out, replay, nil
}

// replay answers a request whose idempotency key was taken with the booking the key made, unless
// the key came with another request.
func (s *Service) replay(ctx context.Context, st Store, k IdempotencyKey) (dispatch.Booking, error) {
	prev, storedHash, err := st.IdempotentBooking(ctx, k)
	if err != nil {
		return dispatch.Booking{}, err
	}
	if storedHash != k.RequestHash {
		return dispatch.Booking{}, dispatch.Unprocessable("idempotency_key_reused", "Idempotency-Key %q was already used with a different request", k.Key)
	}
	return prev, nil
}

var errWindowTaken = errors.New("no room in the chosen windows")

// windowTaken refuses a booking whose chosen windows cannot be kept, with fresh alternatives.
func (s *Service) windowTaken(ctx context.Context, a dispatch.Actor, r BookingRequest) error {
	now := s.Now()
	alts, _, err := s.Slots(ctx, a, SlotQuery{Location: r.Location, Appliance: r.Appliance, ServiceType: r.ServiceType,
		PurchaseID: r.PurchaseID, CustomerSub: r.CustomerSub, From: now, To: now.Add(72 * time.Hour)})
	if err != nil {
		return err
	}
	if len(alts) > 6 {
		alts = alts[:6]
	}
	e := dispatch.Conflict("window_unavailable", "no technician can come inside the chosen window any more; pick one of the alternatives")
	e.(*dispatch.Error).Extra = map[string]any{"alternatives": alts}
	return e
}

// placeNewBooking plans the booking's first visit before anything is written, then writes the
// booking and its job once, in their final state (planned, offered when inside the horizon),
// with the audit trail, the offer and the technician's notification, in one statement.
// written is false when the booking's idempotency key was taken already: nothing was written.
// onCache: planned on the plan cache, the write guarded by the chosen plan's version; when that
// moved, the error has code plan_changed, nothing is written and the plan is dropped from the
// cache, for the next attempt to read.
// A booking a dispatcher forced at an unserved address (served false) is not planned: it waits
// unassigned, reason outside_areas, for a dispatcher.
func (s *Service) placeNewBooking(ctx context.Context, st Store, a dispatch.Actor, nb NewBooking, served, onCache bool) (dispatch.Booking, bool, error) {
	now := s.Now()
	b := nb.Booking
	j := b.Jobs[0]
	j.ID = s.Planner.NewJobID() // the plan's reservation needs an id before the job has one
	var (
		p      *planning.Placement
		reason = planning.Reason{Code: "outside_areas", Message: "the address is outside every service area; a dispatcher booked it all the same"}
		err    error
	)
	if served {
		if p, reason, err = s.Planner.Plan(ctx, st, b, j, nil, onCache); err != nil {
			return dispatch.Booking{}, false, err
		}
	}
	if p == nil && len(b.PreferredWindows) > 0 {
		return dispatch.Booking{}, false, errWindowTaken // a chosen window is held or the booking is refused
	}
	j.ID = 0
	nb.Audit = append(nb.Audit, offers.PlanAudit(a, now, 0, 0, dispatch.JobUnassigned, p, reason))
	if p != nil {
		j.TechnicianID, j.PlannedStart, j.PlannedEnd, j.TechnicianName = &p.TechnicianID, &p.Start, &p.End, p.Technician.Name
		b.Status = dispatch.BookingScheduled
		if nb.Offered = s.Offers.InHorizon(p.Start, now); nb.Offered {
			var offered dispatch.AuditEvent
			offered, nb.Notification = s.Offers.Draft(a, now, b, &j, p.Technician)
			nb.Audit = append(nb.Audit, offered)
		}
	}
	b.Jobs = []dispatch.Job{j}
	nb.Booking = b
	nb.PlanVersion = p.ExpectedVersion(ctx)
	nb.TrackingToken, nb.TrackingExpires = dispatch.NewTrackingToken(), now.Add(dispatch.TrackingTTL)
	nb.Received = dispatch.Received(b, j, s.Rules.Zone(), s.TrackingURL(nb.TrackingToken))
	_, nb.Push = s.Notifier.(dispatch.Outbox)
	got, ns, written, err := st.WriteNewBooking(ctx, nb)
	if dispatch.HasCode(err, "plan_changed") {
		p.Changed()
	}
	if err != nil || !written {
		return dispatch.Booking{}, written, err
	}
	if p != nil {
		wj := got.Jobs[0]
		p.Written(st, nb.PlanVersion, planning.Stop{JobID: wj.ID, BookingID: got.ID, TechnicianID: p.TechnicianID,
			Status: wj.Status, Start: p.Start, End: p.End, Location: got.Location, Duration: got.Duration})
	}
	if nb.Offered {
		s.Offers.Sent(*j.OfferExpiresAt)
	}
	for _, n := range ns {
		if s.Notifier != nil && !nb.Push {
			// A notifier that is not the outbox acts after the write (the outbox's rows were in it).
			if err := s.Notifier.Notify(ctx, st, n); err != nil {
				s.Log.Warn("notifier failed after a booking was written", "booking_id", got.ID, "err", err)
			}
		}
	}
	return got, true, nil
}

// refuseUnserved is the refusal of a booking at l, where no technician works.
func refuseUnserved(l dispatch.Location) error {
	e := dispatch.Unprocessable("outside_service_area", "no technician works at %.5f, %.5f: the address is outside every service area", l.Lat, l.Lng)
	e.(*dispatch.Error).Field = "location"
	return e
}
