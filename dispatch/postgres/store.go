// Package postgres is every area's store on PostgreSQL through pgx/v5 (areas.go hands each area
// its own). Fixed queries are in queries/*.sql, compiled by sqlc into internal/db; rows are mapped
// to the domain's types here.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/intake"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// Store reads and writes FieldFix's tables, on the pool or, inside inTx, in one transaction; each
// area's store (areas.go) wraps it.
type Store struct {
	pool  *pgxpool.Pool
	tx    pgx.Tx // set inside inTx
	q     *db.Queries
	after *[]func(committed bool) // hooks of the transaction, run when it ends
	audit *[]dispatch.AuditEvent  // the transaction's audit events, written just before it commits
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: db.New(pool)} }

// Pool is the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// inTx runs fn with the store bound to a transaction; inside one already, fn joins it.
func (s *Store) inTx(ctx context.Context, fn func(*Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	var (
		after []func(bool)
		audit []dispatch.AuditEvent
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		st := &Store{pool: s.pool, tx: tx, q: db.New(tx), after: &after, audit: &audit}
		if err := fn(st); err != nil {
			return err
		}
		return st.writeAudit(ctx, audit)
	})
	for _, f := range after {
		f(err == nil)
	}
	return mapErr(err)
}

// autocommit runs fn with the store outside a transaction, and its AfterTx hooks when fn returns.
func (s *Store) autocommit(ctx context.Context, fn func(*Store) (bool, error)) error {
	if s.tx != nil {
		_, err := fn(s)
		return err
	}
	var after []func(bool)
	wrote, err := fn(&Store{pool: s.pool, q: s.q, after: &after})
	for _, f := range after {
		f(wrote && err == nil)
	}
	return mapErr(err)
}

// AfterTx runs fn when the transaction ends (outside one: now, as committed).
func (s *Store) AfterTx(fn func(committed bool)) {
	if s.after == nil {
		fn(true)
		return
	}
	*s.after = append(*s.after, fn)
}

// mapErr turns database failures into dispatch error kinds the API can answer with.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var de *dispatch.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &dispatch.Error{Kind: dispatch.KindNotFound, Code: "not_found", Message: "not found", Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23P01":
			return &dispatch.Error{Kind: dispatch.KindConflict, Code: "technician_double_booked",
				Message: "the technician already has a job at that time", Err: err}
		case "23505":
			return &dispatch.Error{Kind: dispatch.KindConflict, Code: "duplicate", Message: "already exists: " + pe.ConstraintName, Err: err}
		case "22021", "22P05": // invalid byte sequence (a NUL character), untranslatable character
			return &dispatch.Error{Kind: dispatch.KindInvalid, Code: "invalid_character",
				Message: "text may not contain the NUL character or bytes that are not UTF-8", Err: err}
		case "22001": // string_data_right_truncation
			return &dispatch.Error{Kind: dispatch.KindInvalid, Code: "too_long", Message: "a value is too long", Err: err}
		case "40001", "40P01":
			return &dispatch.Error{Kind: dispatch.KindConflict, Code: "concurrent_update", Message: "a concurrent change won; retry", Err: err}
		case "57P01", "57P02", "57P03", "53300":
			return &dispatch.Error{Kind: dispatch.KindUnavailable, Code: "database_unavailable", Message: "the database is unavailable", Err: err}
		}
		if len(pe.Code) == 5 && pe.Code[:2] == "08" { // connection exceptions
			return &dispatch.Error{Kind: dispatch.KindUnavailable, Code: "database_unavailable", Message: "the database is unavailable", Err: err}
		}
		return err
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	// A connection cut mid-statement (the server went away) is an outage too; whether a write in
	// flight committed is then unknown, which an idempotent retry resolves.
	if errors.As(err, &ne) || errors.As(err, &ce) || pgconn.SafeToRetry(err) || errors.Is(err, pgx.ErrTxClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &dispatch.Error{Kind: dispatch.KindUnavailable, Code: "database_unavailable", Message: "the database is unavailable", Err: err}
	}
	return err
}

func notFound(err error, what string, id any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return dispatch.NotFound(what, id)
	}
	return mapErr(err)
}

// ---- customers ----

