package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Claims are the token's claims: the subject and the role.
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// UnmarshalJSON refuses times that are not JSON numbers: the JWT library reads "exp": "1799..."
// as a date, and RFC 7519 says a NumericDate is a number. One pass: the times are taken raw.
func (cl *Claims) UnmarshalJSON(b []byte) error {
	type plain Claims // without this method
	var all struct {
		*plain
		Exp json.RawMessage `json:"exp"`
		Iat json.RawMessage `json:"iat"`
		Nbf json.RawMessage `json:"nbf"`
	}
	all.plain = (*plain)(cl)
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for _, t := range []struct {
		name string
		raw  json.RawMessage
		to   **jwt.NumericDate
	}{{"exp", all.Exp, &cl.ExpiresAt}, {"iat", all.Iat, &cl.IssuedAt}, {"nbf", all.Nbf, &cl.NotBefore}} {
		if len(t.raw) == 0 || string(t.raw) == "null" {
			continue
		}
		if !strings.ContainsRune("-0123456789", rune(t.raw[0])) {
			return fmt.Errorf("claim %s is not a number", t.name)
		}
		*t.to = new(jwt.NumericDate)
		if err := (*t.to).UnmarshalJSON(t.raw); err != nil {
			return err
		}
	}
	return nil
}

// DefaultIssuer is the iss tokens carry and the server requires, unless configured otherwise.
const DefaultIssuer = "fieldfix"

// MaxSubject is the longest sub accepted, in characters: a subject is stored and indexed, and a
// login system's ids are far shorter.
const MaxSubject = 200

// JWT is how bearer tokens are signed and checked: HS256 with Secret; iss must be Issuer
// (DefaultIssuer when empty); when Audience is set, aud must hold it.
type JWT struct {
	Secret   []byte
	Issuer   string
	Audience string
}

func (j JWT) issuer() string {
	if j.Issuer == "" {
		return DefaultIssuer
	}
	return j.Issuer
}

// Issue signs a token for sub with role, valid for ttl, that a server with the same settings accepts.
func (j JWT) Issue(role dispatch.Role, sub string, now time.Time, ttl time.Duration) (string, error) {
	if !role.Valid() {
		return "", fmt.Errorf("unknown role %q (customer, technician, dispatcher, admin)", role)
	}
	if err := checkSubject(sub); err != nil {
		return "", err
	}
	c := Claims{Role: string(role), RegisteredClaims: jwt.RegisteredClaims{
		Subject: sub, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), Issuer: j.issuer(),
	}}
	if j.Audience != "" {
		c.Audience = jwt.ClaimStrings{j.Audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(j.Secret)
}

// IssueToken signs an HS256 token for sub with role, valid for ttl, with the default issuer and no audience.
func IssueToken(secret []byte, role dispatch.Role, sub string, now time.Time, ttl time.Duration) (string, error) {
	return JWT{Secret: secret}.Issue(role, sub, now, ttl)
}

// checkSubject refuses a blank subject and one over MaxSubject characters.
func checkSubject(sub string) error {
	if strings.TrimSpace(sub) == "" {
		return errors.New("empty subject")
	}
	if utf8.RuneCountInString(sub) > MaxSubject {
		return fmt.Errorf("subject longer than %d characters", MaxSubject)
	}
	return nil
}

const (
	actorKey  = "fieldfix.actor"
	expiryKey = "fieldfix.token_expiry"
)

// tokenLeeway is the clock skew allowed on a token's exp and nbf.
const tokenLeeway = 30 * time.Second

// verifiedTokens remembers the claims of tokens that passed verification, by their exact text,
// so that a client's next request with the same token costs a map lookup instead of an HMAC and
// a JSON decode (about 5% of a booking's CPU in the server). Only the time checks are made again.
// It holds at most max tokens, and is emptied when full.
type verifiedTokens struct {
	mu  sync.Mutex
	m   map[string]*Claims
	max int
}

func (v *verifiedTokens) get(tok string) *Claims {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[tok]
}

func (v *verifiedTokens) put(tok string, cl *Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		clear(v.m)
	}
	v.m[tok] = cl
}

// current reports whether verified claims are still in their time (exp, and nbf if any) at now,
// as the parser checks them.
func (cl *Claims) current(now time.Time) bool {
	return cl.ExpiresAt != nil && now.Before(cl.ExpiresAt.Add(tokenLeeway)) &&
		(cl.NotBefore == nil || !now.Before(cl.NotBefore.Add(-tokenLeeway)))
}

// authenticate verifies the bearer token (HS256 only; exp required; iss, and aud when configured;
// iat not in the future; a subject of at most MaxSubject characters and a known role) and stores
// the Actor and the token's expiry. A refusal says only whether the token was missing, expired or
// not valid: why it was not valid is logged at debug level, not told to the caller.
func authenticate(j JWT, now func() time.Time, log *slog.Logger) echo.MiddlewareFunc {
	seen := &verifiedTokens{m: map[string]*Claims{}, max: 100_000}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(now),
		jwt.WithLeeway(tokenLeeway), jwt.WithIssuer(j.issuer()), jwt.WithIssuedAt()}
	if j.Audience != "" {
		opts = append(opts, jwt.WithAudience(j.Audience))
	}
	return echojwt.WithConfig(echojwt.Config{
		ContextKey: "fieldfix.token",
		ParseTokenFunc: func(c echo.Context, auth string) (any, error) {
			cl := seen.get(auth)
			if cl == nil || !cl.current(now()) {
				cl = &Claims{}
				_, err := jwt.ParseWithClaims(auth, cl, func(*jwt.Token) (any, error) { return j.Secret, nil }, opts...)
				if err != nil {
					return nil, err
				}
				if err := checkSubject(cl.Subject); err != nil {
					return nil, err
				}
				if !dispatch.Role(cl.Role).Valid() {
					return nil, fmt.Errorf("unknown role %q", cl.Role)
				}
				seen.put(auth, cl)
			}
			c.Set(actorKey, dispatch.Actor{Subject: cl.Subject, Role: dispatch.Role(cl.Role)})
			c.Set(expiryKey, cl.ExpiresAt.Time)
			return cl, nil
		},
		ErrorHandler: func(c echo.Context, err error) error {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="fieldfix"`)
			var missing *echojwt.TokenExtractionError
			switch {
			case errors.As(err, &missing):
				return problem(http.StatusUnauthorized, "unauthorized", "a bearer token is required")
			case errors.Is(err, jwt.ErrTokenExpired):
				return problem(http.StatusUnauthorized, "unauthorized", "the bearer token has expired")
			}
			log.Debug("bearer token refused", "path", c.Path(), "err", err)
			return problem(http.StatusUnauthorized, "unauthorized", "the bearer token is not valid")
		},
	})
}

// tokenExpiry is when the request's token expires (zero on public routes).
func tokenExpiry(c echo.Context) time.Time {
	t, _ := c.Get(expiryKey).(time.Time)
	return t
}

// allow refuses roles not in the route's list with 403.
func allow(roles ...dispatch.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			a := actor(c)
			if !slices.Contains(roles, a.Role) {
				return problem(http.StatusForbidden, "forbidden_role", fmt.Sprintf("a %s may not call %s %s", a.Role, c.Request().Method, c.Path()))
			}
			return next(c)
		}
	}
}

func actor(c echo.Context) dispatch.Actor {
	a, _ := c.Get(actorKey).(dispatch.Actor)
	return a
}
