package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/parts"
)

// partsHandlers serve the catalogue, stock, a job's parts and part requests.
type partsHandlers struct{ Deps }

// MaxImportBytes bounds a catalogue import (50,000 rows of a few hundred bytes).
const MaxImportBytes = 32 << 20

type partDTO struct {
	SKU            string     `json:"sku"`
	Name           string     `json:"name"`
	Categories     []string   `json:"categories"`
	Models         []string   `json:"models"`
	UnitPriceMinor *int64     `json:"unit_price_minor"`
	CostMinor      *int64     `json:"cost_minor,omitempty"`
	SerialTracked  bool       `json:"serial_tracked"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
}

func partOut(p parts.Part) partDTO {
	return partDTO{SKU: p.SKU, Name: p.Name, Categories: p.Categories, Models: p.Models, UnitPriceMinor: &p.UnitPriceMinor,
		CostMinor: p.CostMinor, SerialTracked: p.SerialTracked, CreatedAt: &p.CreatedAt, UpdatedAt: &p.UpdatedAt}
}

func (h partsHandlers) savePart(c echo.Context) error {
	var req partDTO
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.UnitPriceMinor == nil {
		return problem(http.StatusBadRequest, "missing_field", "unit_price_minor is required (minor units; 0 for a part given free)")
	}
	p, created, err := h.Services.Parts.SavePart(c.Request().Context(), actor(c), parts.Part{SKU: req.SKU, Name: req.Name, Categories: req.Categories,
		Models: req.Models, UnitPriceMinor: *req.UnitPriceMinor, CostMinor: req.CostMinor, SerialTracked: req.SerialTracked})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, partOut(p))
}

type partListDTO struct {
	Items     []partDTO `json:"items"`
	NextAfter *string   `json:"next_after,omitempty"`
}

func (h partsHandlers) listParts(c echo.Context) error {
	if err := onlyQuery(c, "category", "model", "q", "after"); err != nil {
		return err
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	f := parts.PartFilter{Category: c.QueryParam("category"), Model: c.QueryParam("model"), Query: c.QueryParam("q"), After: c.QueryParam("after"), Limit: int(limit)}
	ps, err := h.Services.Parts.Parts(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := partListDTO{Items: make([]partDTO, 0, len(ps))}
	for _, p := range ps {
		out.Items = append(out.Items, partOut(p))
	}
	if n := len(ps); n > 0 && (n == int(limit) || (limit == 0 && n == 100)) {
		out.NextAfter = &ps[n-1].SKU
	}
	return c.JSON(http.StatusOK, out)
}

// importParts takes a CSV file as the body (text/csv); a refused import is 422 import_rejected
// with every rejected row.
func (h partsHandlers) importParts(c echo.Context) error {
	body := http.MaxBytesReader(c.Response(), c.Request().Body, MaxImportBytes)
	rep, err := h.Services.Parts.ImportCSV(c.Request().Context(), actor(c), body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("an import is at most %d bytes", MaxImportBytes))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"rows": rep.Rows, "created": rep.Created, "updated": rep.Updated, "rejected": []parts.Rejection{}})
}

// ---- stock ----

type stockLocationDTO struct {
	ID           int64              `json:"id"`
	Kind         string             `json:"kind"`
	Name         string             `json:"name"`
	Address      string             `json:"address,omitempty"`
	Location     *dispatch.Location `json:"location,omitempty"`
	TechnicianID *int64             `json:"technician_id,omitempty"`
	CreatedAt    time.Time          `json:"created_at"`
}

func stockLocationOut(l parts.Location) stockLocationDTO {
	return stockLocationDTO{ID: l.ID, Kind: l.Kind, Name: l.Name, Address: l.Address, Location: l.Place, TechnicianID: l.TechnicianID, CreatedAt: l.CreatedAt}
}

type warehouseRequest struct {
	Name     string             `json:"name"`
	Address  string             `json:"address"`
	Location *dispatch.Location `json:"location"`
}

func (h partsHandlers) addWarehouse(c echo.Context) error {
	var req warehouseRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Location == nil {
		return problem(http.StatusBadRequest, "missing_field", "a warehouse needs its location {lat, lng}")
	}
	l, err := h.Services.Parts.AddWarehouse(c.Request().Context(), actor(c), req.Name, req.Address, *req.Location)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, stockLocationOut(l))
}

func (h partsHandlers) listLocations(c echo.Context) error {
	if err := onlyQuery(c); err != nil {
		return err
	}
	ls, err := h.Services.Parts.Locations(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	out := listDTO[stockLocationDTO]{Items: make([]stockLocationDTO, 0, len(ls))}
	for _, l := range ls {
		out.Items = append(out.Items, stockLocationOut(l))
	}
	return c.JSON(http.StatusOK, out)
}

type balanceDTO struct {
	SKU          string `json:"sku"`
	Name         string `json:"name"`
	OnHand       int    `json:"on_hand"`
	Reserved     int    `json:"reserved"`
	Available    int    `json:"available"`
	InTransit    int    `json:"in_transit"`
	LowThreshold *int   `json:"low_threshold,omitempty"`
	Low          bool   `json:"low"`
}

func balanceOut(b parts.Balance) balanceDTO {
	return balanceDTO{SKU: b.SKU, Name: b.Name, OnHand: b.OnHand, Reserved: b.Reserved, Available: b.Available(), InTransit: b.InTransit,
		LowThreshold: b.LowThreshold, Low: b.LowThreshold != nil && b.OnHand < *b.LowThreshold}
}

func (h partsHandlers) stock(c echo.Context) error {
	if err := onlyQuery(c, "location", "sku"); err != nil {
		return err
	}
	l, bs, err := h.Services.Parts.StockAt(c.Request().Context(), actor(c), c.QueryParam("location"), c.QueryParam("sku"))
	if err != nil {
		return err
	}
	items := make([]balanceDTO, 0, len(bs))
	for _, b := range bs {
		items = append(items, balanceOut(b))
	}
	return c.JSON(http.StatusOK, map[string]any{"location": stockLocationOut(l), "items": items})
}

type moveDTO struct {
	ID             int64     `json:"id"`
	Kind           string    `json:"kind"`
	SKU            string    `json:"sku"`
	Quantity       int       `json:"quantity"`
	From           *int64    `json:"from_location_id,omitempty"`
	To             *int64    `json:"to_location_id,omitempty"`
	JobID          *int64    `json:"job_id,omitempty"`
	Serial         string    `json:"serial,omitempty"`
	UnitPriceMinor *int64    `json:"unit_price_minor,omitempty"`
	Note           string    `json:"note,omitempty"`
	By             string    `json:"by"`
	At             time.Time `json:"at"`
}

func moveOut(m parts.Move) moveDTO {
	return moveDTO{ID: m.ID, Kind: m.Kind, SKU: m.SKU, Quantity: m.Quantity, From: m.From, To: m.To, JobID: m.JobID, Serial: m.Serial,
		UnitPriceMinor: m.UnitPriceMinor, Note: m.Note, By: m.Actor.Subject, At: m.At}
}

type moveRequest struct {
	Kind     string `json:"kind"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	JobID    *int64 `json:"job_id,omitempty"`
	Serial   string `json:"serial,omitempty"`
	Note     string `json:"note,omitempty"`
}

