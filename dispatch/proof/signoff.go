package proof

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Acceptance code limits: tries per code, sends per visit, and the wait between two sends.
const (
	CodeTries     = 5
	CodeMaxSends  = 5
	CodeResendGap = time.Minute
)

// SignOff is the customer's word on a visit.
type SignOff struct {
	JobID         int64
	Method        string         // signature, code or refused
	SignerName    string         // who signed or refused
	Strokes       [][][2]float64 // a drawn signature: strokes of points (x, y), any scale
	SignatureID   *int64         // a signature sent as a PNG: its attachment
	RefusalReason string
	ComplaintID   *int64 // the complaint a refusal opened
	TechnicianSub string
	SignedAt      time.Time
}

// Code is a visit's acceptance code as kept: a salted hash, its expiry, tries and sends.
type Code struct {
	JobID     int64
	Hash      string // salt:sha256
	ExpiresAt time.Time
	Attempts  int
	Sends     int
	SentAt    time.Time
}

// SignOffRequest is what the technician sends: a signature (strokes or a PNG, with the signer's
// name), the code the customer read out, or the customer's refusal with its reason.
type SignOffRequest struct {
	Method     string
	SignerName string
	Strokes    [][][2]float64
	PNG        []byte
	Code       string
	Reason     string
}

// allows reports whether the business takes sign-offs by method.
func (p Policy) allows(method string) bool {
	switch method {
	case "refused":
		return true
	case "signature":
		return p.SignOff != SignOffCode
	case "code":
		return p.SignOff != SignOffSignature
	}
	return false
}

func hashCode(salt, code string) string {
	sum := sha256.Sum256([]byte(salt + ":" + code))
	return salt + ":" + hex.EncodeToString(sum[:])
}

func codeMatches(stored, code string) bool {
	salt, _, ok := strings.Cut(stored, ":")
	return ok && subtle.ConstantTimeCompare([]byte(hashCode(salt, code)), []byte(stored)) == 1
}

// newCode is 6 random digits.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// sendCode issues a new acceptance code for visit v and sends it to the customer (inbox and push,
// through the outbox), in st's transaction.
func (s *Service) sendCode(ctx context.Context, st Store, v visit) error {
	code, err := newCode()
	if err != nil {
		return err
	}
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	now := s.Now()
	expires := now.Add(s.Policy.CodeTTL)
	if err := st.PutCode(ctx, v.Job.ID, hashCode(hex.EncodeToString(salt), code), expires, now); err != nil {
		return err
	}
	return s.TellCustomer(ctx, st, v.Booking, v.Job, "acceptance_code", "Your acceptance code: "+code,
		fmt.Sprintf("When you are satisfied with the repair of your %s, give the technician the code %s. It is good until %s. Do not give it before the work is done.",
			v.Booking.Appliance, code, expires.In(s.Rules.Zone()).Format("15:04 MST")),
		map[string]any{"job_id": v.Job.ID, "expires_at": expires})
}

// arrived: on site, a business that takes codes sends the customer one.
func (s *Service) arrived(ctx context.Context, st Store, v visit) error {
	if s.Policy.SignOff == SignOffOptional || !s.Policy.allows("code") {
		return nil
	}
	return s.sendCode(ctx, st, v)
}

// completed: the sign-off the business needs, then the service report sent to the customer.
func (s *Service) completed(ctx context.Context, st Store, v visit) error {
	so, err := st.GetSignOff(ctx, v.Job.ID)
	switch {
	case errors.Is(err, dispatch.ErrNotFound):
		if s.Policy.SignOff != SignOffOptional {
			return dispatch.Conflict("signoff_missing", "the customer has not signed off visit %d (%s): sign-off first (POST /v1/jobs/%d/signoff)",
				v.Job.ID, s.Policy.SignOff, v.Job.ID)
		}
	case err != nil:
		return err
	case so.Method == "refused":
		// The refusal opened a complaint; the visit still ends, and the report says it was refused.
	}
	return s.TellCustomer(ctx, st, v.Booking, v.Job, "service_report", "Your service report",
		fmt.Sprintf("The report of the visit to repair your %s is ready.", v.Booking.Appliance),
		map[string]any{"job_id": v.Job.ID, "report_url": fmt.Sprintf("/v1/jobs/%d/report.pdf", v.Job.ID)})
}