func (s *Store) EnsureCustomer(ctx context.Context, subject string) (dispatch.Customer, error) {
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

func (s *Store) CustomerBySubject(ctx context.Context, subject string) (dispatch.Customer, error) {
	c, err := s.q.CustomerBySubject(ctx, subject)
	if err != nil {
		return dispatch.Customer{}, notFound(err, "customer", subject)
	}
	return dispatch.Customer{ID: c.ID, Subject: c.Subject, CreatedAt: c.CreatedAt}, nil
}

// ---- purchases ----

func (s *Store) CreatePurchase(ctx context.Context, p dispatch.Purchase) (dispatch.Purchase, error) {
	r, err := s.q.PurchaseInsert(ctx, db.PurchaseInsertParams{
		CustomerID: p.CustomerID, Category: p.Category, Brand: p.Brand, Model: p.Model, Serial: p.Serial,
		PurchasedAt: p.PurchasedAt.Time(), DeliveredAt: dateTime(p.DeliveredAt), WarrantyMonths: int32(p.WarrantyMonths),
		ExtendedWarrantyUntil: dateTime(p.ExtendedWarrantyUntil), Verified: p.Verified,
	})
	if err != nil {
		return dispatch.Purchase{}, mapErr(err)
	}
	return purchaseFrom(r), nil
}

func (s *Store) GetPurchase(ctx context.Context, id int64) (dispatch.Purchase, error) {
	r, err := s.q.PurchaseGet(ctx, id)
	if err != nil {
		return dispatch.Purchase{}, notFound(err, "purchase", id)
	}
	return purchaseFrom(r), nil
}

func (s *Store) VerifyPurchase(ctx context.Context, id int64) error {
	return mapErr(s.q.PurchaseVerify(ctx, id))
}

func (s *Store) ListPurchases(ctx context.Context, customerID *int64, page dispatch.Page) ([]dispatch.Purchase, error) {
	rows, err := s.q.PurchaseList(ctx, customerID, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, purchaseFrom), nil
}

func purchaseFrom(r db.Purchase) dispatch.Purchase {
	return dispatch.Purchase{
		ID: r.ID, CustomerID: r.CustomerID, Category: r.Category, Brand: r.Brand, Model: r.Model, Serial: r.Serial,
		PurchasedAt: dispatch.DateOf(r.PurchasedAt), DeliveredAt: datePtr(r.DeliveredAt), WarrantyMonths: int(r.WarrantyMonths),
		ExtendedWarrantyUntil: datePtr(r.ExtendedWarrantyUntil), ExtendedWarrantyFrom: datePtr(r.ExtendedWarrantyFrom), Verified: r.Verified,
		CreatedAt: r.CreatedAt,
	}
}

func dateTime(d *dispatch.Date) *time.Time {
	if d == nil {
		return nil
	}
	t := d.Time()
	return &t
}

func datePtr(t *time.Time) *dispatch.Date {
	if t == nil {
		return nil
	}
	d := dispatch.DateOf(*t)
	return &d
}

// ---- bookings ----

// WriteNewBooking writes a new booking whole in one statement (BookingPlace).
func (s *Store) WriteNewBooking(ctx context.Context, nb intake.NewBooking) (dispatch.Booking, *dispatch.Notification, bool, error) {
	b := nb.Booking
	if len(b.Jobs) != 1 {
		return dispatch.Booking{}, nil, false, fmt.Errorf("write booking: a new booking has one job, not %d", len(b.Jobs))
	}
	j := b.Jobs[0]
	windows, _ := json.Marshal(b.PreferredWindows)
	events, err := auditPayload(nb.Audit)
	if err != nil {
		return dispatch.Booking{}, nil, false, err
	}
	p := db.BookingPlaceParams{
		CustomerID: b.CustomerID, PurchaseID: b.PurchaseID, ServiceType: string(b.ServiceType), Appliance: b.Appliance,
		Problem: b.Problem, Address: b.Address, Lat: b.Location.Lat, Lng: b.Location.Lng, Channel: string(b.Channel),
		ReturnKind: string(b.ReturnKind), Tier: string(b.Tier), Status: string(b.Status), SlaDueAt: b.SLADueAt,
		RequiredSkills: b.RequiredSkills, DurationMinutes: int32(b.Duration / time.Minute), PreferredWindows: windows,
		CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, Region: b.Region, CustomerDeferred: b.CustomerDeferred,
		JobStatus: string(j.Status), TechnicianID: j.TechnicianID, PlannedStart: j.PlannedStart, PlannedEnd: j.PlannedEnd,
		OfferExpiresAt: j.OfferExpiresAt, Offered: nb.Offered, Push: nb.Push, Events: events, NotifyData: []byte("{}"),
		JobLinkPrefix: dispatch.JobLinkPrefix, PlanVersion: nb.PlanVersion, WarrantyVerified: b.WarrantyVerified,
	}
	if k := nb.Idempotency; k != nil {
		p.IdempotencySubject, p.IdempotencyKey, p.RequestHash = &k.Subject, &k.Key, k.RequestHash
	}
	n := nb.Notification
	if n != nil {
		if n.RecipientKind != "technician" || n.Kind != "offer" {
			return dispatch.Booking{}, nil, false, fmt.Errorf("write booking: only the technician's offer is written with a booking, not a %s %s", n.RecipientKind, n.Kind)
		}
		if p.NotifyData, err = json.Marshal(n.Data); err != nil || n.Data == nil {
			p.NotifyData = []byte("{}")
		}
		p.NotifySubject, p.NotifyTitle, p.NotifyBody = &n.RecipientSubject, n.Title, n.Body
	}
	r, err := s.q.BookingPlace(ctx, p)
	switch {
	case err != nil:
		return dispatch.Booking{}, nil, false, mapErr(err)
	case !r.PlanFresh:
		return dispatch.Booking{}, nil, false, dispatch.Conflict("plan_changed", "technician %d's plan changed while the booking was planned", *j.TechnicianID)
	case r.BookingID == 0:
		return dispatch.Booking{}, nil, false, nil // the key is taken
	}
	b.ID, j.ID, j.BookingID, j.Version = r.BookingID, r.JobID, r.BookingID, 1
	b.Jobs = []dispatch.Job{j}
	if n != nil {
		saved := *n
		saved.ID, saved.JobID, saved.BookingID, saved.CreatedAt = r.NotificationID, &j.ID, &b.ID, b.CreatedAt
		saved.Data = maps.Clone(n.Data)
		if saved.Data == nil {
			saved.Data = map[string]any{}
		}
		saved.Data["deep_link"] = dispatch.JobLink(j.ID)
		n = &saved
	}
	return b, n, true, nil // as written: no need to read it back
}

// IdempotentBooking reads the booking a taken key points at.
func (s *Store) IdempotentBooking(ctx context.Context, k intake.IdempotencyKey) (dispatch.Booking, string, error) {
	prev, err := s.q.IdempotencyGet(ctx, k.Subject, k.Key)
	if err != nil {
		return dispatch.Booking{}, "", notFound(err, "idempotency key", k.Key)
	}
	if prev.BookingID == nil { // the column allows it, though no write leaves a key without its booking
		return dispatch.Booking{}, "", dispatch.Conflict("idempotency_in_progress", "a request with this Idempotency-Key is still in progress")
	}
	b, err := s.GetBooking(ctx, *prev.BookingID)
	return b, prev.RequestHash, err
}

func (s *Store) SetBookingStatus(ctx context.Context, id int64, status dispatch.BookingStatus, at time.Time) error {
	return mapErr(s.q.BookingSetStatus(ctx, id, string(status), at))
}

func (s *Store) GetBooking(ctx context.Context, id int64) (dispatch.Booking, error) {
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

func (s *Store) LockBooking(ctx context.Context, id int64) (dispatch.Booking, error) {
	r, err := s.q.BookingGetForUpdate(ctx, id)
	if err != nil {
		return dispatch.Booking{}, notFound(err, "booking", id)
	}
	bs, err := s.withJobs(ctx, []dispatch.Booking{bookingFrom(r.Booking, r.CustomerSubject)})
	if err != nil {
		return dispatch.Booking{}, err
	}
	return bs[0], nil
}

func (s *Store) ListBookings(ctx context.Context, f intake.BookingFilter) ([]dispatch.Booking, error) {
	rows, err := s.q.BookingList(ctx, db.BookingListParams{
		CustomerID: f.CustomerID, Status: string(f.Status), Tier: string(f.Tier), Before: f.Before, MaxRows: int32(f.Limit),
	})
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]dispatch.Booking, len(rows))
	for i, r := range rows {
		out[i] = bookingFrom(r.Booking, r.CustomerSubject)
	}
	return s.withJobs(ctx, out)
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

func (s *Store) UpdateBooking(ctx context.Context, b dispatch.Booking) (dispatch.Booking, error) {
	windows, _ := json.Marshal(b.PreferredWindows)
	v, err := s.q.BookingUpdate(ctx, db.BookingUpdateParams{ID: b.ID, Status: string(b.Status), PreferredWindows: windows,
		CancelReason: b.CancelReason, UpdatedAt: b.UpdatedAt, AtRisk: b.AtRisk})
	if err != nil {
		return dispatch.Booking{}, notFound(err, "booking", b.ID)
	}
	b.Version = int(v)
	return b, nil
}

func (s *Store) SetBookingTier(ctx context.Context, b dispatch.Booking, at time.Time) error {
	return mapErr(s.q.BookingSetTier(ctx, db.BookingSetTierParams{ID: b.ID, Tier: string(b.Tier), SlaDueAt: b.SLADueAt,
		CustomerDeferred: b.CustomerDeferred, WarrantyVerified: b.WarrantyVerified, UpdatedAt: at}))
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
	}
}

