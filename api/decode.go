package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing data and bodies over
// MaxBody, each with its own code. It returns the raw body for request hashing.
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, jsonProblem(err)
	}
	if dec.More() {
		return nil, problem(http.StatusBadRequest, "malformed_json", "the body holds more than one JSON value")
	}
	return body, nil
}

func jsonProblem(err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, "malformed_json", "the body is not valid JSON")
	case errors.As(err, &te):
		return problem(http.StatusBadRequest, "invalid_type", fmt.Sprintf("field %q must be %s", te.Field, kindName(te.Type.String())))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return problem(http.StatusBadRequest, "unknown_field", "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		// Values that fail their own UnmarshalJSON (dates, times) land here.
		return problem(http.StatusBadRequest, "invalid_value", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func kindName(t string) string {
	switch {
	case strings.HasPrefix(t, "float"), strings.HasPrefix(t, "int"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "an object of the documented shape"
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