// ResendCode sends visit jobID's customer a new acceptance code (the visit's technician, on site):
// the old one stops working, the tries start again; at most CodeMaxSends a visit, one a minute.
func (s *Service) ResendCode(ctx context.Context, a dispatch.Actor, jobID int64) (time.Time, error) {
	if a.Role != dispatch.RoleTechnician {
		return time.Time{}, dispatch.Forbidden("only the visit's technician asks for a code")
	}
	if !s.Policy.allows("code") {
		return time.Time{}, dispatch.Unprocessable("signoff_method_not_allowed", "this business takes signatures, not acceptance codes")
	}
	var expires time.Time
	err := s.Store.Tx(ctx, func(st Store) error {
		v, err := visitFor(ctx, st, a, jobID, true)
		if err != nil {
			return err
		}
		if v.Job.Status != dispatch.JobOnSite {
			return dispatch.Conflict("not_on_site", "a code is sent while the technician is on site; visit %d is %s", jobID, v.Job.Status)
		}
		if _, err := st.GetSignOff(ctx, jobID); err == nil {
			return dispatch.Conflict("already_signed_off", "visit %d is signed off already", jobID)
		}
		c, err := st.GetCode(ctx, jobID)
		switch {
		case errors.Is(err, dispatch.ErrNotFound):
		case err != nil:
			return err
		case c.Sends >= CodeMaxSends:
			return dispatch.Conflict("code_send_limit", "the code was sent %d times: take a signature instead", c.Sends)
		case s.Now().Sub(c.SentAt) < CodeResendGap:
			return dispatch.Conflict("code_resend_too_soon", "a code was sent less than a minute ago")
		}
		if err := s.sendCode(ctx, st, v); err != nil {
			return err
		}
		expires = s.Now().Add(s.Policy.CodeTTL)
		return st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: jobID,
			Action: "acceptance_code_sent", Data: map[string]any{"booking_id": v.Job.BookingID}})
	})
	return expires, err
}

// checkSignOff validates a request's fields before anything is read.
func checkSignOff(r *SignOffRequest) error {
	r.SignerName, r.Reason, r.Code = strings.TrimSpace(r.SignerName), strings.TrimSpace(r.Reason), strings.TrimSpace(r.Code)
	if utf8.RuneCountInString(r.SignerName) > 200 {
		return dispatch.Invalid("signer_name", "too_long", "signer_name is at most 200 characters")
	}
	switch r.Method {
	case "signature":
		if r.SignerName == "" {
			return dispatch.Invalid("signer_name", "missing_field", "a signature needs the signer's name")
		}
		if (len(r.Strokes) == 0) == (r.PNG == nil) {
			return dispatch.Invalid("strokes", "invalid_signature", "a signature is strokes or a PNG (png_base64), one of them")
		}
		points := 0
		for _, st := range r.Strokes {
			points += len(st)
			for _, p := range st {
				if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.Abs(p[0]) > 1e5 || math.Abs(p[1]) > 1e5 {
					return dispatch.Invalid("strokes", "invalid_signature", "stroke points are [x, y] within ±100000")
				}
			}
		}
		if len(r.Strokes) > 500 || points > 20000 {
			return dispatch.Invalid("strokes", "invalid_signature", "a signature has at most 500 strokes and 20000 points")
		}
		if r.Strokes != nil && points < 2 {
			return dispatch.Invalid("strokes", "invalid_signature", "an empty signature is no signature")
		}
		if len(r.PNG) > 1<<20 {
			return dispatch.Invalid("png_base64", "file_too_large", "a signature PNG is at most 1 MB")
		}
	case "code":
		if len(r.Code) != 6 || strings.Trim(r.Code, "0123456789") != "" {
			return dispatch.Invalid("code", "invalid_code", "the acceptance code is 6 digits")
		}
	case "refused":
		if r.Reason == "" || utf8.RuneCountInString(r.Reason) > 2000 {
			return dispatch.Invalid("reason", "missing_field", "a refusal needs the customer's reason (at most 2000 characters)")
		}
	default:
		return dispatch.Invalid("method", "invalid_method", "method must be signature, code or refused")
	}
	return nil
}

