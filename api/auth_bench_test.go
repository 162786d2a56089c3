package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

// BenchmarkAuthenticate is the bearer-token check per request: a client's token seen before
// (remembered once verified) against a token seen for the first time (HMAC and JSON decode).
// go test -run '^$' -bench Authenticate ./api
func BenchmarkAuthenticate(b *testing.B) {
	secret := []byte("bench-secret")
	now := time.Now()
	tokens := make([]string, 4096)
	for i := range tokens {
		tok, err := IssueToken(secret, dispatch.RoleCustomer, fmt.Sprintf("customer-%d", i), now, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}
	for _, bc := range []struct {
		name   string
		tokens int
	}{{"seen before", 1}, {"first time", len(tokens)}} {
		b.Run(bc.name, func(b *testing.B) {
			e := echo.New()
			e.Use(authenticate(JWT{Secret: secret}, func() time.Time { return now }, slog.New(slog.DiscardHandler)))
			e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
			reqs := make([]*http.Request, bc.tokens)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "/", nil)
				reqs[i].Header.Set("Authorization", "Bearer "+tokens[i])
			}
			w := httptest.NewRecorder()
			i := 0
			for b.Loop() {
				if bc.tokens > 1 && i == bc.tokens { // every token new again
					b.StopTimer()
					e = echo.New()
					e.Use(authenticate(JWT{Secret: secret}, func() time.Time { return now }, slog.New(slog.DiscardHandler)))
					e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
					i = 0
					b.StartTimer()
				}
				e.ServeHTTP(w, reqs[i%bc.tokens])
				i++
			}
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}
