package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fieldfix/fieldfix/dispatch/planning"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/parts"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
)

// ---- stock ----

func locationFrom(r db.StockLocation) parts.Location {
	return parts.Location{ID: r.ID, Kind: r.Kind, Name: r.Name, Address: r.Address, Place: position(r.Lat, r.Lng), TechnicianID: r.TechnicianID,
		CreatedAt: r.CreatedAt.UTC()}
}

func (s partsStore) AddWarehouse(ctx context.Context, l parts.Location) (parts.Location, error) {
	r, err := s.q.WarehouseInsert(ctx, db.WarehouseInsertParams{Name: l.Name, Address: l.Address, Lat: &l.Place.Lat, Lng: &l.Place.Lng, CreatedAt: l.CreatedAt})
	return locationFrom(r), mapErr(err)
}

func (s partsStore) Van(ctx context.Context, technicianID int64, now time.Time) (parts.Location, error) {
	r, err := s.q.VanEnsure(ctx, now, technicianID)
	if errors.Is(err, pgx.ErrNoRows) {
		// a concurrent first use made it after this statement's snapshot: the next one sees it
		r, err = s.q.VanEnsure(ctx, now, technicianID)
	}
	if err != nil {
		return parts.Location{}, notFound(err, "technician", technicianID)
	}
	return locationFrom(db.StockLocation(r)), nil
}

func (s partsStore) GetLocation(ctx context.Context, id int64) (parts.Location, error) {
	r, err := s.q.StockLocationGet(ctx, id)
	if err != nil {
		return parts.Location{}, notFound(err, "stock_location", id)
	}
	return locationFrom(r), nil
}

func (s partsStore) Locations(ctx context.Context) ([]parts.Location, error) {
	rows, err := s.q.StockLocationList(ctx)
	return mapAll(rows, locationFrom), mapErr(err)
}

func moveFrom(r db.StockMove) parts.Move {
	return parts.Move{ID: r.ID, Kind: r.Kind, SKU: r.Sku, Quantity: int(r.Quantity), From: r.FromLocation, To: r.ToLocation, JobID: r.JobID,
		Serial: deref(r.Serial), UnitPriceMinor: r.UnitPriceMinor, UnitCostMinor: r.UnitCostMinor, Note: r.Note,
		Actor: dispatch.Actor{Subject: r.ActorSub, Role: dispatch.Role(r.ActorRole)}, At: r.At.UTC()}
}

// AppendMove writes the move; its trigger changes the balances, and a location left short fails
// stock_never_negative: the move is refused as insufficient_stock, naming what was short where.
func (s partsStore) AppendMove(ctx context.Context, m parts.Move) (parts.Move, error) {
	var serial *string
	if m.Serial != "" {
		serial = &m.Serial
	}
	r, err := s.q.StockMoveInsert(ctx, db.StockMoveInsertParams{Kind: m.Kind, Sku: m.SKU, Quantity: int32(m.Quantity), FromLocation: m.From,
		ToLocation: m.To, JobID: m.JobID, Serial: serial, UnitPriceMinor: m.UnitPriceMinor, UnitCostMinor: m.UnitCostMinor, Note: m.Note,
		ActorSub: m.Actor.Subject, ActorRole: string(m.Actor.Role), At: m.At})
	if err != nil {
		return parts.Move{}, stockErr(err, m.SKU, m.Quantity, m.From)
	}
	return moveFrom(r), nil
}

// stockErr names a shortage: quantity of sku not available (beyond what is reserved) at location at.
func stockErr(err error, sku string, quantity int, at *int64) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23514" && pe.ConstraintName == "stock_never_negative" {
		where := "the location"
		if at != nil {
			where = fmt.Sprintf("location %d", *at)
		}
		return &dispatch.Error{Kind: dispatch.KindConflict, Code: "insufficient_stock", Err: err,
			Message: fmt.Sprintf("%s does not hold %d × %s beyond what is reserved there: move stock to it first, or record the shortage", where, quantity, sku),
			Extra:   map[string]any{"sku": sku, "quantity": quantity}}
	}
	return mapErr(err)
}

