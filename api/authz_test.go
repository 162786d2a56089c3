package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
)

var allRoles = []dispatch.Role{dispatch.RoleCustomer, dispatch.RoleTechnician, dispatch.RoleDispatcher, dispatch.RoleAdmin}

// TestEveryRouteRefusesOtherRoles walks the router's own table, so a new route cannot be forgotten:
// no token → 401, a role the route does not list → 403.
func TestEveryRouteRefusesOtherRoles(t *testing.T) {
	b := setup(t)
	for _, rt := range api.Routes() {
		path := strings.NewReplacer(":id", "1", ":token", "x").Replace(rt.Path)
		if len(rt.Roles) == 0 {
			continue
		}
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			wantProblem(t, b.do(rt.Method, path, "", nil), 401, "unauthorized")
			for _, role := range allRoles {
				if slices.Contains(rt.Roles, role) {
					continue
				}
				wantProblem(t, b.do(rt.Method, path, b.token(role, "someone"), "{}"), 403, "forbidden_role")
			}
		})
	}
}

// TestBookingAuthorization is the table of who may do what to a booking.
func TestBookingAuthorization(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	owner := b.token(dispatch.RoleCustomer, "owner")
	other := b.token(dispatch.RoleCustomer, "other")
	tech := b.token(dispatch.RoleTechnician, "tech-9")
	disp := b.token(dispatch.RoleDispatcher, "disp")
	adm := b.token(dispatch.RoleAdmin, "adm")
	booking := washerBooking(nil)
	forCustomer := washerBooking(nil)
	forCustomer["customer_sub"] = "owner"

	mk := func() string {
		r := b.do("POST", "/v1/bookings", owner, booking)
		if r.Status != 201 {
			t.Fatalf("setup booking: %d %s", r.Status, r.Body)
		}
		return fmt.Sprint(r.json(t)["id"])
	}
	id := mk()
	win := map[string]any{"preferred_windows": []any{map[string]any{"start": "2026-11-21T08:00:00Z", "end": "2026-11-21T10:00:00Z"}}}
	cases := []struct {
		who    string
		token  string
		method string
		path   string
		body   any
		status int
	}{
		{"customer books", owner, "POST", "/v1/bookings", booking, 201},
		{"technician cannot book", tech, "POST", "/v1/bookings", booking, 403},
		{"dispatcher books for a customer", disp, "POST", "/v1/bookings", forCustomer, 201},
		{"dispatcher must name the customer", disp, "POST", "/v1/bookings", booking, 400},
		{"customer cannot book for another", other, "POST", "/v1/bookings", forCustomer, 403},
		{"admin is not a booking agent", adm, "POST", "/v1/bookings", booking, 403},
		{"owner reads", owner, "GET", "/v1/bookings/" + id, nil, 200},
		{"other customer gets not-found", other, "GET", "/v1/bookings/" + id, nil, 404},
		{"unassigned technician gets not-found", tech, "GET", "/v1/bookings/" + id, nil, 404},
		{"dispatcher reads", disp, "GET", "/v1/bookings/" + id, nil, 200},
		{"admin cannot read bookings", adm, "GET", "/v1/bookings/" + id, nil, 403},
		{"owner lists", owner, "GET", "/v1/bookings", nil, 200},
		{"technician cannot list", tech, "GET", "/v1/bookings", nil, 403},
		{"dispatcher lists", disp, "GET", "/v1/bookings?status=open&tier=paid", nil, 200},
		{"other cannot reschedule", other, "POST", "/v1/bookings/" + id + "/reschedule", win, 404},
		{"technician cannot reschedule", tech, "POST", "/v1/bookings/" + id + "/reschedule", win, 403},
		{"owner reschedules", owner, "POST", "/v1/bookings/" + id + "/reschedule", win, 200},
		{"dispatcher reschedules", disp, "POST", "/v1/bookings/" + id + "/reschedule", win, 200},
		{"other cannot cancel", other, "POST", "/v1/bookings/" + id + "/cancel", nil, 404},
		{"technician cannot cancel", tech, "POST", "/v1/bookings/" + id + "/cancel", nil, 403},
		{"admin cannot cancel", adm, "POST", "/v1/bookings/" + id + "/cancel", nil, 403},
		{"owner cancels", owner, "POST", "/v1/bookings/" + id + "/cancel", nil, 200},
		{"dispatcher cancels a fresh one", disp, "POST", "/v1/bookings/" + mk() + "/cancel", nil, 200},
		{"no token", "", "GET", "/v1/bookings/" + id, nil, 401},
	}
	for _, c := range cases {
		r := b.do(c.method, c.path, c.token, c.body)
		if r.Status != c.status {
			t.Errorf("%s: %s %s → %d, want %d: %s", c.who, c.method, c.path, r.Status, c.status, r.Body)
		}
	}
	// A customer's list holds only their own bookings.
	items := b.do("GET", "/v1/bookings", other, nil).json(t)["items"].([]any)
	if len(items) != 0 {
		t.Fatalf("other customer sees %d bookings", len(items))
	}
	items = b.do("GET", "/v1/bookings", owner, nil).json(t)["items"].([]any)
	if len(items) != 4 {
		t.Fatalf("owner sees %d bookings, want 4", len(items))
	}
}