func jobFrom(r db.Job, techName string) dispatch.Job {
	var parts []dispatch.Part
	_ = json.Unmarshal(r.PartsUsed, &parts)
	return dispatch.Job{
		ID: r.ID, BookingID: r.BookingID, Visit: int(r.Visit), Status: dispatch.JobStatus(r.Status), TechnicianID: r.TechnicianID,
		TechnicianName: techName, PlannedStart: utcPtr(r.PlannedStart), PlannedEnd: utcPtr(r.PlannedEnd), Pinned: r.Pinned,
		PinnedStart: r.PinnedStart, OfferExpiresAt: utcPtr(r.OfferExpiresAt), AcceptedAt: utcPtr(r.AcceptedAt), EnRouteAt: utcPtr(r.EnRouteAt),
		OnSiteAt: utcPtr(r.OnSiteAt), FinishedAt: utcPtr(r.FinishedAt), Outcome: r.Outcome, Notes: r.Notes, PartsUsed: parts,
		Version: int(r.Version), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ---- technicians ----

func (s *Store) CreateTechnician(ctx context.Context, t dispatch.Technician) (dispatch.Technician, error) {
	shifts, _ := json.Marshal(t.WeeklyShifts)
	r, err := s.q.TechnicianInsert(ctx, db.TechnicianInsertParams{
		Subject: t.Subject, Name: t.Name, Skills: t.Skills, HomeLat: t.Home.Lat, HomeLng: t.Home.Lng, TimeZone: t.TimeZone,
		WeeklyShifts: shifts, ServiceArea: t.ServiceArea, Active: t.Active,
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return dispatch.Technician{}, dispatch.Conflict("subject_taken", "a technician with subject %q already exists", deref(t.Subject))
		}
		return dispatch.Technician{}, mapErr(err)
	}
	return technicianFrom(r), s.announceTechnician(ctx, r.ID)
}

func (s *Store) GetTechnician(ctx context.Context, id int64) (dispatch.Technician, error) {
	r, err := s.q.TechnicianGet(ctx, id)
	if err != nil {
		return dispatch.Technician{}, notFound(err, "technician", id)
	}
	return technicianFrom(r), nil
}

func (s *Store) ListTechnicians(ctx context.Context, page dispatch.Page) ([]dispatch.Technician, error) {
	rows, err := s.q.TechnicianList(ctx, page.Before, int32(page.Limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, technicianFrom), nil
}

func (s *Store) UpdateTechnician(ctx context.Context, t dispatch.Technician) (dispatch.Technician, error) {
	shifts, _ := json.Marshal(t.WeeklyShifts)
	r, err := s.q.TechnicianUpdate(ctx, db.TechnicianUpdateParams{
		ID: t.ID, Name: t.Name, Skills: t.Skills, HomeLat: t.Home.Lat, HomeLng: t.Home.Lng, TimeZone: t.TimeZone,
		WeeklyShifts: shifts, ServiceArea: t.ServiceArea, Active: t.Active, UpdatedAt: t.UpdatedAt,
	})
	if err != nil {
		return dispatch.Technician{}, notFound(err, "technician", t.ID)
	}
	return technicianFrom(r), s.announceTechnician(ctx, r.ID)
}

func technicianFrom(r db.Technician) dispatch.Technician {
	shifts := weeklyShifts(r.WeeklyShifts)
	area := r.ServiceArea
	if area == nil {
		area = []string{}
	}
	return dispatch.Technician{
		ID: r.ID, Subject: r.Subject, Name: r.Name, Skills: r.Skills, Home: dispatch.Location{Lat: r.HomeLat, Lng: r.HomeLng},
		TimeZone: r.TimeZone, WeeklyShifts: shifts, ServiceArea: area, Active: r.Active, Version: int(r.Version),
		LastPosition: position(r.LastLat, r.LastLng), LastSeenAt: utcPtr(r.LastSeenAt),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// shiftPatterns caches decoded weekly shifts by their JSON: planning once read some 30
// technicians per booking (and a candidate scan still reads every skilled one), decoding their
// shifts was a tenth of the server's CPU under load, and technicians share a handful of patterns.
var (
	shiftPatterns     sync.Map // string(JSON) → []dispatch.Shift, never handed out itself
	shiftPatternCount atomic.Int64
)

const maxShiftPatterns = 4096

// weeklyShifts decodes a technician's weekly_shifts (unreadable: none); the caller owns the slice.
func weeklyShifts(raw []byte) []dispatch.Shift {
	if v, ok := shiftPatterns.Load(string(raw)); ok {
		return slices.Clone(v.([]dispatch.Shift))
	}
	var shifts []dispatch.Shift
	_ = json.Unmarshal(raw, &shifts)
	if shifts == nil {
		shifts = []dispatch.Shift{}
	}
	if shiftPatternCount.Load() < maxShiftPatterns {
		if _, loaded := shiftPatterns.LoadOrStore(string(raw), slices.Clone(shifts)); !loaded {
			shiftPatternCount.Add(1)
		}
	}
	return shifts
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ---- audit ----

// AddAudit records an audited change. Inside a transaction the event is written with the
// others just before the commit (one statement); outside one, at once.
func (s *Store) AddAudit(ctx context.Context, e dispatch.AuditEvent) error {
	if s.audit != nil {
		*s.audit = append(*s.audit, e)
		return nil
	}
	return s.writeAudit(ctx, []dispatch.AuditEvent{e})
}

// auditRow is one event as AuditInsertAll reads it.
type auditRow struct {
	At         string          `json:"at"`
	ActorSub   string          `json:"actor_sub"`
	ActorRole  string          `json:"actor_role"`
	Entity     string          `json:"entity"`
	EntityID   int64           `json:"entity_id"`
	Action     string          `json:"action"`
	FromStatus string          `json:"from_status"`
	ToStatus   string          `json:"to_status"`
	Reason     string          `json:"reason"`
	Data       json.RawMessage `json:"data"`
}

// writeAudit inserts the events in order (the live feed polls them: FollowEvents).
func (s *Store) writeAudit(ctx context.Context, evs []dispatch.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	payload, err := auditPayload(evs)
	if err != nil {
		return err
	}
	if err := s.q.AuditInsertAll(ctx, payload); err != nil {
		e := evs[0]
		return fmt.Errorf("audit %s %d %s (+%d): %w", e.Entity, e.EntityID, e.Action, len(evs)-1, mapErr(err))
	}
	return nil
}

// auditPayload is the events as the JSON array the audit inserts read.
func auditPayload(evs []dispatch.AuditEvent) ([]byte, error) {
	rows := make([]auditRow, len(evs))
	for i, e := range evs {
		data, err := json.Marshal(e.Data)
		if err != nil || e.Data == nil {
			data = []byte("{}")
		}
		r := auditRow{At: e.At.UTC().Format("2006-01-02T15:04:05.999999Z07:00"), ActorSub: e.ActorSub, ActorRole: string(e.ActorRole),
			Entity: e.Entity, EntityID: e.EntityID, Action: e.Action, FromStatus: e.FromStatus, ToStatus: e.ToStatus,
			Reason: e.Reason, Data: data}
		// JSON would quietly turn bytes that are not UTF-8 into U+FFFD: refuse them as the
		// column would (a NUL is refused by jsonb itself).
		for _, f := range []string{r.ActorSub, r.ActorRole, r.Entity, r.Action, r.FromStatus, r.ToStatus, r.Reason} {
			if !utf8.ValidString(f) {
				return nil, &dispatch.Error{Kind: dispatch.KindInvalid, Code: "invalid_character",
					Message: "text may not contain the NUL character or bytes that are not UTF-8"}
			}
		}
		rows[i] = r
	}
	return json.Marshal(rows)
}

func position(lat, lng *float64) *dispatch.Location {
	if lat == nil || lng == nil {
		return nil
	}
	return &dispatch.Location{Lat: *lat, Lng: *lng}
}

// PgxTx is the transaction this store is bound to (nil outside Tx): adapters that must write in
// the same transaction, such as the push outbox, reach it through this.
func (s *Store) PgxTx() pgx.Tx { return s.tx }

// mapAll converts every row with f.
func mapAll[R, T any](rows []R, f func(R) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}
