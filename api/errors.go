package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Problem is an RFC 9457 problem detail with our stable code.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	// Alternatives are offered with a 409 window_unavailable.
	Alternatives any `json:"alternatives,omitempty"`
	// Missing names the required checklist items of a 409 checklist_incomplete.
	Missing any `json:"missing,omitempty"`
	// AttemptsLeft are the tries left on an acceptance code (code_wrong, code_locked, code_expired).
	AttemptsLeft any `json:"attempts_left,omitempty"`
}

// statusOfCode overrides the kind's status for a few codes that HTTP has a word of its own for.
var statusOfCode = map[string]int{
	"file_too_large":         http.StatusRequestEntityTooLarge,
	"unsupported_media_type": http.StatusUnsupportedMediaType,
	"content_type_mismatch":  http.StatusUnsupportedMediaType,
	"cursor_expired":         http.StatusGone,
}

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[dispatch.Kind]int{
	dispatch.KindInvalid:       http.StatusBadRequest,
	dispatch.KindNotFound:      http.StatusNotFound,
	dispatch.KindForbidden:     http.StatusForbidden,
	dispatch.KindConflict:      http.StatusConflict,
	dispatch.KindUnprocessable: http.StatusUnprocessableEntity,
	dispatch.KindUnavailable:   http.StatusServiceUnavailable,
	dispatch.KindInternal:      http.StatusInternalServerError,
}

// httpError is an HTTP-level refusal (auth, body size, routing) carried as an error.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func problem(status int, code, msg string) error { return &httpError{status, code, msg} }

// errorHandler writes every error as problem+json and logs only internal ones.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := Problem{Type: "about:blank", Instance: c.Request().URL.Path}
		var (
			he  *httpError
			de  *dispatch.Error
			ehe *echo.HTTPError
		)
		switch {
		case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
			// The client went away mid-request: nothing to answer, nothing to alarm anyone about.
			p.Status, p.Code, p.Detail = 499, "client_closed_request", "the client closed the request"
		case errors.As(err, &he):
			p.Status, p.Code, p.Detail = he.status, he.code, he.msg
		case errors.As(err, &de):
			p.Status, p.Code, p.Detail, p.Field = statusOf[de.Kind], de.Code, de.Message, de.Field
			p.Alternatives, p.Missing, p.AttemptsLeft = de.Extra["alternatives"], de.Extra["missing"], de.Extra["attempts_left"]
			if st, ok := statusOfCode[de.Code]; ok {
				p.Status = st
			}
			if de.Kind == dispatch.KindInternal {
				p.Detail = "internal error"
			}
		case errors.As(err, &ehe):
			p.Status = ehe.Code
			p.Code = echoCode(ehe.Code)
			if m, ok := ehe.Message.(string); ok {
				p.Detail = m
			}
		default:
			p.Status, p.Code, p.Detail = http.StatusInternalServerError, "internal", "internal error"
		}
		if p.Status == 0 {
			p.Status, p.Code = http.StatusInternalServerError, "internal"
		}
		p.Title = http.StatusText(p.Status)
		if p.Status >= 500 && p.Status != http.StatusServiceUnavailable && p.Status != 499 {
			log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
		}
		if p.Status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", strconv.Itoa(2))
		}
		body, _ := json.Marshal(p)
		if de != nil && len(de.Extra) > 0 && p.Status < 500 {
			// The error's other members (the job a clash is with, the technician without room)
			// join the problem document, without overriding its own.
			var m map[string]any
			if json.Unmarshal(body, &m) == nil {
				for k, v := range de.Extra {
					if _, taken := m[k]; !taken {
						m[k] = v
					}
				}
				body, _ = json.Marshal(m)
			}
		}
		_ = c.Blob(p.Status, "application/problem+json", body)
	}
}

func echoCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "route_not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}