func (h partsHandlers) recordMove(c echo.Context) error {
	var req moveRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	m, err := h.Services.Parts.RecordMove(c.Request().Context(), actor(c), parts.MoveRequest(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, moveOut(m))
}

type thresholdRequest struct {
	Location     string  `json:"location"`
	SKU          string  `json:"sku"`
	LowThreshold jsonInt `json:"low_threshold"`
}

// jsonInt is an integer field that must be given (Given), as a number (Set) or null.
type jsonInt struct {
	Given, Set bool
	Value      int
}

func (j *jsonInt) UnmarshalJSON(b []byte) error {
	j.Given = true
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &j.Value); err != nil {
		return dispatch.Invalid("low_threshold", "invalid_threshold", "low_threshold is a whole number, or null to remove it")
	}
	j.Set = true
	return nil
}

func (h partsHandlers) setThreshold(c echo.Context) error {
	var req thresholdRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Location == "" || req.SKU == "" || !req.LowThreshold.Given {
		return dispatch.Invalid("low_threshold", "missing_field", "location, sku and low_threshold (a number, or null to remove it) are required")
	}
	var t *int
	if req.LowThreshold.Set {
		t = &req.LowThreshold.Value
	}
	b, err := h.Services.Parts.SetThreshold(c.Request().Context(), actor(c), req.Location, req.SKU, t)
	if err != nil {
		return err
	}
	out := balanceOut(b)
	return c.JSON(http.StatusOK, map[string]any{"location_id": b.LocationID, "sku": out.SKU, "name": out.Name, "on_hand": out.OnHand,
		"low_threshold": out.LowThreshold, "low": out.Low})
}

