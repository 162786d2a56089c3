package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
	"github.com/fieldfix/fieldfix/dispatch/proof"
)

// proofStore is the store of proof of work.
type proofStore struct{ jobRows }

// Proof is the store of checklists, attachments and sign-offs, which a visit's report joins (Join).
func (s *Store) Proof() proof.Store { return proofStore{rowsOf(s)} }

// Tx runs fn in a transaction; inside one already, fn joins it.
func (s proofStore) Tx(ctx context.Context, fn func(proof.Store) error) error {
	return s.inTx(ctx, func(st *Store) error { return fn(st.Proof()) })
}

// Join is the store bound to tx, another area's open transaction.
func (s proofStore) Join(tx dispatch.Tx) proof.Store { return joined(tx).Proof() }

func (s proofStore) TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error) {
	r, err := s.q.TechnicianBySubject(ctx, &subject)
	if err != nil {
		return dispatch.Technician{}, notFound(err, "technician", subject)
	}
	return technicianFrom(r), nil
}

func (s proofStore) GetPurchase(ctx context.Context, id int64) (dispatch.Purchase, error) {
	r, err := s.q.PurchaseGet(ctx, id)
	if err != nil {
		return dispatch.Purchase{}, notFound(err, "purchase", id)
	}
	return purchaseFrom(r), nil
}

// PartPrices are what paid visit jobID charged for each part it consumed, and the currency.
func (s proofStore) PartPrices(ctx context.Context, jobID int64) (map[string]int64, string, error) {
	rows, err := s.q.JobPartPrices(ctx, &jobID)
	if err != nil || len(rows) == 0 {
		return nil, "", err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Sku] = r.UnitPriceMinor
	}
	return out, rows[0].Currency, nil
}

// ---- checklists ----

