// Package proof owns the proof of work of a visit: its checklist (from templates staff keep), its
// photos and files, the customer's sign-off (signature, acceptance code or refusal) and the service report.
package proof

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Store is what proof of work reads and writes.
type Store interface {
	dispatch.NoticeStore
	Checklists
	Attachments
	Uploads
	SignOffs
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	// Join is the store bound to tx, another area's open transaction (lifecycle's report).
	Join(tx dispatch.Tx) Store
	GetBooking(ctx context.Context, id int64) (dispatch.Booking, error)
	GetJob(ctx context.Context, id int64) (dispatch.Job, error)
	LockJob(ctx context.Context, id int64) (dispatch.Job, error)
	GetPurchase(ctx context.Context, id int64) (dispatch.Purchase, error)
	// PartPrices are what a paid visit charged for each part it consumed (by SKU), and the currency.
	PartPrices(ctx context.Context, jobID int64) (map[string]int64, string, error)
	TechnicianBySubject(ctx context.Context, subject string) (dispatch.Technician, error)
	AddAudit(ctx context.Context, e dispatch.AuditEvent) error
}

// Checklists are the templates and the visits' checklists.
type Checklists interface {
	CreateTemplate(ctx context.Context, t Template, now time.Time) (Template, error)
	GetTemplate(ctx context.Context, id int64, lock bool) (Template, error)
	SaveTemplate(ctx context.Context, t Template) (Template, error)
	ListTemplates(ctx context.Context) ([]Template, error)
	// TemplateFor is the active template for a service type and appliance (the appliance's own,
	// else the service type's catch-all); not found when there is none.
	TemplateFor(ctx context.Context, serviceType, appliance string) (Template, error)
	GetChecklist(ctx context.Context, jobID int64) (Checklist, error)
	// CreateChecklist gives a visit its checklist unless it has one already.
	CreateChecklist(ctx context.Context, c Checklist) error
	SaveAnswers(ctx context.Context, c Checklist) (Checklist, error)
}

// Attachments are the rows of a visit's photos and files (their bytes are in Blobs).
type Attachments interface {
	AddAttachment(ctx context.Context, a Attachment) (Attachment, error)
	GetAttachment(ctx context.Context, id int64) (Attachment, error)
	ListAttachments(ctx context.Context, jobID int64) ([]Attachment, error)
	// AttachmentUsage is the count and bytes of a visit's photos and files (signatures aside).
	AttachmentUsage(ctx context.Context, jobID int64) (files int, bytes int64, err error)
}

// SignOffs are the customers' sign-offs and acceptance codes.
type SignOffs interface {
	GetSignOff(ctx context.Context, jobID int64) (SignOff, error)
	// AddSignOff records a visit's sign-off; a visit signed off already is a conflict.
	AddSignOff(ctx context.Context, s SignOff) (SignOff, error)
	// JobSignedOff writes the sign-off's method and time on the visit's own row.
	JobSignedOff(ctx context.Context, jobID int64, method string, at time.Time) error
	// GetCode reads a visit's acceptance code, its row locked until the transaction ends.
	GetCode(ctx context.Context, jobID int64) (Code, error)
	// PutCode issues (or replaces, counting the sends) a visit's code with no tries made.
	PutCode(ctx context.Context, jobID int64, hash string, expires, now time.Time) error
	CodeTried(ctx context.Context, jobID int64) error
	// OpenComplaint files a complaint on the booking, or hands back the open one of that category.
	OpenComplaint(ctx context.Context, c dispatch.Complaint) (int64, error)
	RefusedSignOffs(ctx context.Context, from, to time.Time) ([]Refusal, error)
	SignOffKPIs(ctx context.Context, from, to time.Time) (KPIs, error)
}

// Blobs keep the bytes of attachments: PostgreSQL by default, or an S3-compatible store.
type Blobs interface {
	Put(ctx context.Context, key, contentType string, data []byte) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
	// URL is a presigned GET of key, valid for ttl, that a client fetches the bytes from without
	// the API; "" when the store has none (the API serves the bytes).
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)
	// PutURL is a presigned PUT of key, valid for ttl, that a client sends the bytes to without
	// the API; "" when the store has none (the API takes the bytes).
	PutURL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Renderer turns a service report into a document (a PDF).