func (s partsStore) Balances(ctx context.Context, locationID *int64, sku string) ([]parts.Balance, error) {
	rows, err := s.q.StockBalances(ctx, locationID, sku)
	return mapAll(rows, func(r db.StockBalancesRow) parts.Balance {
		return parts.Balance{LocationID: r.LocationID, SKU: r.Sku, Name: r.Name, OnHand: int(r.OnHand), Reserved: int(r.Reserved),
			InTransit: int(r.InTransit), LowThreshold: intPtr(r.LowThreshold), LowNotifiedAt: utcPtr(r.LowNotifiedAt)}
	}), mapErr(err)
}

func (s partsStore) SetThreshold(ctx context.Context, locationID int64, sku string, threshold *int) (parts.Balance, error) {
	var t *int32
	if threshold != nil {
		v := int32(*threshold)
		t = &v
	}
	r, err := s.q.StockThresholdSet(ctx, locationID, sku, t)
	if err != nil {
		return parts.Balance{}, mapErr(err)
	}
	return parts.Balance{LocationID: r.LocationID, SKU: r.Sku, OnHand: int(r.OnHand), Reserved: int(r.Reserved), InTransit: int(r.InTransit),
		LowThreshold: intPtr(r.LowThreshold), LowNotifiedAt: utcPtr(r.LowNotifiedAt)}, nil
}

func (s partsStore) MarkLow(ctx context.Context, locationID int64, sku string, at time.Time) (*parts.LowStock, error) {
	r, err := s.q.StockLowMark(ctx, &at, locationID, sku)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr(err)
	}
	return &parts.LowStock{LocationID: locationID, LocationName: r.LocationName, SKU: sku, Name: r.PartName, OnHand: int(r.OnHand),
		Threshold: int(r.LowThreshold)}, nil
}

func (s partsStore) DispatcherSubjects(ctx context.Context) ([]string, error) {
	subs, err := s.q.DispatcherSubjects(ctx)
	return subs, mapErr(err)
}

// ---- a job's parts ----

// VansHolding are those of techIDs whose van holds the parts job jobID requires (planning.PartsStock).
func (s planRows) VansHolding(ctx context.Context, jobID int64, techIDs []int64) ([]int64, bool, error) {
	r, err := s.q.VansHolding(ctx, jobID, techIDs)
	if err != nil {
		return nil, false, mapErr(err)
	}
	if !r.Needs {
		return nil, false, nil
	}
	return r.Holders, true, nil
}

func (s partsStore) SetJobParts(ctx context.Context, jobID int64, ps []dispatch.Part) error {
	if err := s.q.JobPartsDelete(ctx, jobID); err != nil {
		return mapErr(err)
	}
	payload, err := json.Marshal(orEmpty(ps))
	if err != nil {
		return err
	}
	return mapErr(s.q.JobPartsInsert(ctx, jobID, payload))
}

func (s partsStore) JobParts(ctx context.Context, jobID int64) ([]parts.Required, error) {
	rows, err := s.q.JobPartsOf(ctx, jobID)
	return mapAll(rows, func(r db.JobPartsOfRow) parts.Required {
		return parts.Required{Part: dispatch.Part{SKU: r.Sku, Name: r.Name, Quantity: int(r.Quantity)}, ReservedAt: r.ReservedAt}
	}), mapErr(err)
}

func (s partsStore) ReserveJobParts(ctx context.Context, jobID int64) error {
	return mapErr(s.q.JobPartsReserve(ctx, jobID))
}

func (s partsStore) ReleaseJobParts(ctx context.Context, jobID int64) error {
	return mapErr(s.q.JobPartsRelease(ctx, jobID))
}

// ---- part requests ----

func requestFrom(r db.PartRequest) parts.Request {
	return parts.Request{ID: r.ID, BookingID: r.BookingID, JobID: r.JobID, ReportedOnJobID: r.ReportedOnJobID, SKU: r.Sku, Quantity: int(r.Quantity),
		State: r.State, Source: r.Source, From: r.FromLocation, To: r.ToLocation, ExpectedAt: r.ExpectedAt.UTC(), ArrivedAt: utcPtr(r.ArrivedAt),
		SupplierRef: r.SupplierRef, CreatedBy: r.CreatedBySub, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: int(r.Version)}
}