// ---- a job's parts ----

type requiredPartDTO struct {
	SKU        string `json:"sku"`
	Name       string `json:"name,omitempty"`
	Quantity   int    `json:"quantity"`
	ReservedAt *int64 `json:"reserved_at_location_id"`
}

type jobPartsRequest struct {
	Parts []requiredPartDTO `json:"parts"`
}

func (h partsHandlers) putJobParts(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req jobPartsRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Parts == nil {
		return problem(http.StatusBadRequest, "missing_field", "parts is required ([] for none)")
	}
	lines := make([]dispatch.Part, len(req.Parts))
	for i, p := range req.Parts {
		lines[i] = dispatch.Part{SKU: p.SKU, Quantity: p.Quantity}
	}
	a := actor(c)
	j, req2, err := h.Services.Parts.SetRequiredParts(c.Request().Context(), a, id, lines)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"job": jobOut(j, a), "parts": requiredOut(req2)})
}

// pickUp answers POST /v1/jobs/{id}/pickup: the technician collected the visit's parts at the
// warehouse of its pick-up stop; they are in the van now.
func (h partsHandlers) pickUp(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a := actor(c)
	j, req, err := h.Services.Parts.PickUp(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"job": jobOut(j, a), "parts": requiredOut(req)})
}

// requiredOut are a job's required parts as the API gives them.
func requiredOut(req []parts.Required) []requiredPartDTO {
	out := make([]requiredPartDTO, len(req))
	for i, r := range req {
		out[i] = requiredPartDTO{SKU: r.SKU, Name: r.Name, Quantity: r.Quantity, ReservedAt: r.ReservedAt}
	}
	return out
}

type faultDTO struct {
	ID        int64     `json:"id"`
	Category  string    `json:"category"`
	Fault     string    `json:"fault"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Quantity  int       `json:"quantity"`
	CreatedAt time.Time `json:"created_at"`
}

func faultOut(f parts.Fault) faultDTO {
	return faultDTO{ID: f.ID, Category: f.Category, Fault: f.Fault, SKU: f.SKU, Name: f.Name, Quantity: f.Quantity, CreatedAt: f.CreatedAt}
}

type faultRequest struct {
	Category string `json:"category"`
	Fault    string `json:"fault"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity,omitempty"`
}

func (h partsHandlers) addFault(c echo.Context) error {
	var req faultRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	f, err := h.Services.Parts.AddFault(c.Request().Context(), actor(c), parts.Fault{Category: req.Category, Fault: req.Fault, SKU: req.SKU, Quantity: req.Quantity})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, faultOut(f))
}