type Renderer interface {
	Render(r Report) ([]byte, error)
}

// Sign-off policies: how the business has the customer agree that the repair is done.
const (
	SignOffOptional  = "none"      // either way is taken, neither is needed to complete
	SignOffAny       = "any"       // needed: a signature or the acceptance code
	SignOffSignature = "signature" // needed: a signature
	SignOffCode      = "code"      // needed: the acceptance code
)

// Policy is the business's choices on proof of work.
type Policy struct {
	SignOff       string        // SignOffOptional, SignOffAny, SignOffSignature or SignOffCode
	CodeTTL       time.Duration // how long an acceptance code is good for
	MaxFileBytes  int64         // one photo or file
	MaxVisitFiles int           // photos and files of one visit
	MaxVisitBytes int64         // bytes of one visit's photos and files
	URLTTL        time.Duration // how long a presigned GET is good for
	Company       string        // the report's header
}

// DefaultPolicy: sign-off optional, codes good for 30 minutes, 10 MB a file, 30 files and 200 MB a visit.
func DefaultPolicy() Policy {
	return Policy{SignOff: SignOffOptional, CodeTTL: 30 * time.Minute, MaxFileBytes: 10 << 20, MaxVisitFiles: 30,
		MaxVisitBytes: 200 << 20, URLTTL: 15 * time.Minute, Company: "FieldFix"}
}

// Service is proof of work: checklists, attachments, sign-off and the service report.
type Service struct {
	*dispatch.Env
	Store    Store
	Blobs    Blobs
	Renderer Renderer // nil: no PDF
	Policy   Policy
}

// New is proof of work over store, keeping bytes in blobs.
func New(store Store, env *dispatch.Env, blobs Blobs) *Service {
	return &Service{Env: env, Store: store, Blobs: blobs, Policy: DefaultPolicy()}
}

// visit is a job with its booking, as the caller may see it.
type visit struct {
	Job     dispatch.Job
	Booking dispatch.Booking
}

// visitFor reads job id for a: its technician, the booking's customer, or staff; anyone else is
// told it does not exist. With lock, the job's row is locked until the transaction ends.
func visitFor(ctx context.Context, st Store, a dispatch.Actor, id int64, lock bool) (visit, error) {
	var (
		j   dispatch.Job
		err error
	)
	if lock {
		j, err = st.LockJob(ctx, id)
	} else {
		j, err = st.GetJob(ctx, id)
	}
	if err != nil {
		return visit{}, err
	}
	b, err := st.GetBooking(ctx, j.BookingID)
	if err != nil {
		return visit{}, err
	}
	switch a.Role {
	case dispatch.RoleDispatcher, dispatch.RoleAdmin:
	case dispatch.RoleCustomer:
		if b.CustomerSubject != a.Subject {
			return visit{}, dispatch.NotFound("job", id)
		}
	case dispatch.RoleTechnician:
		t, err := st.TechnicianBySubject(ctx, a.Subject)
		if errors.Is(err, dispatch.ErrNotFound) || (err == nil && (j.TechnicianID == nil || *j.TechnicianID != t.ID)) {
			return visit{}, dispatch.NotFound("job", id)
		}
		if err != nil {
			return visit{}, err
		}
	default:
		return visit{}, dispatch.NotFound("job", id)
	}
	return visit{Job: j, Booking: b}, nil
}

// working refuses a visit that is not in the technician's hands: not yet accepted, or over.
func working(j dispatch.Job) error {
	switch j.Status {
	case dispatch.JobAccepted, dispatch.JobEnRoute, dispatch.JobOnSite:
		return nil
	case dispatch.JobCompleted, dispatch.JobIncomplete:
		return dispatch.Conflict("visit_closed", "visit %d is %s: its proof of work is closed", j.ID, j.Status)
	}
	return dispatch.Conflict("visit_not_started", "visit %d is %s: proof of work starts once the technician has accepted it", j.ID, j.Status)
}