func TestTokensThatMustFail(t *testing.T) {
	b := setup(t)
	now := b.clock.Now()
	claims := func(exp time.Time) api.Claims {
		return api.Claims{Role: "dispatcher", RegisteredClaims: jwt.RegisteredClaims{Subject: "d", ExpiresAt: jwt.NewNumericDate(exp)}}
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.Claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(now.Add(time.Hour)))
	cases := map[string]string{
		"expired":         sign(jwt.SigningMethodHS256, secret, claims(now.Add(-time.Hour))),
		"alg none":        none,
		"other key":       sign(jwt.SigningMethodHS256, []byte("not-our-secret"), claims(now.Add(time.Hour))),
		"other algorithm": sign(jwt.SigningMethodHS512, secret, claims(now.Add(time.Hour))),
		"no expiry":       sign(jwt.SigningMethodHS256, secret, api.Claims{Role: "dispatcher", RegisteredClaims: jwt.RegisteredClaims{Subject: "d"}}),
		"unknown role":    sign(jwt.SigningMethodHS256, secret, api.Claims{Role: "root", RegisteredClaims: jwt.RegisteredClaims{Subject: "d", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}),
		"garbage":         "not.a.jwt",
	}
	for name, tok := range cases {
		r := b.do("GET", "/v1/bookings", tok, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", name, r.Status)
		}
	}
	good := b.token(dispatch.RoleDispatcher, "d") // valid for an hour
	if r := b.do("GET", "/v1/bookings", good, nil); r.Status != 200 {
		t.Fatalf("a good token: %d", r.Status)
	}
	// Verified once, the token is remembered; it still expires (after the 30 s leeway).
	b.clock.Set(now.Add(time.Hour + 20*time.Second))
	if r := b.do("GET", "/v1/bookings", good, nil); r.Status != 200 {
		t.Fatalf("the good token within the leeway: %d", r.Status)
	}
	b.clock.Set(now.Add(time.Hour + 31*time.Second))
	if r := b.do("GET", "/v1/bookings", good, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the good token past its expiry: %d, want 401", r.Status)
	}
}

// signed is an HS256 token with exactly these claims (times as given: numbers or not).
func signed(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTokenSubjectCappedAt200Characters: a subject is stored and indexed; one of 3,000 characters
// gave a 500 (index row size exceeds btree maximum) on the first call that wrote the customer.
// Over 200 characters the token is refused like any bad token.
func TestTokenSubjectCappedAt200Characters(t *testing.T) {
	b := setup(t)
	b.lyonServed()
	exp := b.clock.Now().Add(time.Hour).Unix()
	rnd := rand.New(rand.NewPCG(3000, 19))
	long := make([]byte, 3000)
	for i := range long {
		long[i] = byte(33 + rnd.IntN(94)) // printable and random: PostgreSQL cannot compress it under the index limit
	}
	for _, c := range []struct {
		name, sub string
		status    int
	}{
		{"3,000 characters", string(long), 401},
		{"201 characters", strings.Repeat("s", 201), 401},
		{"200 characters", strings.Repeat("s", 200), 200},
		{"200 two-byte characters", strings.Repeat("é", 200), 200},
	} {
		tok := signed(t, jwt.MapClaims{"role": "customer", "sub": c.sub, "iss": "fieldfix", "exp": exp})
		for _, req := range []struct{ method, path string }{{"GET", "/v1/bookings"}, {"POST", "/v1/bookings"}} {
			r := b.do(req.method, req.path, tok, washerBooking(nil))
			if req.method == "POST" && c.status == 200 {
				c.status = 201
			}
			if r.Status != c.status {
				t.Errorf("%s: %s %s → %d, want %d: %s", c.name, req.method, req.path, r.Status, c.status, r.Body)
			}
		}
	}
	if _, err := api.IssueToken(secret, dispatch.RoleCustomer, strings.Repeat("s", 201), b.clock.Now(), time.Hour); err == nil {
		t.Fatal("fieldfix token issues a token for a 201-character subject, which the server refuses")
	}
}

// TestTokenClaimsAreChecked: iss must be the configured issuer ("fieldfix" by default), aud must
// hold the audience when one is configured, iat may not be in the future, sub may not be blank,
// and times must be numbers; a refusal's detail says missing, expired or not valid, and nothing of
// the parser's internals (issue 19 saw "Go struct field Claims.role").
func TestTokenClaimsAreChecked(t *testing.T) {
	b := setup(t)
	now := b.clock.Now()
	exp := now.Add(time.Hour).Unix()
	claims := func(kv ...any) jwt.MapClaims {
		c := jwt.MapClaims{"role": "dispatcher", "sub": "d", "iss": "fieldfix", "exp": exp}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	const invalid, expired, missing = "the bearer token is not valid", "the bearer token has expired", "a bearer token is required"
	check := func(b *testBundle, name, tok string, status int, detail string) {
		t.Helper()
		r := b.do("GET", "/v1/bookings", tok, nil)
		if r.Status != status {
			t.Errorf("%s: %d, want %d: %s", name, r.Status, status, r.Body)
			return
		}
		if status == 401 {
			if got := r.json(t)["detail"]; got != detail {
				t.Errorf("%s: detail %q, want %q", name, got, detail)
			}
		}
	}
	for _, c := range []struct {
		name   string
		claims jwt.MapClaims
		status int
		detail string
	}{
		{"good", claims(), 200, ""},
		{"no iss", claims("iss", nil), 401, invalid},
		{"another iss", claims("iss", "evil"), 401, invalid},
		{"iat an hour ahead", claims("iat", now.Add(time.Hour).Unix()), 401, invalid},
		{"iat within the clock skew allowed", claims("iat", now.Add(10*time.Second).Unix()), 200, ""},
		{"blank sub", claims("sub", "   "), 401, invalid},
		{"no sub", claims("sub", nil), 401, invalid},
		{"exp a string", claims("exp", strconv.FormatInt(exp, 10)), 401, invalid},
		{"iat a string", claims("iat", strconv.FormatInt(now.Unix(), 10)), 401, invalid},
		{"nbf a string", claims("nbf", strconv.FormatInt(now.Unix(), 10)), 401, invalid},
		{"role a number", claims("role", 7), 401, invalid},
		{"expired", claims("exp", now.Add(-time.Hour).Unix()), 401, expired},
		{"an audience the server does not ask for", claims("aud", "elsewhere"), 200, ""},
	} {
		check(b, c.name, signed(t, c.claims), c.status, c.detail)
	}
	check(b, "no token", "", 401, missing)
	check(b, "not a JWT", "not.a.jwt", 401, invalid)

	// A server configured with another issuer and an audience.
	conf := *b
	conf.srv = httptest.NewServer(api.NewServer(api.Deps{Services: b.svc, JWTSecret: secret, JWTIssuer: "acme-login", JWTAudience: "fieldfix-api",
		Now: b.clock.Now, BookingsPerMinute: 1000}))
	defer conf.srv.Close()
	for _, c := range []struct {
		name   string
		claims jwt.MapClaims
		status int
	}{
		{"its issuer and audience", claims("iss", "acme-login", "aud", "fieldfix-api"), 200},
		{"its audience among others", claims("iss", "acme-login", "aud", []string{"other", "fieldfix-api"}), 200},
		{"the default issuer", claims("aud", "fieldfix-api"), 401},
		{"no audience", claims("iss", "acme-login"), 401},
		{"another audience", claims("iss", "acme-login", "aud", "other"), 401},
	} {
		check(&conf, "configured server, "+c.name, signed(t, c.claims), c.status, invalid)
	}
	tok, err := api.JWT{Secret: secret, Issuer: "acme-login", Audience: "fieldfix-api"}.Issue(dispatch.RoleDispatcher, "d", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	check(&conf, "a token issued with the same settings", tok, 200, "")
	check(b, "that token on the default server", tok, 401, invalid)
}
