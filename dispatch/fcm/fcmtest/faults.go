package fcmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"firebase.google.com/go/v4/messaging"
)

// Fault is an error reply: HTTP status, google.rpc status, FcmError code and optional Retry-After.
type Fault struct {
	HTTPStatus int
	Status     string // google.rpc status, e.g. "UNAVAILABLE"
	ErrorCode  string // FcmError errorCode, e.g. "UNREGISTERED"; empty for none
	Message    string
	// RetryAfter, when positive, is sent as a Retry-After header in whole seconds (rounded up).
	RetryAfter time.Duration
	// TokenViolation adds a google.rpc.BadRequest detail naming message.token, as FCM does for
	// a malformed registration token.
	TokenViolation bool
}

// Unregistered is FCM's answer for a token whose app instance is gone: 404 UNREGISTERED.
func Unregistered() Fault {
	return Fault{HTTPStatus: http.StatusNotFound, Status: "NOT_FOUND", ErrorCode: "UNREGISTERED",
		Message: "Requested entity was not found."}
}

// InvalidToken is FCM's answer for a malformed registration token: 400 INVALID_ARGUMENT.
func InvalidToken() Fault {
	return Fault{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT", ErrorCode: "INVALID_ARGUMENT",
		Message: "The registration token is not a valid FCM registration token", TokenViolation: true}
}

// Unavailable is an FCM outage: 503 UNAVAILABLE, with Retry-After when retryAfter > 0.
func Unavailable(retryAfter time.Duration) Fault {
	return Fault{HTTPStatus: http.StatusServiceUnavailable, Status: "UNAVAILABLE", ErrorCode: "UNAVAILABLE",
		Message: "The service is currently unavailable.", RetryAfter: retryAfter}
}

// QuotaExceeded is FCM's rate limit: 429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, with Retry-After.
func QuotaExceeded(retryAfter time.Duration) Fault {
	return Fault{HTTPStatus: http.StatusTooManyRequests, Status: "RESOURCE_EXHAUSTED", ErrorCode: "QUOTA_EXCEEDED",
		Message: "Quota exceeded for quota metric 'Send requests'.", RetryAfter: retryAfter}
}

// Internal is an FCM server error: 500 INTERNAL.
func Internal() Fault {
	return Fault{HTTPStatus: http.StatusInternalServerError, Status: "INTERNAL", ErrorCode: "INTERNAL",
		Message: "Internal error encountered."}
}

// FailToken makes every message to these tokens fail with f (e.g. Unregistered()).
func (s *Server) FailToken(f Fault, tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		s.tokens[t] = f
	}
}

// FailNext makes the next n requests, whatever their token, fail with f.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// FailFor makes every request received during the next d fail with f (an outage).
func (s *Server) FailFor(d time.Duration, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failUntil = time.Now().Add(d)
	s.failFor = f
}

// SetLatency delays every reply by d (slow replies); 0 restores immediate replies.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// ClearFaults removes every injected fault and latency; recorded requests stay.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = make(map[string]Fault)
	s.failNext = nil
	s.failUntil = time.Time{}
	s.latency = 0
}

// decide validates the request and picks its answer: a fault, or the name of the accepted message.
func (s *Server) decide(project string, rec *Request) (*Fault, string) {
	var req struct {
		ValidateOnly bool            `json:"validate_only"`
		Message      json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(rec.Body, &req); err != nil {
		return &Fault{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT",
			Message: "Invalid JSON payload received. " + err.Error()}, ""
	}
	rec.ValidateOnly = req.ValidateOnly
	var msg messaging.Message
	if len(req.Message) == 0 {
		return &Fault{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT", ErrorCode: "INVALID_ARGUMENT",
			Message: "Request contains an invalid argument: message is required."}, ""
	}
	if err := json.Unmarshal(req.Message, &msg); err != nil {
		return &Fault{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT", ErrorCode: "INVALID_ARGUMENT",
			Message: "Invalid JSON payload received. " + err.Error()}, ""
	}
	rec.Message = &msg
	rec.Token = msg.Token

	s.mu.Lock()
	defer s.mu.Unlock()
	if project != s.ProjectID {
		return &Fault{HTTPStatus: http.StatusForbidden, Status: "PERMISSION_DENIED", ErrorCode: "SENDER_ID_MISMATCH",
			Message: fmt.Sprintf("Permission denied on project %q.", project)}, ""
	}
	// A server-wide outage hits every request before anything about the message matters.
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		return &f, ""
	}
	if time.Now().Before(s.failUntil) {
		f := s.failFor
		return &f, ""
	}
	if countNonEmpty(msg.Token, msg.Topic, msg.Condition, msg.Fid) != 1 {
		return &Fault{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT", ErrorCode: "INVALID_ARGUMENT",
			Message: "Request contains an invalid argument: exactly one of token, topic, condition or fid is required."}, ""
	}
	if n := payloadSize(&msg); n > MaxPayloadBytes {
		return &Fault{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT", ErrorCode: "INVALID_ARGUMENT",
			Message: fmt.Sprintf("Message is too big: %d bytes, limit %d.", n, MaxPayloadBytes)}, ""
	}
	if f, ok := s.tokens[msg.Token]; ok && msg.Token != "" {
		return &f, ""
	}
	if req.ValidateOnly {
		return nil, fmt.Sprintf("projects/%s/messages/fake_message_id", project)
	}
	s.nextID++
	return nil, fmt.Sprintf("projects/%s/messages/%d", project, s.nextID)
}

// writeError writes the google.rpc error body FCM sends, with its HTTP status.
func writeError(w http.ResponseWriter, f Fault) {
	details := []map[string]any{}
	if f.ErrorCode != "" {
		details = append(details, map[string]any{
			"@type":     "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			"errorCode": f.ErrorCode,
		})
	}
	if f.TokenViolation {
		details = append(details, map[string]any{
			"@type": "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": []map[string]string{
				{"field": "message.token", "description": f.Message},
			},
		})
	}
	body := map[string]any{"error": map[string]any{
		"code":    f.HTTPStatus,
		"message": f.Message,
		"status":  f.Status,
		"details": details,
	}}
	if f.RetryAfter > 0 {
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(f.HTTPStatus)
	_ = json.NewEncoder(w).Encode(body)
}

// MaxInFlight is the most requests that were ever held in their latency (SetLatency) at once: how
// far a client overlapped its sends, whatever the machine's speed.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}
