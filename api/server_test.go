package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// httpSeries reads /metrics: the request-latency series and the requests they counted.
func (b *testBundle) httpSeries(t *testing.T) (series map[string]bool, requests int) {
	t.Helper()
	r := b.do("GET", "/metrics", "", nil)
	if r.Status != 200 {
		t.Fatalf("/metrics: %d", r.Status)
	}
	series = map[string]bool{}
	for line := range strings.Lines(string(r.Body)) {
		labels, value, ok := strings.Cut(strings.TrimSpace(line), "} ")
		if name, _, _ := strings.Cut(labels, "{"); !ok || name != "fieldfix_http_request_duration_seconds_count" {
			continue
		}
		series[labels+"}"] = true
		n, err := strconv.Atoi(value)
		if err != nil {
			t.Fatalf("count %q: %v", line, err)
		}
		requests += n
	}
	return series, requests
}

// TestMetricsSeriesBoundedUnderRandomMethods: unauthenticated requests with invented methods and
// paths must not add series to /metrics (issue 19: 2,000 requests with random method names took it
// from 14 KB to 63 MB, every series kept forever). They are counted under method "other" and
// route "unmatched"; 1,000 of them leave the set of series as it was.
func TestMetricsSeriesBoundedUnderRandomMethods(t *testing.T) {
	b := setup(t)
	rnd := rand.New(rand.NewPCG(19, 1))
	word := func() string {
		w := make([]byte, 1+rnd.IntN(60))
		for i := range w {
			w[i] = byte('A' + rnd.IntN(26))
		}
		return string(w)
	}
	cust := b.token(dispatch.RoleCustomer, "c")
	// Each shape of request once per kind of method, so that every series the random ones can
	// reach exists before counting: a known path with a method it does not take, an unknown path,
	// an unknown path under /v1 with and without a token, a known /v1 path with a token.
	shapes := []struct {
		path  func() string
		token string
	}{
		{func() string { return "/healthz" }, ""},
		{func() string { return "/" + word() }, ""},
		{func() string { return "/v1/" + word() }, ""},
		{func() string { return "/v1/" + word() }, cust},
		{func() string { return "/v1/bookings" }, cust},
	}
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	send := func(method, path, token string) {
		req, err := http.NewRequest(method, b.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	for _, s := range shapes {
		for _, m := range append(methods, "INVENTED") {
			if s.path() != "/v1/bookings" || m != "GET" && m != "POST" { // those two are served: not the attack
				send(m, s.path(), s.token)
			}
		}
	}
	b.httpSeries(t) // a scrape is counted once it is answered
	before, counted := b.httpSeries(t)
	const n = 1000
	for i := range n {
		s := shapes[rnd.IntN(len(shapes))]
		m := word()
		if i%4 == 0 {
			m = methods[rnd.IntN(len(methods))]
		}
		if s.path() == "/v1/bookings" && (m == "GET" || m == "POST") {
			m = "DELETE"
		}
		send(m, s.path(), s.token)
	}
	after, countedAfter := b.httpSeries(t)
	for s := range after {
		if !before[s] {
			t.Errorf("new series %s", s)
		}
	}
	if len(after) != len(before) {
		t.Fatalf("%d series after %d random requests, %d before", len(after), n, len(before))
	}
	if got := countedAfter - counted; got != n+1 { // and the scrape before
		t.Fatalf("the series counted %d requests, want %d", got, n+1)
	}
	if !after[`fieldfix_http_request_duration_seconds_count{method="other",route="unmatched",status="404"}`] {
		t.Fatalf("no series for unmatched requests: %v", after)
	}
}

// TestSecurityHeadersOnConsoleAndAPI: every answer, page or API, success or problem, forbids
// content sniffing, sends no referrer and may not be framed (issue 19 found none of these).
func TestSecurityHeadersOnConsoleAndAPI(t *testing.T) {
	b := setup(t)
	cust := b.token(dispatch.RoleCustomer, "c")
	for _, c := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/console", "", 200},
		{"GET", "/console/app.js", "", 200},
		{"GET", "/console/nothing.js", "", 404},
		{"GET", "/healthz", "", 200},
		{"GET", "/openapi.json", "", 200},
		{"GET", "/metrics", "", 200},
		{"GET", "/v1/bookings", cust, 200},
		{"GET", "/v1/bookings", "", 401},
		{"GET", "/v1/board", cust, 403},
		{"GET", "/nowhere", "", 404},
		{"ZZZ", "/healthz", "", 405},
	} {
		t.Run(c.method+" "+c.path+fmt.Sprint(c.status), func(t *testing.T) {
			r := b.do(c.method, c.path, c.token, nil)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d", r.Status, c.status)
			}
			for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q does not forbid framing", csp)
			}
		})
	}
	// The console's page keeps its own policy, which lets it load its script and style.
	if csp := b.do("GET", "/console", "", nil).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("console policy %q", csp)
	}
}
