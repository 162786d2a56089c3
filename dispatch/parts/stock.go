package parts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Stock keeps the locations, the ledger of moves and the balances it sums to.
type Stock interface {
	AddWarehouse(ctx context.Context, l Location) (Location, error)
	// Van is a technician's van, made on first use.
	Van(ctx context.Context, technicianID int64, now time.Time) (Location, error)
	GetLocation(ctx context.Context, id int64) (Location, error)
	Locations(ctx context.Context) ([]Location, error)
	// AppendMove writes a move to the ledger and its locations' balances with it; a location
	// without the quantity (less what is reserved there) is a conflict, insufficient_stock.
	AppendMove(ctx context.Context, m Move) (Move, error)
	// Balances of one location (nil: all), of one SKU ("" all).
	Balances(ctx context.Context, locationID *int64, sku string) ([]Balance, error)
	// SetThreshold sets (nil: removes) a location's low-stock threshold of sku, to be told afresh.
	SetThreshold(ctx context.Context, locationID int64, sku string, threshold *int) (Balance, error)
	// MarkLow marks sku at locationID told when it is below its threshold and was not told yet,
	// and answers it (nil otherwise); a balance back at its threshold is cleared to be told again.
	// Of two transactions taking it below at once, one gets it.
	MarkLow(ctx context.Context, locationID int64, sku string, at time.Time) (*LowStock, error)
	// DispatcherSubjects are the dispatchers with a device (who get alerts).
	DispatcherSubjects(ctx context.Context) ([]string, error)
}

// LowStock is a part's stock at a location newly below its threshold.
type LowStock struct {
	LocationID   int64
	LocationName string
	SKU, Name    string
	OnHand       int
	Threshold    int
}

// Location kinds.
const (
	Warehouse = "warehouse"
	Van       = "van"
)

// Location is a warehouse (with its address) or a technician's van.
type Location struct {
	ID           int64
	Kind         string
	Name         string
	Address      string
	Place        *dispatch.Location
	TechnicianID *int64
	CreatedAt    time.Time
}

// Balance is what a location holds of a part.
type Balance struct {
	LocationID    int64
	SKU, Name     string
	OnHand        int
	Reserved      int // for jobs assigned to the van's technician
	InTransit     int // ordered or sent to it, not arrived
	LowThreshold  *int
	LowNotifiedAt *time.Time
}

// Available is what may still be taken: on hand less reserved.
func (b Balance) Available() int { return b.OnHand - b.Reserved }

// Move kinds: the ledger's entries.
const (
	MoveReceive         = "receive"          // into a location, from a supplier
	MoveTransfer        = "transfer"         // between locations (a warehouse to a van: a pick-up)
	MoveConsume         = "consume"          // used on a visit, out of the technician's van
	MoveReturnDefective = "return_defective" // out of a location, back to the supplier
)

var moveKinds = []string{MoveReceive, MoveTransfer, MoveConsume, MoveReturnDefective}

// Move is one entry of the ledger.
type Move struct {
	ID             int64
	Kind           string
	SKU            string
	Quantity       int
	From, To       *int64
	JobID          *int64
	Serial         string
	UnitPriceMinor *int64 // consumed on a paid visit: what the customer is charged for one
	UnitCostMinor  *int64
	Note           string
	Actor          dispatch.Actor
	At             time.Time
}

// MoveRequest asks for a move; From and To name locations (see Locate).
type MoveRequest struct {
	Kind     string
	SKU      string
	Quantity int
	From, To string
	JobID    *int64
	Serial   string
	Note     string
}