// SignOff records the customer's word on visit jobID (its technician, on site, once). A wrong
// code counts a try even though the answer is an error; the fifth wrong try locks the code.
func (s *Service) SignOff(ctx context.Context, a dispatch.Actor, jobID int64, r SignOffRequest) (SignOff, error) {
	if a.Role != dispatch.RoleTechnician {
		return SignOff{}, dispatch.Forbidden("only the visit's technician records the sign-off")
	}
	if err := checkSignOff(&r); err != nil {
		return SignOff{}, err
	}
	if !s.Policy.allows(r.Method) {
		return SignOff{}, dispatch.Unprocessable("signoff_method_not_allowed", "this business signs off by %s", s.Policy.SignOff)
	}
	var sig *pendingBlob
	if r.PNG != nil {
		f, err := sniff(r.PNG, "")
		if err != nil || f.ContentType != "image/png" {
			return SignOff{}, dispatch.Invalid("png_base64", "invalid_signature", "the signature image must be a PNG")
		}
		if sig, err = s.prepare(ctx, jobID, r.PNG, f); err != nil {
			return SignOff{}, err
		}
	}
	var (
		out   SignOff
		wrong error // a wrong code: its try is committed, then this is the answer
	)
	err := s.Store.Tx(ctx, func(st Store) error {
		v, err := visitFor(ctx, st, a, jobID, true)
		if err != nil {
			return err
		}
		if v.Job.Status != dispatch.JobOnSite {
			return dispatch.Conflict("not_on_site", "the customer signs off while the technician is on site; visit %d is %s", jobID, v.Job.Status)
		}
		if _, err := st.GetSignOff(ctx, jobID); err == nil {
			return dispatch.Conflict("already_signed_off", "visit %d is signed off already", jobID)
		} else if !errors.Is(err, dispatch.ErrNotFound) {
			return err
		}
		now := s.Now()
		so := SignOff{JobID: jobID, Method: r.Method, SignerName: r.SignerName, Strokes: r.Strokes, TechnicianSub: a.Subject, SignedAt: now}
		switch r.Method {
		case "code":
			if wrong, err = tryCode(ctx, st, jobID, r.Code, now); err != nil || wrong != nil {
				return err
			}
		case "refused":
			so.RefusalReason = r.Reason
			id, err := st.OpenComplaint(ctx, dispatch.Complaint{BookingID: v.Booking.ID, CustomerID: v.Booking.CustomerID, TechnicianID: v.Job.TechnicianID,
				Category: "quality", Description: fmt.Sprintf("The customer refused to sign off visit %d: %s", v.Job.Visit, r.Reason), Status: "open", CreatedAt: now})
			if err != nil {
				return err
			}
			so.ComplaintID = &id
			if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "complaint", EntityID: id,
				Action: "filed", ToStatus: "open", Reason: "sign-off refused", Data: map[string]any{"booking_id": v.Booking.ID, "job_id": jobID, "category": "quality"}}); err != nil {
				return err
			}
		}
		if sig != nil {
			att, err := s.attach(ctx, st, a, v, "signature", "signature.png", sig, now)
			if err != nil {
				return err
			}
			so.SignatureID = &att.ID
		}
		if out, err = st.AddSignOff(ctx, so); err != nil {
			return err
		}
		if err := st.JobSignedOff(ctx, jobID, r.Method, now); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: jobID,
			Action: "signoff_" + r.Method, Reason: r.Reason, Data: map[string]any{"booking_id": v.Booking.ID, "signer_name": r.SignerName}})
	})
	if sig != nil && err != nil {
		s.dropBlobs(ctx, sig)
	}
	if err == nil && wrong != nil {
		err = wrong
	}
	return out, err
}

// tryCode checks code against visit jobID's: a wrong one is counted and returned as wrong (the
// transaction commits the count); a missing, expired or locked code is the transaction's error.
func tryCode(ctx context.Context, st Store, jobID int64, code string, now time.Time) (wrong, err error) {
	c, err := st.GetCode(ctx, jobID)
	if errors.Is(err, dispatch.ErrNotFound) {
		return nil, dispatch.Conflict("code_not_sent", "no acceptance code was sent for visit %d: ask for one (POST /v1/jobs/%d/signoff/code)", jobID, jobID)
	}
	if err != nil {
		return nil, err
	}
	if c.Attempts >= CodeTries {
		return nil, codeErr("code_locked", "the code was tried %d times and is locked: send a new one", 0, c.Attempts)
	}
	if !now.Before(c.ExpiresAt) {
		return nil, codeErr("code_expired", "the code expired at %s: send a new one", CodeTries-c.Attempts, c.ExpiresAt.Format(time.RFC3339))
	}
	if codeMatches(c.Hash, code) {
		return nil, nil
	}
	if err := st.CodeTried(ctx, jobID); err != nil {
		return nil, err
	}
	left := CodeTries - c.Attempts - 1
	e := codeErr("code_wrong", "that is not the code; %d tries left", left, left)
	e.Kind = dispatch.KindUnprocessable
	return e, nil
}

func codeErr(code, format string, left int, args ...any) *dispatch.Error {
	return &dispatch.Error{Kind: dispatch.KindConflict, Code: code, Message: fmt.Sprintf(format, args...), Field: "code",
		Extra: map[string]any{"attempts_left": left}}
}

// VisitSignOff reads a visit's sign-off (its technician, staff, the booking's customer).
func (s *Service) VisitSignOff(ctx context.Context, a dispatch.Actor, jobID int64) (SignOff, error) {
	if _, err := visitFor(ctx, s.Store, a, jobID, false); err != nil {
		return SignOff{}, err
	}
	so, err := s.Store.GetSignOff(ctx, jobID)
	if errors.Is(err, dispatch.ErrNotFound) {
		return SignOff{}, &dispatch.Error{Kind: dispatch.KindNotFound, Code: "signoff_not_found", Message: fmt.Sprintf("visit %d is not signed off", jobID)}
	}
	return so, err
}
