package api_test

import (
	"fmt"
	"net/http"
	"slices"
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