func (h partsHandlers) listFaults(c echo.Context) error {
	if err := onlyQuery(c, "category"); err != nil {
		return err
	}
	fs, err := h.Services.Parts.ListFaults(c.Request().Context(), actor(c), c.QueryParam("category"))
	if err != nil {
		return err
	}
	out := make([]faultDTO, len(fs))
	for i, f := range fs {
		out[i] = faultOut(f)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (h partsHandlers) deleteFault(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Services.Parts.DeleteFault(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h partsHandlers) getJobParts(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	req, suggested, err := h.Services.Parts.JobPartsView(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	sug := make([]faultDTO, len(suggested))
	for i, f := range suggested {
		sug[i] = faultOut(f)
	}
	return c.JSON(http.StatusOK, map[string]any{"job_id": id, "parts": requiredOut(req), "suggested": sug})
}

// ---- part requests ----

type partRequestDTO struct {
	ID              int64      `json:"id"`
	BookingID       int64      `json:"booking_id"`
	JobID           int64      `json:"job_id"`
	ReportedOnJobID *int64     `json:"reported_on_job_id,omitempty"`
	SKU             string     `json:"sku"`
	Quantity        int        `json:"quantity"`
	State           string     `json:"state"`
	Source          string     `json:"source"`
	From            *int64     `json:"from_location_id,omitempty"`
	To              int64      `json:"to_location_id"`
	ExpectedAt      time.Time  `json:"expected_at"`
	ArrivedAt       *time.Time `json:"arrived_at,omitempty"`
	SupplierRef     string     `json:"supplier_ref,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	Version         int        `json:"version"`
}

func partRequestOut(r parts.Request) partRequestDTO {
	return partRequestDTO{ID: r.ID, BookingID: r.BookingID, JobID: r.JobID, ReportedOnJobID: r.ReportedOnJobID, SKU: r.SKU, Quantity: r.Quantity,
		State: r.State, Source: r.Source, From: r.From, To: r.To, ExpectedAt: r.ExpectedAt, ArrivedAt: r.ArrivedAt, SupplierRef: r.SupplierRef,
		CreatedAt: r.CreatedAt, Version: r.Version}
}

type partRequestRequest struct {
	JobID      *int64     `json:"job_id"`
	SKU        string     `json:"sku"`
	Quantity   int        `json:"quantity"`
	ExpectedAt *time.Time `json:"expected_at,omitempty"`
}

func (h partsHandlers) createPartRequest(c echo.Context) error {
	var req partRequestRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.JobID == nil {
		return problem(http.StatusBadRequest, "missing_field", "job_id is required: the job that will fit the part")
	}
	r, err := h.Services.Parts.RequestPart(c.Request().Context(), actor(c), *req.JobID, req.SKU, req.Quantity, req.ExpectedAt)
	if err != nil {
		return err
	}
	setETag(c, r.Version)
	return c.JSON(http.StatusCreated, partRequestOut(r))
}

func (h partsHandlers) listPartRequests(c echo.Context) error {
	if err := onlyQuery(c, "state", "booking_id", "job_id"); err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	f := parts.RequestFilter{State: c.QueryParam("state"), Page: page}
	for name, dst := range map[string]**int64{"booking_id": &f.BookingID, "job_id": &f.JobID} {
		if v, err := queryInt(c, name); err != nil {
			return err
		} else if v > 0 {
			*dst = &v
		}
	}
	rs, err := h.Services.Parts.PartRequests(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := listDTO[partRequestDTO]{Items: make([]partRequestDTO, 0, len(rs))}
	for _, r := range rs {
		out.Items = append(out.Items, partRequestOut(r))
	}
	if n := len(rs); n > 0 {
		out.NextBefore = nextBefore(page, n, rs[n-1].ID)
	}
	return c.JSON(http.StatusOK, out)
}

type partRequestPatch struct {
	State       string     `json:"state,omitempty"`
	ExpectedAt  *time.Time `json:"expected_at,omitempty"`
	SupplierRef *string    `json:"supplier_ref,omitempty"`
}

func (h partsHandlers) updatePartRequest(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req partRequestPatch
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := h.Services.Parts.UpdateRequest(c.Request().Context(), actor(c), id, parts.RequestPatch{State: req.State, ExpectedAt: req.ExpectedAt,
		SupplierRef: req.SupplierRef, Version: version})
	if err != nil {
		return err
	}
	setETag(c, r.Version)
	return c.JSON(http.StatusOK, partRequestOut(r))
}
