package fcm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
)

// Outcome is what the caller does next with one device; the values are stable for storage.
type Outcome string

const (
	// Delivered: FCM accepted the message (MessageName is its id).
	Delivered Outcome = "delivered"
	// Retryable: FCM was unavailable, failed internally, rate-limited us, or did not answer in
	// time. Send again later, no sooner than RetryAfter.
	Retryable Outcome = "retryable"
	// TokenInvalid: the token is unregistered or malformed. Disable the device; never retry.
	TokenInvalid Outcome = "token_invalid"
	// Failed: anything else (a message FCM refuses, bad credentials, sender mismatch). Retrying
	// the same request will not help; someone has to look.
	Failed Outcome = "failed"
)

// DeviceResult is the outcome of one push to one device token.
type DeviceResult struct {
	Token       string
	Outcome     Outcome
	MessageName string // "projects/{id}/messages/{n}" when Delivered
	// RetryAfter is the server's Retry-After when it sent one (Retryable only), else 0.
	RetryAfter time.Duration
	// Code is FCM's error code (FcmError errorCode, else the google.rpc status), e.g.
	// "UNREGISTERED", "QUOTA_EXCEEDED", "DEADLINE_EXCEEDED", or UNREACHABLE when no connection
	// to FCM could be opened; empty when delivered.
	Code       string
	HTTPStatus int // 0 when there was no HTTP answer
	Err        error
}

// Codes of sends FCM never saw.
const (
	CodeUnreachable = "UNREACHABLE" // no connection to FCM could be opened (an UnreachableError)
	CodeNotSent     = "NOT_SENT"    // the push could not be built (Build's errors)
)

// Unreachable reports whether FCM was never reached: nothing was sent, and the endpoint, not
// the push, is at fault.
func (r DeviceResult) Unreachable() bool { return r.Code == CodeUnreachable }

// Classify sorts an error from the SDK's Send (or one SendEach response) into an outcome; every
// result but Delivered has a Code. now resolves a Retry-After given as an HTTP date.
func Classify(token, name string, err error, now time.Time) DeviceResult {
	r := DeviceResult{Token: token, Err: err}
	if err == nil {
		r.Outcome, r.MessageName = Delivered, name
		return r
	}
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		r.Outcome, r.Code = Retryable, CodeUnreachable
		return r
	}
	var body rpcError
	if resp := errorutils.HTTPResponse(err); resp != nil {
		r.HTTPStatus = resp.StatusCode
		body = readRPCError(resp)
		r.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		r.Code = body.fcmCode()
		if r.Code == "" {
			r.Code = body.Error.Status
		}
	}

	// orCode keeps FCM's own code and names the case when FCM gave none (no answer, or a body
	// that is not google.rpc).
	orCode := func(code string) string { return cmp.Or(r.Code, code) }
	switch {
	case messaging.IsUnregistered(err):
		r.Outcome, r.Code = TokenInvalid, "UNREGISTERED"
	case messaging.IsInvalidArgument(err) || errorutils.IsInvalidArgument(err):
		r.Outcome, r.Code = Failed, orCode("INVALID_ARGUMENT")
		if body.aboutToken() {
			r.Outcome = TokenInvalid
		}
	case messaging.IsUnavailable(err) || errorutils.IsUnavailable(err):
		r.Outcome, r.Code = Retryable, orCode("UNAVAILABLE")
	case messaging.IsInternal(err) || errorutils.IsInternal(err):
		r.Outcome, r.Code = Retryable, orCode("INTERNAL")
	case messaging.IsQuotaExceeded(err) || errorutils.IsResourceExhausted(err):
		r.Outcome, r.Code = Retryable, orCode("QUOTA_EXCEEDED")
	case errorutils.IsDeadlineExceeded(err), errors.Is(err, context.DeadlineExceeded):
		// The request may or may not have reached FCM; a repeat is harmless (same collapse key).
		r.Outcome, r.Code = Retryable, "DEADLINE_EXCEEDED"
	case errors.Is(err, context.Canceled):
		r.Outcome, r.Code = Retryable, "CANCELLED"
	case r.HTTPStatus >= 500:
		r.Outcome, r.Code = Retryable, orCode("HTTP_"+strconv.Itoa(r.HTTPStatus))
	case r.HTTPStatus == 0 && errorutils.IsUnknown(err):
		// A network error without an answer: the SDK already retried it a few times.
		r.Outcome, r.Code = Retryable, "UNKNOWN"
	default:
		r.Outcome = Failed
		if r.HTTPStatus != 0 {
			r.Code = orCode("HTTP_" + strconv.Itoa(r.HTTPStatus))
		} else {
			r.Code = orCode("UNKNOWN")
		}
	}
	if r.Outcome != Retryable {
		r.RetryAfter = 0
	}
	return r
}

// rpcError is the google.rpc error body FCM answers with.
type rpcError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

func readRPCError(resp *http.Response) rpcError {
	var e rpcError
	if resp.Body == nil {
		return e
	}
	b, err := io.ReadAll(resp.Body)
	// The SDK keeps this response in the error; put the body back for whoever reads it next.
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err == nil {
		_ = json.Unmarshal(b, &e) // a body that is not google.rpc leaves e empty
	}
	return e
}

func (e rpcError) fcmCode() string {
	for _, d := range e.Error.Details {
		if d.Type == "type.googleapis.com/google.firebase.fcm.v1.FcmError" {
			return d.ErrorCode
		}
	}
	return ""
}

// aboutToken reports whether an INVALID_ARGUMENT blames the registration token rather than
// the message: FCM names the field in a BadRequest detail and says so in the message.
func (e rpcError) aboutToken() bool {
	for _, d := range e.Error.Details {
		for _, v := range d.FieldViolations {
			if v.Field == "message.token" {
				return true
			}
		}
	}
	return strings.Contains(strings.ToLower(e.Error.Message), "registration token")
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