// AddWarehouse adds a warehouse (admin).
func (s *Service) AddWarehouse(ctx context.Context, a dispatch.Actor, name, address string, place dispatch.Location) (Location, error) {
	if a.Role != dispatch.RoleAdmin {
		return Location{}, dispatch.Forbidden("warehouses are added by admins")
	}
	name, address = strings.TrimSpace(name), strings.TrimSpace(address)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return Location{}, dispatch.Invalid("name", "missing_field", "a warehouse needs a name of at most 200 characters")
	}
	if address == "" || utf8.RuneCountInString(address) > 500 {
		return Location{}, dispatch.Invalid("address", "missing_field", "a warehouse needs an address of at most 500 characters")
	}
	if err := dispatch.ValidateLocation("location", place); err != nil {
		return Location{}, err
	}
	var out Location
	err := s.Store.Tx(ctx, func(st Store) error {
		var err error
		if out, err = st.AddWarehouse(ctx, Location{Kind: Warehouse, Name: name, Address: address, Place: &place, CreatedAt: s.Now()}); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: out.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "stock_location", EntityID: out.ID,
			Action: "warehouse_added", Data: map[string]any{"name": name, "address": address}})
	})
	return out, err
}

// Locations lists the warehouses and the vans made so far (staff and technicians).
func (s *Service) Locations(ctx context.Context, a dispatch.Actor) ([]Location, error) {
	if a.Role == dispatch.RoleCustomer {
		return nil, dispatch.Forbidden("stock is for staff and technicians")
	}
	return s.Store.Locations(ctx)
}

// Locate resolves a location as the API names it: a location id, "van:<technician id>", or "me"
// (the calling technician's van). Vans are made on first use.
func (s *Service) Locate(ctx context.Context, st Store, a dispatch.Actor, ref string) (Location, error) {
	ref = strings.TrimSpace(ref)
	if ref == "me" {
		if a.Role != dispatch.RoleTechnician {
			return Location{}, dispatch.Invalid("location", "invalid_location", "\"me\" is a technician's own van")
		}
		t, err := st.TechnicianBySubject(ctx, a.Subject)
		if errors.Is(err, dispatch.ErrNotFound) {
			return Location{}, dispatch.Forbidden("no technician is linked to subject %q", a.Subject)
		} else if err != nil {
			return Location{}, err
		}
		return st.Van(ctx, t.ID, s.Now())
	}
	if rest, ok := strings.CutPrefix(ref, "van:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id <= 0 {
			return Location{}, dispatch.Invalid("location", "invalid_location", "a van is named van:<technician id>; got %q", ref)
		}
		l, err := st.Van(ctx, id, s.Now())
		if errors.Is(err, dispatch.ErrNotFound) {
			return Location{}, dispatch.NotFound("technician", id)
		}
		return l, err
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return Location{}, dispatch.Invalid("location", "invalid_location", "a location is its id, van:<technician id> or me; got %q", ref)
	}
	return st.GetLocation(ctx, id)
}

// ownVan reports whether l is the van of the calling technician.
func (s *Service) ownVan(ctx context.Context, st Store, a dispatch.Actor, l Location) (bool, error) {
	if l.Kind != Van || a.Role != dispatch.RoleTechnician {
		return false, nil
	}
	t, err := st.TechnicianBySubject(ctx, a.Subject)
	if errors.Is(err, dispatch.ErrNotFound) {
		return false, nil
	}
	return err == nil && l.TechnicianID != nil && *l.TechnicianID == t.ID, err
}

// StockAt is what a location holds (staff; a technician their own van).
func (s *Service) StockAt(ctx context.Context, a dispatch.Actor, ref, sku string) (Location, []Balance, error) {
	if a.Role == dispatch.RoleCustomer {
		return Location{}, nil, dispatch.Forbidden("stock is for staff and technicians")
	}
	if ref == "" && a.Role == dispatch.RoleTechnician {
		ref = "me"
	}
	if ref == "" {
		return Location{}, nil, dispatch.Invalid("location", "missing_field", "location is a location id, van:<technician id> or me")
	}
	var (
		l  Location
		bs []Balance
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		var err error
		if l, err = s.Locate(ctx, st, a, ref); err != nil {
			return err
		}
		if a.Role == dispatch.RoleTechnician && l.Kind == Van {
			if own, err := s.ownVan(ctx, st, a, l); err != nil || !own {
				return errors.Join(err, dispatch.NotFound("stock_location", ref))
			}
		}
		bs, err = st.Balances(ctx, &l.ID, sku)
		return err
	})
	return l, bs, err
}

