package geo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OSRMClient asks an OSRM server's table service
// (GET {BaseURL}/table/v1/{profile}/{lng,lat;...}?sources=..&destinations=..&annotations=duration)
// for driving times. The caller builds it from FIELDFIX_OSRM_URL; geo never
// reads the environment.
type OSRMClient struct {
	BaseURL string       // e.g. http://127.0.0.1:5000
	HTTP    *http.Client // nil: http.DefaultClient; deadlines come from ctx
	// Profile is the OSRM profile in the path (default "driving").
	Profile string
	// MaxLocations caps coordinates per request; osrm-routed's
	// --max-table-size defaults to 100, so larger tables are split.
	MaxLocations int
}

// OSRMError is a reply OSRM refused or could not serve. It wraps ErrRouting.
type OSRMError struct {
	StatusCode int    // HTTP status
	Code       string // OSRM's code, e.g. "InvalidQuery", "NoTable"
	Message    string
}

func (e *OSRMError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("osrm: HTTP %d: %s", e.StatusCode, e.Message)
	}
	return fmt.Sprintf("osrm: HTTP %d: %s: %s", e.StatusCode, e.Code, e.Message)
}

func (e *OSRMError) Unwrap() error { return ErrRouting }

type osrmTableReply struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Durations [][]*float64 `json:"durations"`
}

// maxOSRMReply bounds a reply's size: a 100-location table is a few kB.
const maxOSRMReply = 32 << 20

// Table implements TableService. departAt is ignored: OSRM's speeds are static.
func (c *OSRMClient) Table(ctx context.Context, sources, destinations []Point, departAt time.Time) ([][]float64, error) {
	if err := validatePoints(sources, destinations); err != nil {
		return nil, fmt.Errorf("osrm table: %w", err)
	}
	if c.BaseURL == "" {
		return nil, fmt.Errorf("osrm table: %w: no base URL", ErrRouting)
	}
	maxLoc := c.MaxLocations
	if maxLoc <= 0 {
		maxLoc = 100
	}
	if maxLoc < 2 {
		maxLoc = 2
	}
	chunk := maxLoc / 2
	out := make([][]float64, len(sources))
	for i := range out {
		out[i] = make([]float64, len(destinations))
	}
	for si := 0; si < len(sources); si += chunk {
		src := sources[si:min(si+chunk, len(sources))]
		for di := 0; di < len(destinations); di += chunk {
			dst := destinations[di:min(di+chunk, len(destinations))]
			t, err := c.table(ctx, src, dst)
			if err != nil {
				return nil, err
			}
			for i := range src {
				copy(out[si+i][di:], t[i])
			}
		}
	}
	return out, nil
}

func (c *OSRMClient) table(ctx context.Context, src, dst []Point) ([][]float64, error) {
	profile := c.Profile
	if profile == "" {
		profile = "driving"
	}
	var coords strings.Builder
	idx := func(from, n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = strconv.Itoa(from + i)
		}
		return strings.Join(s, ";")
	}
	for i, p := range append(append([]Point{}, src...), dst...) {
		if i > 0 {
			coords.WriteByte(';')
		}
		coords.WriteString(strconv.FormatFloat(p.Lng, 'f', 6, 64))
		coords.WriteByte(',')
		coords.WriteString(strconv.FormatFloat(p.Lat, 'f', 6, 64))
	}
	// OSRM wants literal semicolons in the query; url.Values would escape them.
	u := strings.TrimRight(c.BaseURL, "/") + "/table/v1/" + url.PathEscape(profile) + "/" + coords.String() +
		"?sources=" + idx(0, len(src)) + "&destinations=" + idx(len(src), len(dst)) + "&annotations=duration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("osrm table: %w: bad request: %v", ErrRouting, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("osrm table: %w: %w", ErrRouting, err) // keeps context.Canceled visible
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOSRMReply))
	if err != nil {
		return nil, fmt.Errorf("osrm table: %w: reading reply: %v", ErrRouting, err)
	}
	var r osrmTableReply
	if jerr := json.Unmarshal(body, &r); jerr != nil {
		if resp.StatusCode != http.StatusOK {
			return nil, &OSRMError{StatusCode: resp.StatusCode, Message: snippet(body)}
		}
		return nil, fmt.Errorf("osrm table: %w: reply is not JSON: %v", ErrRouting, jerr)
	}
	if resp.StatusCode != http.StatusOK || r.Code != "Ok" {
		return nil, &OSRMError{StatusCode: resp.StatusCode, Code: r.Code, Message: r.Message}
	}
	if len(r.Durations) != len(src) {
		return nil, fmt.Errorf("osrm table: %w: %d rows for %d sources", ErrRouting, len(r.Durations), len(src))
	}
	out := make([][]float64, len(src))
	for i, row := range r.Durations {
		if len(row) != len(dst) {
			return nil, fmt.Errorf("osrm table: %w: row %d has %d columns for %d destinations", ErrRouting, i, len(row), len(dst))
		}
		out[i] = make([]float64, len(dst))
		for j, v := range row {
			if v == nil {
				return nil, fmt.Errorf("osrm table: %w: no route from %v to %v", ErrRouting, src[i], dst[j])
			}
			out[i][j] = *v
		}
	}
	return out, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// FallbackTable asks Primary (OSRM) and, when it fails with anything but
// the caller's cancellation, answers from Secondary (the model), so dispatch
// keeps working when the routing engine is down. Known limit: a
// MatrixBuilder caches the fallback's model figures like OSRM's, until
// evicted; size its cache (or rebuild the builder) accordingly.
type FallbackTable struct {
	Primary   TableService
	Secondary TableService
	Logger    *slog.Logger // nil: silent
}

// Table implements TableService.
func (f FallbackTable) Table(ctx context.Context, sources, destinations []Point, departAt time.Time) ([][]float64, error) {
	t, err := f.Primary.Table(ctx, sources, destinations, departAt)
	if err == nil {
		return t, nil
	}
	if ctx.Err() != nil || errors.Is(err, ErrInvalidPoint) {
		return nil, err // the model would fail or be unwanted too
	}
	if f.Logger != nil {
		f.Logger.WarnContext(ctx, "routing engine failed; using the travel model", "err", err,
			"sources", len(sources), "destinations", len(destinations))
	}
	t, err2 := f.Secondary.Table(ctx, sources, destinations, departAt)
	if err2 != nil {
		return nil, fmt.Errorf("fallback table: %w (primary: %v)", err2, err)
	}
	return t, nil
}

// TimeSlot follows Secondary when it is time-dependent, so cached figures
// are keyed finely enough for the model.
func (f FallbackTable) TimeSlot(departAt time.Time) (int64, time.Time) {
	if ts, ok := f.Secondary.(TimeSlotter); ok {
		return ts.TimeSlot(departAt)
	}
	return 0, departAt
}
