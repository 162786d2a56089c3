package dispatch

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error so that adapters can map it (api maps kinds to HTTP statuses).
type Kind int

const (
	KindInternal      Kind = iota // a defect or an unavailable dependency
	KindInvalid                   // the request is malformed or breaks a field rule
	KindNotFound                  // the thing does not exist (or the caller may not know it does)
	KindForbidden                 // the caller's role may not do this
	KindConflict                  // the state or version changed; retrying blindly is wrong
	KindUnprocessable             // well-formed, but a business rule refuses it
	KindUnavailable               // a dependency (the database) is down; retry later
)

// Sentinel errors, for errors.Is.
var (
	ErrInvalid       = &Error{Kind: KindInvalid, Code: "invalid_request"}
	ErrNotFound      = &Error{Kind: KindNotFound, Code: "not_found"}
	ErrForbidden     = &Error{Kind: KindForbidden, Code: "forbidden"}
	ErrConflict      = &Error{Kind: KindConflict, Code: "conflict"}
	ErrUnprocessable = &Error{Kind: KindUnprocessable, Code: "unprocessable"}
	ErrUnavailable   = &Error{Kind: KindUnavailable, Code: "unavailable"}
)

// Error is an error with a kind, a stable machine code and a message a person understands.
type Error struct {
	Kind    Kind
	Code    string // stable, snake_case: clients switch on it
	Message string
	Field   string         // the request field at fault, when there is one
	Extra   map[string]any // more members for the problem document (e.g. alternatives)
	Err     error          // the cause, if any
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error of the same kind, so errors.Is(err, ErrNotFound) works for every not-found.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && (t.Code == e.Code || isSentinel(t))
}

func isSentinel(e *Error) bool {
	switch e {
	case ErrInvalid, ErrNotFound, ErrForbidden, ErrConflict, ErrUnprocessable, ErrUnavailable:
		return true
	}
	return false
}

// Invalid reports a bad field.
func Invalid(field, code, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing thing.
func NotFound(what string, id any) error {
	return &Error{Kind: KindNotFound, Code: what + "_not_found", Message: fmt.Sprintf("%s %v not found", what, id)}
}

// Forbidden reports a role or ownership refusal.
func Forbidden(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

// Conflict reports a state or version clash.
func Conflict(code, format string, args ...any) error {
	return &Error{Kind: KindConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unprocessable reports a business-rule refusal.
func Unprocessable(code, format string, args ...any) error {
	return &Error{Kind: KindUnprocessable, Code: code, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err (KindInternal when it carries none).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// HasCode reports whether err is an *Error with that code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// LostRace reports whether a concurrent change won over err's (another pick took the gap or the
// last part in the van, or PostgreSQL chose this transaction as a deadlock's victim): doing it
// again may succeed.
func LostRace(err error) bool {
	return HasCode(err, "technician_double_booked") || HasCode(err, "concurrent_update") || HasCode(err, "parts_unavailable")
}

// HaltsBackground reports whether err, met on one item of a background run, ends the run: the
// database is gone or the server is stopping, so the items after it would fail too. Any other
// failure is the item's own: it is reported and the run goes on.
func HaltsBackground(ctx context.Context, err error) bool {
	return ctx.Err() != nil || KindOf(err) == KindUnavailable
}

// CheckVersion refuses a change made from version want of a thing (what id) that is at version
// have now (want 0: the caller did not say, and nothing is checked).
func CheckVersion(what string, id int64, have, want int) error {
	if want != 0 && want != have {
		return Conflict("version_mismatch", "%s %d is at version %d, not %d: reload and retry", what, id, have, want)
	}
	return nil
}