// RecordMove appends a move to the ledger: staff record any; a technician consumes, returns or
// loads into their own van, and picks up from or drops at a warehouse.
func (s *Service) RecordMove(ctx context.Context, a dispatch.Actor, r MoveRequest) (Move, error) {
	if a.Role == dispatch.RoleCustomer {
		return Move{}, dispatch.Forbidden("stock is for staff and technicians")
	}
	if !slices.Contains(moveKinds, r.Kind) {
		return Move{}, dispatch.Invalid("kind", "invalid_kind", "kind is one of %s", strings.Join(moveKinds, ", "))
	}
	if r.Quantity < 1 || r.Quantity > 100_000 {
		return Move{}, dispatch.Invalid("quantity", "invalid_quantity", "quantity is 1 to 100000")
	}
	if utf8.RuneCountInString(r.Note) > 1000 || utf8.RuneCountInString(r.Serial) > 100 {
		return Move{}, dispatch.Invalid("note", "too_long", "a note is at most 1000 characters, a serial 100")
	}
	needFrom, needTo := r.Kind != MoveReceive, r.Kind == MoveReceive || r.Kind == MoveTransfer
	if (r.From != "") != needFrom || (r.To != "") != needTo {
		return Move{}, dispatch.Invalid("from", "invalid_move", "receive names a location to; transfer from and to; consume and return_defective from")
	}
	if (r.Kind == MoveConsume) != (r.JobID != nil) {
		return Move{}, dispatch.Invalid("job_id", "invalid_move", "a consume move names the job (job_id), and only a consume move does")
	}
	if a.Role == dispatch.RoleTechnician && r.Kind == MoveReceive {
		return Move{}, dispatch.Forbidden("stock is received by staff")
	}
	var out Move
	err := s.Store.Tx(ctx, func(st Store) error {
		m := Move{Kind: r.Kind, SKU: strings.TrimSpace(r.SKU), Quantity: r.Quantity, JobID: r.JobID, Serial: strings.TrimSpace(r.Serial),
			Note: strings.TrimSpace(r.Note), Actor: a, At: s.Now()}
		var vans int // of the technician's own among the move's locations
		for _, end := range []struct {
			ref string
			id  **int64
		}{{r.From, &m.From}, {r.To, &m.To}} {
			if end.ref == "" {
				continue
			}
			l, err := s.Locate(ctx, st, a, end.ref)
			if err != nil {
				return err
			}
			own, err := s.ownVan(ctx, st, a, l)
			if err != nil {
				return err
			}
			if own {
				vans++
			} else if a.Role == dispatch.RoleTechnician && l.Kind == Van {
				return dispatch.Forbidden("a technician moves stock in and out of their own van")
			}
			*end.id = &l.ID
		}
		if a.Role == dispatch.RoleTechnician && vans == 0 {
			return dispatch.Forbidden("a technician moves stock in and out of their own van")
		}
		var err error
		out, err = s.appendMove(ctx, st, m)
		return err
	})
	return out, err
}

// appendMove prices a move from the catalogue (a consume on a paid visit at the part's price) and
// appends it; a serial-tracked part is consumed one unit at a time, with its serial.
func (s *Service) appendMove(ctx context.Context, st Store, m Move) (Move, error) {
	ps, err := st.PartsBySKU(ctx, []string{m.SKU})
	if err != nil {
		return Move{}, err
	}
	if len(ps) == 0 {
		return Move{}, dispatch.Invalid("sku", "unknown_sku", "%q is not in the catalogue", m.SKU)
	}
	p := ps[0]
	if m.Kind == MoveConsume && p.SerialTracked && (m.Serial == "" || m.Quantity != 1) {
		return Move{}, dispatch.Invalid("serial", "serial_required", "%s is serial-tracked: each unit used is a line of quantity 1 with its serial", p.SKU)
	}
	m.UnitCostMinor = p.CostMinor
	if m.Kind == MoveConsume {
		j, err := st.GetJob(ctx, *m.JobID)
		if err != nil {
			return Move{}, err
		}
		b, err := st.GetBooking(ctx, j.BookingID)
		if err != nil {
			return Move{}, err
		}
		if b.Tier == dispatch.TierPaid {
			m.UnitPriceMinor = &p.UnitPriceMinor
		}
	}
	out, err := st.AppendMove(ctx, m)
	if err != nil {
		return Move{}, err
	}
	for _, l := range []*int64{m.From, m.To} {
		if l == nil {
			continue
		}
		if err := s.checkLow(ctx, st, *l, m.SKU, m.Actor); err != nil {
			return Move{}, err
		}
	}
	data := map[string]any{"sku": m.SKU, "quantity": m.Quantity, "kind": m.Kind}
	for k, v := range map[string]*int64{"from": m.From, "to": m.To, "job_id": m.JobID} {
		if v != nil {
			data[k] = *v
		}
	}
	return out, st.AddAudit(ctx, dispatch.AuditEvent{At: m.At, ActorSub: m.Actor.Subject, ActorRole: m.Actor.Role, Entity: "stock_move",
		EntityID: out.ID, Action: "stock_" + m.Kind, Reason: m.Note, Data: data})
}

