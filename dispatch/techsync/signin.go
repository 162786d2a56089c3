package techsync

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// SigninLinkTTL is how long a sign-in link a dispatcher made is good for: opened once within it.
const SigninLinkTTL = 24 * time.Hour

// SigninStore keeps the one-time sign-in links, by their code's SHA-256 only.
type SigninStore interface {
	GetTechnician(ctx context.Context, id int64) (dispatch.Technician, error)
	// IssueSigninLink revokes the technician's unused links and keeps the new one, in one
	// transaction with its audit event.
	IssueSigninLink(ctx context.Context, l SigninLinkRecord, audit dispatch.AuditEvent) error
	// RedeemSigninLink marks the link used, in one transaction with accept's check of its
	// technician and the audit event accept gives; accept's error rolls it back (the link stays
	// open). One caller wins a code. A code not open answers found with its record and no
	// technician; found false: no such code.
	RedeemSigninLink(ctx context.Context, codeSHA256 string, now time.Time, accept func(dispatch.Technician) (dispatch.AuditEvent, error)) (t *dispatch.Technician, rec SigninLinkRecord, found bool, err error)
}

// SigninLinkRecord is a link as it is kept.
type SigninLinkRecord struct {
	TechnicianID int64
	CodeSHA256   string
	CreatedBy    string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
	RevokedAt    *time.Time
}

// SigninLink is a link just made: its code is shown once, to the dispatcher who sends it.
type SigninLink struct {
	Code       string
	Technician dispatch.Technician
	ExpiresAt  time.Time
}

// signable refuses a technician no token can be made for.
func signable(t dispatch.Technician) error {
	if t.Subject == nil || strings.TrimSpace(*t.Subject) == "" {
		return dispatch.Conflict("technician_has_no_subject", "technician %d has no login subject: set one (PATCH /v1/technicians/%d) before sending a sign-in link", t.ID, t.ID)
	}
	if !t.Active {
		return dispatch.Conflict("technician_inactive", "technician %d is inactive", t.ID)
	}
	return nil
}

// IssueSigninLink makes a one-time sign-in link for technician techID, revoking their unused
// ones; the caller (a dispatcher or an admin) sends it to the technician's phone.
func (s *Service) IssueSigninLink(ctx context.Context, a dispatch.Actor, techID int64) (SigninLink, error) {
	if a.Role != dispatch.RoleDispatcher && a.Role != dispatch.RoleAdmin {
		return SigninLink{}, dispatch.Forbidden("only dispatchers and admins make sign-in links")
	}
	t, err := s.Store.GetTechnician(ctx, techID)
	if err != nil {
		return SigninLink{}, err
	}
	if err := signable(t); err != nil {
		return SigninLink{}, err
	}
	now := s.Now()
	code := rand.Text() // 26 base32 characters: 128 random bits
	rec := SigninLinkRecord{TechnicianID: t.ID, CodeSHA256: dispatch.SecretHash(code), CreatedBy: a.Subject, CreatedAt: now, ExpiresAt: now.Add(SigninLinkTTL)}
	ev := dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "technician", EntityID: t.ID, Action: "signin_link_issued",
		Data: map[string]any{"expires_at": rec.ExpiresAt}}
	if err := s.Store.IssueSigninLink(ctx, rec, ev); err != nil {
		return SigninLink{}, err
	}
	return SigninLink{Code: code, Technician: t, ExpiresAt: rec.ExpiresAt}, nil
}

// SigninURL is the link a dispatcher sends: the app at /tech with the code in the fragment,
// which browsers send to no server and keep out of logs and referrers.
func (s *Service) SigninURL(code string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/tech/#link=" + code
}

// RedeemSigninLink uses a link's code, once: the technician it signs in. A code used, revoked or
// expired is refused with a conflict that says which.
func (s *Service) RedeemSigninLink(ctx context.Context, code string) (dispatch.Technician, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 100 {
		return dispatch.Technician{}, dispatch.Invalid("code", "invalid_code", "code must be the link's code, 1 to 100 characters")
	}
	now := s.Now()
	t, rec, found, err := s.Store.RedeemSigninLink(ctx, dispatch.SecretHash(code), now, func(t dispatch.Technician) (dispatch.AuditEvent, error) {
		return dispatch.AuditEvent{At: now, ActorSub: deref(t.Subject), ActorRole: dispatch.RoleTechnician, Entity: "technician", EntityID: t.ID,
			Action: "signin_link_used"}, signable(t)
	})
	switch {
	case err != nil:
		return dispatch.Technician{}, err
	case t != nil:
		return *t, nil
	case !found:
		return dispatch.Technician{}, &dispatch.Error{Kind: dispatch.KindNotFound, Code: "signin_link_not_found",
			Message: "this sign-in link is not one we made; ask your dispatcher for a new one"}
	case rec.UsedAt != nil:
		return dispatch.Technician{}, dispatch.Conflict("signin_link_used", "this sign-in link was used already: a link signs in one phone, once; ask your dispatcher for a new one")
	case rec.RevokedAt != nil:
		return dispatch.Technician{}, dispatch.Conflict("signin_link_revoked", "a newer sign-in link replaced this one; open the newest link your dispatcher sent")
	}
	return dispatch.Technician{}, dispatch.Conflict("signin_link_expired", "this sign-in link has expired (a link lasts %.0f h); ask your dispatcher for a new one", SigninLinkTTL.Hours())
}
