package geo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeOSRM serves /table/v1/driving/ like osrm-routed: it parses the
// coordinates, sources and destinations and answers durations of
// 1000·source + destination (indexes into the coordinate list), or the
// error reply the test sets.
type fakeOSRM struct {
	srv      *httptest.Server
	requests atomic.Int64
	maxLoc   int
	reply    func(w http.ResponseWriter) bool // returns true when it answered
	coords   atomic.Value                     // last request's [][2]float64 (lng, lat)
}

func newFakeOSRM(t *testing.T) *fakeOSRM {
	f := &fakeOSRM{maxLoc: 100}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if f.reply != nil && f.reply(w) {
			return
		}
		fail := func(status int, code, msg string) {
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
		}
		// Go's url.Query drops pairs holding ';', which OSRM uses: parse by hand.
		q := map[string]string{}
		for _, kv := range strings.Split(r.URL.RawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			q[k] = v
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/table/v1/driving/")
		if !ok || q["annotations"] != "duration" {
			fail(400, "InvalidUrl", "bad path or annotations: "+r.URL.String())
			return
		}
		var coords [][2]float64
		for _, c := range strings.Split(rest, ";") {
			lng, lat, ok := strings.Cut(c, ",")
			x, err1 := strconv.ParseFloat(lng, 64)
			y, err2 := strconv.ParseFloat(lat, 64)
			if !ok || err1 != nil || err2 != nil || x < -180 || x > 180 || y < -90 || y > 90 {
				fail(400, "InvalidValue", "bad coordinate "+c)
				return
			}
			coords = append(coords, [2]float64{x, y})
		}
		if len(coords) > f.maxLoc {
			fail(400, "TooBig", fmt.Sprintf("%d coordinates > max-table-size %d", len(coords), f.maxLoc))
			return
		}
		f.coords.Store(coords)
		parse := func(s string) []int {
			var out []int
			for _, v := range strings.Split(s, ";") {
				i, err := strconv.Atoi(v)
				if err != nil || i < 0 || i >= len(coords) {
					return nil
				}
				out = append(out, i)
			}
			return out
		}
		src, dst := parse(q["sources"]), parse(q["destinations"])
		if src == nil || dst == nil {
			fail(400, "InvalidOptions", "bad sources or destinations")
			return
		}
		d := make([][]float64, len(src))
		for i, s := range src {
			d[i] = make([]float64, len(dst))
			for j, k := range dst {
				d[i][j] = float64(1000*s + k)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"code": "Ok", "durations": d})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestOSRMClientTable(t *testing.T) {
	f := newFakeOSRM(t)
	c := &OSRMClient{BaseURL: f.srv.URL + "/", HTTP: f.srv.Client()}
	src := []Point{{48.85, 2.35}, {48.86, 2.36}}
	dst := []Point{{48.87, 2.37}, {48.88, 2.38}, {48.89, 2.39}}
	got, err := c.Table(context.Background(), src, dst, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Coordinates are sources then destinations: durations 1000·i + (2+j).
	for i := range src {
		for j := range dst {
			if want := float64(1000*i + 2 + j); got[i][j] != want {
				t.Fatalf("got[%d][%d] = %v, want %v", i, j, got[i][j], want)
			}
		}
	}
	coords := f.coords.Load().([][2]float64)
	if coords[0] != [2]float64{2.35, 48.85} {
		t.Fatalf("first coordinate sent as %v, OSRM wants lng,lat", coords[0])
	}
}

func TestOSRMClientSplitsLargeTables(t *testing.T) {
	f := newFakeOSRM(t)
	f.maxLoc = 6
	c := &OSRMClient{BaseURL: f.srv.URL, HTTP: f.srv.Client(), MaxLocations: 6}
	pts := randomPoints(rand.New(rand.NewPCG(4, 4)), 7, Point{45, 5}, 0.1)
	got, err := c.Table(context.Background(), pts, pts, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.requests.Load(); n != 9 { // 3×3 blocks of ≤3 sources and ≤3 destinations
		t.Fatalf("%d requests, want 9", n)
	}
	// Each block's indexes are local: source i of the block, destination 3+j.
	for i := range pts {
		for j := range pts {
			bi, bj := i%3, j%3
			bs := min(3, 7-(i/3)*3) // sources in this block
			if want := float64(1000*bi + bs + bj); got[i][j] != want {
				t.Fatalf("got[%d][%d] = %v, want %v", i, j, got[i][j], want)
			}
		}
	}
}

func TestOSRMClientErrors(t *testing.T) {
	pts := []Point{{48.85, 2.35}, {48.86, 2.36}}
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter) bool
		want  string
		osrm  bool // an *OSRMError
	}{
		{"InvalidQuery", func(w http.ResponseWriter) bool {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"code":"InvalidQuery","message":"Query string malformed close to position 28"}`)
			return true
		}, "InvalidQuery: Query string malformed", true},
		{"NoTable with 200", func(w http.ResponseWriter) bool {
			fmt.Fprint(w, `{"code":"NoTable","message":"No table found"}`)
			return true
		}, "NoTable", true},
		{"HTTP 502 from a proxy", func(w http.ResponseWriter) bool {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			fmt.Fprint(w, "<html>Bad Gateway</html>")
			return true
		}, "HTTP 502: <html>Bad Gateway", true},
		{"null duration", func(w http.ResponseWriter) bool {
			fmt.Fprint(w, `{"code":"Ok","durations":[[0,null],[12.5,0]]}`)
			return true
		}, "no route from (48.850000,2.350000) to (48.860000,2.360000)", false},
		{"wrong shape", func(w http.ResponseWriter) bool {
			fmt.Fprint(w, `{"code":"Ok","durations":[[0,1]]}`)
			return true
		}, "1 rows for 2 sources", false},
		{"not JSON", func(w http.ResponseWriter) bool {
			fmt.Fprint(w, `durations: yes`)
			return true
		}, "not JSON", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOSRM(t)
			f.reply = tt.reply
			c := &OSRMClient{BaseURL: f.srv.URL, HTTP: f.srv.Client()}
			_, err := c.Table(context.Background(), pts, pts, time.Time{})
			if !errors.Is(err, ErrRouting) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrRouting mentioning %q", err, tt.want)
			}
			var oe *OSRMError
			if errors.As(err, &oe) != tt.osrm {
				t.Fatalf("errors.As(*OSRMError) = %v, want %v", !tt.osrm, tt.osrm)
			}
		})
	}
	// Nothing listening.
	f := newFakeOSRM(t)
	f.srv.Close()
	c := &OSRMClient{BaseURL: f.srv.URL}
	if _, err := c.Table(context.Background(), pts, pts, time.Time{}); !errors.Is(err, ErrRouting) {
		t.Fatalf("server down: %v", err)
	}
	if _, err := (&OSRMClient{}).Table(context.Background(), pts, pts, time.Time{}); !errors.Is(err, ErrRouting) {
		t.Fatalf("no base URL: %v", err)
	}
	if _, err := c.Table(context.Background(), []Point{{}}, pts, time.Time{}); !errors.Is(err, ErrInvalidPoint) {
		t.Fatalf("(0,0) sent to OSRM: %v", err)
	}
}

func TestFallbackTable(t *testing.T) {
	f := newFakeOSRM(t)
	model := DefaultTravelModel()
	fb := FallbackTable{Primary: &OSRMClient{BaseURL: f.srv.URL, HTTP: f.srv.Client()}, Secondary: model}
	pts := []Point{{48.85, 2.35}, {48.90, 2.40}}
	at := time.Date(2025, 3, 12, 13, 0, 0, 0, time.UTC)
	got, err := fb.Table(context.Background(), pts, pts, at)
	if err != nil || got[0][1] != 3 {
		t.Fatalf("healthy OSRM: %v, %v; want OSRM's 3", got, err)
	}
	f.reply = func(w http.ResponseWriter) bool {
		w.WriteHeader(503)
		return true
	}
	got, err = fb.Table(context.Background(), pts, pts, at)
	if want := model.Duration(pts[0], pts[1], at).Seconds(); err != nil || got[0][1] != want {
		t.Fatalf("OSRM down: %v, %v; want the model's %v", got, err, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fb.Table(ctx, pts, pts, at); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled, not a fallback", err)
	}
	// Through the matrix builder, OSRM's figures are cached per cell pair.
	f.reply = nil
	b, err := NewMatrixBuilder(fb, model, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := f.requests.Load()
	for range 3 {
		m, err := b.Matrix(context.Background(), pts, at)
		if err != nil || m[0][1] != 3 { // sources then destinations: 1000·0 + 3
			t.Fatalf("matrix through OSRM: %v, %v", m, err)
		}
	}
	if n := f.requests.Load() - before; n != 1 {
		t.Fatalf("three matrices made %d OSRM requests, want 1", n)
	}
}
