// Package parts owns spare parts: the catalogue (and its CSV import), the stock of each warehouse
// and van as an append-only ledger of moves, the parts a job needs and those a visit consumed,
// and the part requests that an incomplete visit opens when a part must be fetched or ordered.
package parts

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/offers"
)

// Store is the parts area's store.
type Store interface {
	offers.Writer
	Catalogue
	Faults
	Stock
	JobParts
	Requests
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// Join is the store bound to tx, another area's open transaction (for a hook).
	Join(tx dispatch.Tx) Store
	TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error)
}

// Catalogue keeps the parts by SKU.
type Catalogue interface {
	// UpsertParts adds the parts, or replaces those of their SKUs, in one statement; created
	// counts the new ones.
	UpsertParts(ctx context.Context, ps []Part) (created int, err error)
	// ListParts are the parts f asks for, by SKU.
	ListParts(ctx context.Context, f PartFilter) ([]Part, error)
	// PartsBySKU are the catalogue's parts among skus (unknown ones left out).
	PartsBySKU(ctx context.Context, skus []string) ([]Part, error)
}

// Service is the parts area: the catalogue, stock, a job's parts and part requests.
type Service struct {
	*dispatch.Env
	Store  Store
	Offers *offers.Service // plans a job again when its parts are not where it is
}

// New is the parts area over store, planning jobs again through offers.
func New(store Store, env *dispatch.Env, offers *offers.Service) *Service {
	return &Service{Env: env, Store: store, Offers: offers}
}

// Part is a spare part of the catalogue.
type Part struct {
	SKU            string
	Name           string   // in any language
	Categories     []string // the appliances it fits (dispatch.Appliances)
	Models         []string // the models it fits; none: any of its categories
	UnitPriceMinor int64    // what a paid repair is charged for one
	CostMinor      *int64   // what it costs the business (warranty claims)
	SerialTracked  bool     // each unit has a serial number, reported when it is used
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// PartFilter narrows the catalogue: parts of a category, fitting a model, whose SKU or name
// holds Query; SKUs after After, at most Limit.
type PartFilter struct {
	Category, Model, Query string
	After                  string
	Limit                  int
}

// Faults are the common faults of each appliance category and the parts they usually need.
type Faults interface {
	AddFault(ctx context.Context, f Fault) (Fault, error)
	// Faults of one category ("": all).
	Faults(ctx context.Context, category string) ([]Fault, error)
	DeleteFault(ctx context.Context, id int64) (bool, error)
	// FaultsFor are the faults of category that problem mentions, ignoring case.
	FaultsFor(ctx context.Context, category, problem string) ([]Fault, error)
}

// Fault is a common fault of an appliance category and a part it usually needs.
type Fault struct {
	ID        int64
	Category  string
	Fault     string // words a booking's problem mentions (any language)
	SKU, Name string
	Quantity  int
	CreatedAt time.Time
}
