package proof

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Report is a visit's service report: what the PDF shows and GET .../report answers.
type Report struct {
	Company         string
	JobID           int64
	BookingID       int64
	Visit           int
	Reference       string // how people name the visit (dispatch.Job.Reference)
	Status          string
	CustomerSubject string
	Address         string
	ServiceType     string
	Appliance       string
	Brand, Model    string
	Serial          string
	Tier            string
	Warranty        string // the warranty's standing: verified, unverified, none
	Problem         string
	Outcome         string
	Notes           string
	Checklist       []Answer
	Parts           []dispatch.Part
	Prices          map[string]int64 // a paid visit's unit price of each part it consumed (minor units), by SKU
	Currency        string           // of Prices
	Photos          []Photo
	ArrivedAt       *time.Time
	FinishedAt      *time.Time
	SignOff         *SignOff
	Signature       []byte // the signature PNG, when it was sent as one
	Technician      string
	GeneratedAt     time.Time
	Zone            *time.Location // the business's zone, in which the report tells times (nil: UTC)
}

// Answer is a checklist line as the report shows it.
type Answer struct {
	Key, Label, Kind string
	Required         bool
	Value            string // "" when unanswered
}

// Photo is an attachment as the report lists it, with its thumbnail's bytes (JPEG) when it has one.
type Photo struct {
	Attachment
	Thumbnail []byte
}

// VisitReport assembles visit jobID's report (its technician, staff, the booking's customer).
func (s *Service) VisitReport(ctx context.Context, a dispatch.Actor, jobID int64, thumbnails bool) (Report, error) {
	var (
		r Report
		c Checklist
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		v, err := visitFor(ctx, st, a, jobID, false)
		if err != nil {
			return err
		}
		if c, err = s.checklistOf(ctx, st, v); err != nil {
			return err
		}
		b, j := v.Booking, v.Job
		r = Report{Company: s.Policy.Company, JobID: j.ID, BookingID: b.ID, Visit: j.Visit, Reference: j.Reference(), Status: string(j.Status), CustomerSubject: b.CustomerSubject,
			Address: b.Address, ServiceType: string(b.ServiceType), Appliance: b.Appliance, Tier: string(b.Tier), Warranty: "none", Problem: b.Problem,
			Outcome: j.Outcome, Notes: j.Notes, Parts: j.PartsUsed, ArrivedAt: j.OnSiteAt, FinishedAt: j.FinishedAt, Technician: j.TechnicianName,
			GeneratedAt: s.Now(), Zone: s.Rules.Zone()}
		if b.WarrantyVerified != nil {
			r.Warranty = map[bool]string{true: "verified", false: "unverified"}[*b.WarrantyVerified]
		}
		if b.PurchaseID != nil {
			p, err := st.GetPurchase(ctx, *b.PurchaseID)
			if err != nil {
				return err
			}
			r.Brand, r.Model, r.Serial = p.Brand, p.Model, p.Serial
		}
		if r.Prices, r.Currency, err = st.PartPrices(ctx, jobID); err != nil {
			return err
		}
		so, err := st.GetSignOff(ctx, jobID)
		switch {
		case err == nil:
			r.SignOff = &so
		case !errors.Is(err, dispatch.ErrNotFound):
			return err
		}
		atts, err := st.ListAttachments(ctx, jobID)
		if err != nil {
			return err
		}
		for _, at := range atts {
			if at.Kind == "signature" {
				if r.SignOff != nil && r.SignOff.SignatureID != nil && *r.SignOff.SignatureID == at.ID {
					if r.Signature, err = read(ctx, s.Blobs, at.BlobKey); err != nil {
						return err
					}
				}
				continue
			}
			ph := Photo{Attachment: at}
			if thumbnails && at.ThumbKey != nil {
				if ph.Thumbnail, err = read(ctx, s.Blobs, *at.ThumbKey); err != nil {
					return err
				}
			}
			r.Photos = append(r.Photos, ph)
		}
		return nil
	})
	for _, it := range c.Items {
		r.Checklist = append(r.Checklist, Answer{Key: it.Key, Label: it.Label, Kind: it.Kind, Required: it.Required, Value: answerText(it, c.Answers[it.Key])})
	}
	return r, err
}

func read(ctx context.Context, blobs Blobs, key string) ([]byte, error) {
	rc, err := blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// answerText shows an answer: yes/no, a number with its unit, the text, or the photo's id.
func answerText(it Item, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return map[bool]string{true: "yes", false: "no"}[x]
	case float64:
		if it.Kind == "photo" {
			return fmt.Sprintf("photo #%d", int64(x))
		}
		out := strconv.FormatFloat(x, 'f', -1, 64)
		if it.Unit != "" {
			out += " " + it.Unit
		}
		return out
	case int64:
		return fmt.Sprintf("photo #%d", x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// ReportPDF renders visit jobID's report as a PDF.
func (s *Service) ReportPDF(ctx context.Context, a dispatch.Actor, jobID int64) ([]byte, error) {
	if s.Renderer == nil {
		return nil, errors.New("proof: no report renderer configured")
	}
	r, err := s.VisitReport(ctx, a, jobID, true)
	if err != nil {
		return nil, err
	}
	return s.Renderer.Render(r)
}

// Refusal is a refused sign-off as the report of refusals lists it.
type Refusal struct {
	JobID, BookingID int64
	Reason           string
	ComplaintID      *int64
	TechnicianSub    string
	TechnicianName   string
	At               time.Time
}

// KPIs of sign-off over a period: first-time fix counted on signed-off visits.
type KPIs struct {
	SignedOff      int // visits completed in the period with the customer's sign-off
	FixedFirstTime int // of those, the ones not followed by a revisit within 30 days
	Refused        int // sign-offs refused in the period
}

// FirstTimeFixRate is FixedFirstTime over SignedOff; nil when nothing was signed off.
func (k KPIs) FirstTimeFixRate() *float64 {
	if k.SignedOff == 0 {
		return nil
	}
	r := float64(k.FixedFirstTime) / float64(k.SignedOff)
	return &r
}

// SignOffReport is the sign-off KPIs and the refusals of [from, to) (staff).
func (s *Service) SignOffReport(ctx context.Context, a dispatch.Actor, from, to time.Time) (KPIs, []Refusal, error) {
	if !a.Staff() {
		return KPIs{}, nil, dispatch.Forbidden("only staff read sign-off reports")
	}
	if !from.Before(to) || to.Sub(from) > 366*24*time.Hour {
		return KPIs{}, nil, dispatch.Invalid("from", "invalid_period", "from must be before to, at most a year apart")
	}
	k, err := s.Store.SignOffKPIs(ctx, from, to)
	if err != nil {
		return KPIs{}, nil, err
	}
	rs, err := s.Store.RefusedSignOffs(ctx, from, to)
	return k, rs, err
}