// MaxThreshold is the largest low-stock threshold.
const MaxThreshold = 100_000

// SetThreshold sets a location's low-stock threshold of a part (staff; nil removes it): the
// dispatchers are told once when its stock on hand is below it, now or after a later move, and
// again only after it has been back at the threshold.
func (s *Service) SetThreshold(ctx context.Context, a dispatch.Actor, ref, sku string, threshold *int) (Balance, error) {
	if a.Role != dispatch.RoleDispatcher && a.Role != dispatch.RoleAdmin {
		return Balance{}, dispatch.Forbidden("low-stock thresholds are set by dispatchers and admins")
	}
	if threshold != nil && (*threshold < 0 || *threshold > MaxThreshold) {
		return Balance{}, dispatch.Invalid("low_threshold", "invalid_threshold", "low_threshold is 0 to %d, or null to remove it", MaxThreshold)
	}
	sku = strings.TrimSpace(sku)
	var out Balance
	err := s.Store.Tx(ctx, func(st Store) error {
		l, err := s.Locate(ctx, st, a, ref)
		if err != nil {
			return err
		}
		ps, err := st.PartsBySKU(ctx, []string{sku})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return dispatch.Invalid("sku", "unknown_sku", "%q is not in the catalogue", sku)
		}
		if out, err = st.SetThreshold(ctx, l.ID, sku, threshold); err != nil {
			return err
		}
		out.Name = ps[0].Name
		data := map[string]any{"sku": sku, "location_id": l.ID, "low_threshold": threshold}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "stock_location",
			EntityID: l.ID, Action: "stock_threshold_set", Data: data}); err != nil {
			return err
		}
		return s.checkLow(ctx, st, l.ID, sku, a)
	})
	return out, err
}

// checkLow tells the dispatchers, once, that sku at a location fell below its threshold.
func (s *Service) checkLow(ctx context.Context, st Store, locationID int64, sku string, a dispatch.Actor) error {
	low, err := st.MarkLow(ctx, locationID, sku, s.Now())
	if err != nil || low == nil {
		return err
	}
	subs, err := st.DispatcherSubjects(ctx)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("Low stock: %s at %s", low.SKU, low.LocationName)
	body := fmt.Sprintf("%d × %s (%s) on hand, below the threshold of %d", low.OnHand, low.SKU, low.Name, low.Threshold)
	data := map[string]any{"sku": low.SKU, "location_id": low.LocationID, "on_hand": low.OnHand, "low_threshold": low.Threshold,
		"deep_link": fmt.Sprintf("fieldfix://stock?location=%d", low.LocationID)}
	for _, sub := range subs {
		if err := s.Env.Notify(ctx, st, dispatch.Notification{RecipientKind: "dispatcher", RecipientSubject: sub, Kind: "low_stock",
			Title: title, Body: body, Data: data}); err != nil {
			return err
		}
	}
	return st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "stock_location",
		EntityID: low.LocationID, Action: "stock_low", Data: map[string]any{"sku": low.SKU, "on_hand": low.OnHand, "low_threshold": low.Threshold,
			"dispatchers_told": len(subs)}})
}