func templateFrom(r db.ChecklistTemplate) proof.Template {
	var items []proof.Item
	_ = json.Unmarshal(r.Items, &items)
	return proof.Template{ID: r.ID, Name: r.Name, ServiceType: r.ServiceType, Appliance: r.Appliance, Items: items, Active: r.Active,
		Version: int(r.Version), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func (s proofStore) CreateTemplate(ctx context.Context, t proof.Template, now time.Time) (proof.Template, error) {
	items, err := json.Marshal(t.Items)
	if err != nil {
		return proof.Template{}, err
	}
	r, err := s.q.ChecklistTemplateInsert(ctx, db.ChecklistTemplateInsertParams{Name: t.Name, ServiceType: t.ServiceType, Appliance: t.Appliance,
		Items: items, Now: now})
	if err != nil {
		return proof.Template{}, mapErr(err)
	}
	return templateFrom(r), nil
}

func (s proofStore) GetTemplate(ctx context.Context, id int64, lock bool) (proof.Template, error) {
	get := s.q.ChecklistTemplateGet
	if lock {
		get = s.q.ChecklistTemplateLock
	}
	r, err := get(ctx, id)
	if err != nil {
		return proof.Template{}, notFound(err, "checklist", id)
	}
	return templateFrom(r), nil
}

func (s proofStore) SaveTemplate(ctx context.Context, t proof.Template) (proof.Template, error) {
	items, err := json.Marshal(t.Items)
	if err != nil {
		return proof.Template{}, err
	}
	r, err := s.q.ChecklistTemplateSave(ctx, db.ChecklistTemplateSaveParams{ID: t.ID, Name: t.Name, Items: items, Active: t.Active, UpdatedAt: t.UpdatedAt})
	if err != nil {
		return proof.Template{}, mapErr(err)
	}
	return templateFrom(r), nil
}

func (s proofStore) ListTemplates(ctx context.Context) ([]proof.Template, error) {
	rows, err := s.q.ChecklistTemplateList(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, templateFrom), nil
}

func (s proofStore) TemplateFor(ctx context.Context, serviceType, appliance string) (proof.Template, error) {
	r, err := s.q.ChecklistTemplateFor(ctx, serviceType, appliance)
	if err != nil {
		return proof.Template{}, notFound(err, "checklist", serviceType+"/"+appliance)
	}
	return templateFrom(r), nil
}

func checklistFrom(r db.JobChecklist) proof.Checklist {
	c := proof.Checklist{JobID: r.JobID, TemplateID: r.TemplateID, Answers: map[string]any{}, Version: int(r.Version), UpdatedAt: r.UpdatedAt.UTC()}
	_ = json.Unmarshal(r.Items, &c.Items)
	_ = json.Unmarshal(r.Answers, &c.Answers)
	if c.Items == nil {
		c.Items = []proof.Item{}
	}
	return c
}

func (s proofStore) GetChecklist(ctx context.Context, jobID int64) (proof.Checklist, error) {
	r, err := s.q.JobChecklistGet(ctx, jobID)
	if err != nil {
		return proof.Checklist{}, notFound(err, "checklist", jobID)
	}
	return checklistFrom(r), nil
}

func (s proofStore) CreateChecklist(ctx context.Context, c proof.Checklist) error {
	items, err := json.Marshal(c.Items)
	if err != nil {
		return err
	}
	return mapErr(s.q.JobChecklistCreate(ctx, c.JobID, c.TemplateID, items, c.UpdatedAt))
}

func (s proofStore) SaveAnswers(ctx context.Context, c proof.Checklist) (proof.Checklist, error) {
	answers, err := json.Marshal(c.Answers)
	if err != nil {
		return proof.Checklist{}, err
	}
	r, err := s.q.JobChecklistSave(ctx, c.JobID, answers, c.UpdatedAt)
	if err != nil {
		return proof.Checklist{}, mapErr(err)
	}
	return checklistFrom(r), nil
}

// ---- attachments ----

func attachmentFrom(r db.Attachment) proof.Attachment {
	a := proof.Attachment{ID: r.ID, JobID: r.JobID, Kind: r.Kind, ContentType: r.ContentType, Size: r.SizeBytes, SHA256: r.Sha256, BlobKey: r.BlobKey,
		ThumbKey: r.ThumbKey, Filename: r.Filename, TakenAt: utcPtr(r.TakenAt), Lat: r.Lat, Lng: r.Lng, UploadedBy: r.UploadedBy, CreatedAt: r.CreatedAt.UTC()}
	if r.Width != nil && r.Height != nil {
		w, h := int(*r.Width), int(*r.Height)
		a.Width, a.Height = &w, &h
	}
	return a
}

func int32Ptr(v *int) *int32 {
	if v == nil {
		return nil
	}
	x := int32(*v)
	return &x
}

func (s proofStore) AddAttachment(ctx context.Context, a proof.Attachment) (proof.Attachment, error) {
	r, err := s.q.AttachmentInsert(ctx, db.AttachmentInsertParams{JobID: a.JobID, Kind: a.Kind, ContentType: a.ContentType, SizeBytes: a.Size,
		Sha256: a.SHA256, BlobKey: a.BlobKey, ThumbKey: a.ThumbKey, Filename: a.Filename, Width: int32Ptr(a.Width), Height: int32Ptr(a.Height),
		TakenAt: a.TakenAt, Lat: a.Lat, Lng: a.Lng, UploadedBy: a.UploadedBy, CreatedAt: a.CreatedAt})
	if err != nil {
		return proof.Attachment{}, mapErr(err)
	}
	return attachmentFrom(r), nil
}

func (s proofStore) GetAttachment(ctx context.Context, id int64) (proof.Attachment, error) {
	r, err := s.q.AttachmentGet(ctx, id)
	if err != nil {
		return proof.Attachment{}, notFound(err, "attachment", id)
	}
	return attachmentFrom(r), nil
}

func (s proofStore) ListAttachments(ctx context.Context, jobID int64) ([]proof.Attachment, error) {
	rows, err := s.q.AttachmentsOf(ctx, jobID)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, attachmentFrom), nil
}

func (s proofStore) AttachmentUsage(ctx context.Context, jobID int64) (int, int64, error) {
	r, err := s.q.AttachmentUsage(ctx, jobID)
	if err != nil {
		return 0, 0, mapErr(err)
	}
	return int(r.Files), r.Bytes, nil
}

// ---- sign-offs ----

func signOffFrom(r db.Signoff) proof.SignOff {
	s := proof.SignOff{JobID: r.JobID, Method: r.Method, SignerName: r.SignerName, SignatureID: r.SignatureAttachmentID,
		RefusalReason: r.RefusalReason, ComplaintID: r.ComplaintID, TechnicianSub: r.TechnicianSub, SignedAt: r.SignedAt.UTC()}
	if len(r.Strokes) > 0 {
		_ = json.Unmarshal(r.Strokes, &s.Strokes)
	}
	return s
}

func (s proofStore) GetSignOff(ctx context.Context, jobID int64) (proof.SignOff, error) {
	r, err := s.q.SignoffGet(ctx, jobID)
	if err != nil {
		return proof.SignOff{}, notFound(err, "signoff", jobID)
	}
	return signOffFrom(r), nil
}

func (s proofStore) AddSignOff(ctx context.Context, so proof.SignOff) (proof.SignOff, error) {
	var strokes []byte
	if so.Strokes != nil {
		var err error
		if strokes, err = json.Marshal(so.Strokes); err != nil {
			return proof.SignOff{}, err
		}
	}
	r, err := s.q.SignoffInsert(ctx, db.SignoffInsertParams{JobID: so.JobID, Method: so.Method, SignerName: so.SignerName, Strokes: strokes,
		SignatureAttachmentID: so.SignatureID, RefusalReason: so.RefusalReason, ComplaintID: so.ComplaintID, TechnicianSub: so.TechnicianSub,
		SignedAt: so.SignedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return proof.SignOff{}, dispatch.Conflict("already_signed_off", "visit %d is signed off already", so.JobID)
	}
	if err != nil {
		return proof.SignOff{}, mapErr(err)
	}
	return signOffFrom(r), nil
}

func (s proofStore) JobSignedOff(ctx context.Context, jobID int64, method string, at time.Time) error {
	return mapErr(s.q.JobSignedOff(ctx, jobID, &method, &at))
}

func (s proofStore) GetCode(ctx context.Context, jobID int64) (proof.Code, error) {
	r, err := s.q.AcceptanceCodeGet(ctx, jobID)
	if err != nil {
		return proof.Code{}, notFound(err, "acceptance_code", jobID)
	}
	return proof.Code{JobID: r.JobID, Hash: r.CodeHash, ExpiresAt: r.ExpiresAt.UTC(), Attempts: int(r.Attempts), Sends: int(r.Sends), SentAt: r.SentAt.UTC()}, nil
}

func (s proofStore) PutCode(ctx context.Context, jobID int64, hash string, expires, now time.Time) error {
	return mapErr(s.q.AcceptanceCodeUpsert(ctx, jobID, hash, expires, now))
}

func (s proofStore) CodeTried(ctx context.Context, jobID int64) error {
	return mapErr(s.q.AcceptanceCodeTried(ctx, jobID))
}

func (s proofStore) OpenComplaint(ctx context.Context, c dispatch.Complaint) (int64, error) {
	r, err := s.q.ComplaintInsert(ctx, db.ComplaintInsertParams{BookingID: c.BookingID, CustomerID: c.CustomerID, TechnicianID: c.TechnicianID,
		Category: c.Category, Description: c.Description, CreatedAt: c.CreatedAt})
	if errors.Is(err, pgx.ErrNoRows) { // the booking has an open one of this category: the refusal joins it
		id, err := s.q.ComplaintOpenFor(ctx, c.BookingID, c.Category)
		return id, mapErr(err)
	}
	if err != nil {
		return 0, mapErr(err)
	}
	return r.ID, nil
}

func (s proofStore) RefusedSignOffs(ctx context.Context, from, to time.Time) ([]proof.Refusal, error) {
	rows, err := s.q.RefusedSignoffs(ctx, from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, func(r db.RefusedSignoffsRow) proof.Refusal {
		return proof.Refusal{JobID: r.JobID, BookingID: r.BookingID, Reason: r.RefusalReason, ComplaintID: r.ComplaintID,
			TechnicianSub: r.TechnicianSub, TechnicianName: r.TechnicianName, At: r.SignedAt.UTC()}
	}), nil
}

func (s proofStore) SignOffKPIs(ctx context.Context, from, to time.Time) (proof.KPIs, error) {
	r, err := s.q.SignedOffFirstTimeFix(ctx, from, to)
	if err != nil {
		return proof.KPIs{}, mapErr(err)
	}
	return proof.KPIs{SignedOff: int(r.SignedOff), FixedFirstTime: int(r.FixedFirstTime), Refused: int(r.Refused)}, nil
}

// ---- blobs ----

// Blobs keeps attachments' bytes in PostgreSQL (the blobs table): one machine, backed up with the
// rest, no presigned URLs (the API serves the bytes).
type Blobs struct{ *Store }

// Blobs is the PostgreSQL blob store.
func (s *Store) Blobs() proof.Blobs { return Blobs{s} }

func (b Blobs) Put(ctx context.Context, key, contentType string, data []byte) error {
	return mapErr(b.q.BlobPut(ctx, key, contentType, data))
}

func (b Blobs) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := b.q.BlobGet(ctx, key)
	if err != nil {
		return nil, notFound(err, "blob", key)
	}
	return io.NopCloser(bytes.NewReader(r.Content)), nil
}

func (b Blobs) Delete(ctx context.Context, key string) error { return mapErr(b.q.BlobDelete(ctx, key)) }

// URL is "": PostgreSQL has no presigned GETs.
func (Blobs) URL(context.Context, string, time.Duration) (string, error) { return "", nil }
