package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uber/h3-go/v4"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/roster"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// FuzzBookingDecoder throws arbitrary bodies at POST /v1/bookings: every answer is a 201 or a
// problem+json 4xx with a code, never a 5xx; and a body accepted was read one way only: no name
// given twice or matched in another case, no text replaced by U+FFFD (see misread).
// `go test -fuzz FuzzBookingDecoder ./api` runs it for real; `make test` replays the corpus.
func FuzzBookingDecoder(f *testing.F) {
	const good = `{"service_type":"repair","appliance":"washer","problem":"drum","location":{"lat":45.7,"lng":4.8},`
	for _, seed := range []string{
		good + `"address":"1 rue"}`, good + `"address":"1 rue","Address":"2 rue"}`, good + `"ADDRESS":"1 rue"}`,
		good + `"address":"1 rue","address":"2 rue"}`, good + `"address":"\ud800"}`, good + `"address":"\\ud800 \ud83d\ude00"}`,
		good + "\"address\":\"\xff\"}",
		`{"appliance":"washer","problem":"x","address":"y","location":{"lat":1e308,"lng":-1e308}}`,
		`{"appliance":"washer","problem":"x","address":"y","location":{"lat":45,"lng":4},"preferred_windows":[{"start":"2026-11-21T08:00:00Z","end":"2026-11-21T10:00:00+14:00"}]}`,
		`{"appliance":"tv","service_type":"return_pickup","problem":"x","address":"y","location":{"lat":45,"lng":4},"purchase_id":9223372036854775807}`,
		`{"problem":"\u0000\ud800","address":"'; DROP TABLE bookings; --","appliance":"fridge","location":{"lat":-90,"lng":180}}`,
		`[]`, `null`, `{"location":null}`, `{"purchase_id":-1e3}`, strings.Repeat(`{"a":`, 200),
	} {
		f.Add([]byte(seed))
	}
	s := dbtest.New(f)
	clock := dispatch.ClockFunc(func() time.Time { return time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) })
	svc := services.New(postgres.New(s.Pool), dispatch.DefaultRules(), clock, nil)
	// An installer whose area is the whole Earth (the 122 cells of H3's resolution 0): every valid
	// location is served, so bodies reach the booking rules and the database, and none is planned.
	world, err := h3.Res0Cells()
	if err != nil {
		f.Fatal(err)
	}
	area := make([]string, len(world))
	for i, c := range world {
		area[i] = c.String()
	}
	if _, err := svc.Roster.CreateTechnician(context.Background(), dispatch.Actor{Subject: "fuzz", Role: dispatch.RoleAdmin}, roster.TechnicianRequest{
		Name: "World Installer", Skills: []string{"install"}, Home: dispatch.Location{Lat: 45.76, Lng: 4.84}, TimeZone: "UTC", ServiceArea: area}); err != nil {
		f.Fatal(err)
	}
	e := api.NewServer(api.Deps{Services: svc, JWTSecret: secret, Now: clock.Now, BookingsPerMinute: 1 << 30})
	tok, _ := api.IssueToken(secret, dispatch.RoleCustomer, "fuzzer", clock.Now(), time.Hour)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/bookings", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
			if why := misread(body, rec.Body.Bytes()); why != "" {
				t.Fatalf("accepted %q: %s", body, why)
			}
		case rec.Code >= 400 && rec.Code < 500:
			if rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(rec.Body.String(), `"code":"`) {
				t.Fatalf("%d without a problem document: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// misread says how an accepted body could have been read more than one way, checked without the
// server's decoder: a name given twice in an object, a name not in lower snake case (the API has
// no other, so it was matched in another case), or U+FFFD in the answer that the body did not send
// (text the decoder replaced).
func misread(body, answer []byte) string {
	lower := regexp.MustCompile(`^[a-z_]+$`)
	type level struct {
		names   map[string]bool // nil in an array
		wantKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if name, ok := tok.(string); ok {
				if stack[n-1].names[name] {
					return fmt.Sprintf("name %q given twice", name)
				}
				if !lower.MatchString(name) {
					return fmt.Sprintf("name %q accepted", name)
				}
				stack[n-1].names[name], stack[n-1].wantKey = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{names: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if n := len(stack); n > 0 && stack[n-1].names != nil { // a value ended: a name comes next
			stack[n-1].wantKey = true
		}
	}
	replacement := []byte("\uFFFD") // its UTF-8 bytes: ContainsRune(utf8.RuneError) would match any invalid byte
	sent := bytes.Contains(body, replacement) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
	if bytes.Contains(answer, replacement) && !sent {
		return "U+FFFD in the answer, not in the body"
	}
	return ""
}