func (s partsStore) InsertRequest(ctx context.Context, r parts.Request) (parts.Request, error) {
	row, err := s.q.PartRequestInsert(ctx, db.PartRequestInsertParams{BookingID: r.BookingID, JobID: r.JobID, ReportedOnJobID: r.ReportedOnJobID,
		Sku: r.SKU, Quantity: int32(r.Quantity), State: r.State, Source: r.Source, FromLocation: r.From, ToLocation: r.To, ExpectedAt: r.ExpectedAt,
		SupplierRef: r.SupplierRef, CreatedBySub: r.CreatedBy, CreatedAt: r.CreatedAt})
	return requestFrom(row), mapErr(err)
}

func (s partsStore) GetRequest(ctx context.Context, id int64, lock bool) (parts.Request, error) {
	var (
		r   db.PartRequest
		err error
	)
	if lock {
		r, err = s.q.PartRequestLock(ctx, id)
	} else {
		r, err = s.q.PartRequestGet(ctx, id)
	}
	if err != nil {
		return parts.Request{}, notFound(err, "part_request", id)
	}
	return requestFrom(r), nil
}

func (s partsStore) SaveRequest(ctx context.Context, r parts.Request) (parts.Request, error) {
	row, err := s.q.PartRequestSave(ctx, db.PartRequestSaveParams{ID: r.ID, ReadVersion: int32(r.Version), State: r.State, ToLocation: r.To,
		ExpectedAt: r.ExpectedAt, ArrivedAt: r.ArrivedAt, SupplierRef: r.SupplierRef, UpdatedAt: r.UpdatedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return parts.Request{}, dispatch.Conflict("concurrent_update", "part request %d changed meanwhile", r.ID)
	}
	return requestFrom(row), mapErr(err)
}

func (s partsStore) ListRequests(ctx context.Context, f parts.RequestFilter) ([]parts.Request, error) {
	rows, err := s.q.PartRequestList(ctx, db.PartRequestListParams{State: f.State, BookingID: f.BookingID, JobID: f.JobID, ToLocation: f.ToLocation,
		Before: f.Before, MaxRows: int32(f.Limit)})
	return mapAll(rows, requestFrom), mapErr(err)
}

func (s partsStore) NearestWarehouse(ctx context.Context, sku string, quantity int, near dispatch.Location) (*parts.Location, error) {
	r, err := s.q.NearestWarehouse(ctx, sku, int32(quantity), near.Lat, near.Lng)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr(err)
	}
	l := locationFrom(r)
	return &l, nil
}

func (s partsStore) SetJobNotBefore(ctx context.Context, jobID int64, at *time.Time) error {
	return mapErr(s.q.JobSetNotBefore(ctx, at, jobID))
}

func (s partsStore) SetSupplierDeferred(ctx context.Context, bookingID int64, deferred bool) error {
	return mapErr(s.q.BookingSetSupplierDeferred(ctx, deferred, bookingID))
}

// WarehousesHolding are the warehouses holding the parts job jobID requires (planning.PartsStock).
func (s planRows) WarehousesHolding(ctx context.Context, jobID int64) ([]planning.Warehouse, error) {
	rows, err := s.q.WarehousesHolding(ctx, jobID)
	return mapAll(rows, func(r db.WarehousesHoldingRow) planning.Warehouse {
		return planning.Warehouse{ID: r.ID, Name: r.Name, Location: dispatch.Location{Lat: r.Lat, Lng: r.Lng}}
	}), mapErr(err)
}

// SetJobPickup names the warehouse a job's technician passes first (planning.PartsStock).
func (s planRows) SetJobPickup(ctx context.Context, jobID int64, locationID *int64) error {
	return mapErr(s.q.JobSetPickup(ctx, locationID, jobID))
}

// PickUpJobParts moves a job's parts from its pick-up warehouse to its technician's van (parts.JobParts).
func (s partsStore) PickUpJobParts(ctx context.Context, jobID int64, a dispatch.Actor, at time.Time) (bool, error) {
	ok, err := s.q.JobPickUp(ctx, jobID, a.Subject, string(a.Role), at)
	return ok, mapErr(err)
}

// WarehousesByIDs are those stock locations with their points (planning.PartsStock).
func (s planRows) WarehousesByIDs(ctx context.Context, ids []int64) ([]planning.Warehouse, error) {
	rows, err := s.q.StockLocationsByIDs(ctx, ids)
	return mapAll(rows, func(r db.StockLocationsByIDsRow) planning.Warehouse {
		return planning.Warehouse{ID: r.ID, Name: r.Name, Location: dispatch.Location{Lat: r.Lat, Lng: r.Lng}}
	}), mapErr(err)
}
