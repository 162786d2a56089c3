package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing data and bodies over
// MaxBody, each with its own code. It returns the raw body for request hashing.
//
// Names are matched as written ("Problem" is not "problem"), and a body that says two things at
// once is refused rather than read one way: a name given twice (duplicate_field), invalid UTF-8 or
// half a UTF-16 surrogate pair (invalid_unicode), which encoding/json would let through, the last
// value winning and the bad text turned into U+FFFD. The decoder is encoding/json/v2's prototype,
// which checks all three.
func decodeJSON(c echo.Context, v any) ([]byte, error) {
	r := c.Request()
	// The body is read as JSON whatever the Content-Type says: curl -d sends form-urlencoded.
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the request body is over %d bytes", MaxBody))
		}
		return nil, problem(http.StatusBadRequest, "unreadable_body", "could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, problem(http.StatusBadRequest, "empty_body", "the request needs a JSON body")
	}
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		return nil, jsonProblem(body, err)
	}
	return body, nil
}

func jsonProblem(body []byte, err error) error {
	var (
		syn *jsontext.SyntacticError
		sem *json.SemanticError
	)
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		return problem(http.StatusBadRequest, "duplicate_field", fmt.Sprintf("field %q is given more than once", fieldName(pointerOf(err))))
	case (errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF)) && (!utf8.Valid(body) || loneSurrogate(body)):
		return problem(http.StatusBadRequest, "invalid_unicode", "the body holds invalid UTF-8 or half of a UTF-16 surrogate pair (such as \\ud800 alone)")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, "malformed_json", "the body is not valid JSON (one JSON value)")
	case errors.Is(err, json.ErrUnknownName):
		return problem(http.StatusBadRequest, "unknown_field", fmt.Sprintf("unknown field %q", pointerOf(err).LastToken()))
	case errors.As(err, &sem) && sem.GoType != nil && (sem.Err == nil || isInteger(sem.GoType.Kind())):
		return problem(http.StatusBadRequest, "invalid_type", fmt.Sprintf("field %q must be %s", fieldName(sem.JSONPointer), kindName(sem.GoType.Kind())))
	case errors.As(err, &sem) && sem.Err != nil:
		// Values that fail their own parsing (dates, times, cells) land here.
		return problem(http.StatusBadRequest, "invalid_value", fmt.Sprintf("field %q: %v", fieldName(sem.JSONPointer), sem.Err))
	default:
		return problem(http.StatusBadRequest, "invalid_value", "the body does not have the documented shape")
	}
}

// pointerOf is where in the body the decoder failed.
func pointerOf(err error) jsontext.Pointer {
	var (
		syn *jsontext.SyntacticError
		sem *json.SemanticError
	)
	switch {
	case errors.As(err, &syn):
		return syn.JSONPointer
	case errors.As(err, &sem):
		return sem.JSONPointer
	}
	return ""
}

// fieldName is a JSON pointer as a reader writes it: "/preferred_windows/0/start" is
// "preferred_windows.0.start"; the whole body is "body".
func fieldName(p jsontext.Pointer) string {
	if p == "" {
		return "body"
	}
	return strings.ReplaceAll(strings.TrimPrefix(string(p), "/"), "/", ".")
}

func isInteger(k reflect.Kind) bool {
	return (k >= reflect.Int && k <= reflect.Int64) || (k >= reflect.Uint && k <= reflect.Uintptr)
}

func kindName(k reflect.Kind) string {
	switch {
	case isInteger(k):
		return "a whole number"
	case k == reflect.Float32, k == reflect.Float64:
		return "a number"
	case k == reflect.String:
		return "a string"
	case k == reflect.Bool:
		return "true or false"
	case k == reflect.Slice, k == reflect.Array:
		return "an array"
	}
	return "an object of the documented shape"
}

// loneSurrogate reports whether a \u escape in body is half of a UTF-16 surrogate pair without
// the other half (the decoder's own error says so only in words).
func loneSurrogate(body []byte) bool {
	unit := func(i int) (rune, bool) { // the code unit of a \uXXXX escape at body[i:]
		if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		r, ok := unit(i)
		if !ok {
			i++ // an escaped character: \\ must not start another escape
			continue
		}
		i += 5
		if !utf16.IsSurrogate(r) {
			continue
		}
		lo, ok := unit(i + 1)
		if !ok || utf16.DecodeRune(r, lo) == utf8.RuneError {
			return true
		}
		i += 6
	}
	return false
}

// pathID reads a positive integer path parameter.
func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem(http.StatusBadRequest, "invalid_id", fmt.Sprintf("%s must be a positive integer", name))
	}
	return id, nil
}

// ifMatch reads a version from If-Match ("3" or W/"3"); 0 when absent.
func ifMatch(c echo.Context) (int, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v <= 0 {
		return 0, problem(http.StatusBadRequest, "invalid_if_match", "If-Match must be an ETag this API returned, such as \"3\"")
	}
	return v, nil
}

func setETag(c echo.Context, version int) {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(version)))
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(c echo.Context, name string) (int64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, problem(http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %s must be a non-negative integer", name))
	}
	return v, nil
}

// pageOf reads the paging parameters limit and before.
func pageOf(c echo.Context) (dispatch.Page, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return dispatch.Page{}, err
	}
	before, err := queryInt(c, "before")
	if err != nil {
		return dispatch.Page{}, err
	}
	return dispatch.Page{Limit: int(limit), Before: before}, nil
}

// nextBefore is the cursor of the next page when this one came back full.
func nextBefore(p dispatch.Page, n int, lastID int64) *int64 {
	limit := p.Limit
	if limit <= 0 || limit > 200 {
		limit = 50 // the service's default page
	}
	if n < limit {
		return nil
	}
	return &lastID
}

// onlyQuery refuses query parameters other than names (and the paging ones, limit and before):
// a filter the server does not know would otherwise be ignored silently, and the caller would
// read an unfiltered list as a filtered one.
func onlyQuery(c echo.Context, names ...string) error {
	for q := range c.QueryParams() {
		if q != "limit" && q != "before" && !slices.Contains(names, q) {
			return problem(http.StatusBadRequest, "unknown_filter", fmt.Sprintf("unknown query parameter %q; this list takes %s, limit and before", q, strings.Join(names, ", ")))
		}
	}
	return nil
}

// queryBool reads an optional true/false parameter.
func queryBool(c echo.Context, name string) (*bool, error) {
	switch c.QueryParam(name) {
	case "":
		return nil, nil
	case "true":
		v := true
		return &v, nil
	case "false":
		v := false
		return &v, nil
	}
	return nil, problem(http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %s must be true or false", name))
}
