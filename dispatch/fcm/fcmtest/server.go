// Package fcmtest is a local fake of the FCM HTTP v1 API for tests and black-box runs.
//
// It answers POST /v1/projects/{id}/messages:send with FCM's wire format — {"name": ...} on
// success and a google.rpc error body with google.firebase.fcm.v1.FcmError details on failure —
// so the real Firebase Admin SDK can be pointed at it with
// option.WithEndpoint(s.Endpoint()) and option.WithoutAuthentication(). Faults are injected per
// token (FailToken) or for the whole server (FailNext, FailFor), replies can be slowed
// (SetLatency), the server can go away and come back on the same address (Stop, Start: connections
// are refused meanwhile), and every request received is recorded.
package fcmtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"firebase.google.com/go/v4/messaging"
)

// MaxPayloadBytes is FCM's limit on a message's payload: the data keys and values plus the
// notification's title and body. A larger message is refused with 400 INVALID_ARGUMENT.
const MaxPayloadBytes = 4096

// Request is one messages:send request the server received.
type Request struct {
	// Body is the raw JSON body as sent.
	Body []byte
	// Message is Body's "message", decoded with the SDK's own types; nil when it did not decode.
	Message *messaging.Message
	// Token is the message's registration token ("" for topic or condition targets).
	Token        string
	ValidateOnly bool
	Header       http.Header
	ReceivedAt   time.Time
	// Status is the HTTP status the server answered; Name the message name when it was 200.
	Status int
	Name   string
	// ErrorCode is the FcmError errorCode (or the google.rpc status when there is none) of a refusal.
	ErrorCode string
}

// Delivered reports whether the server accepted the message for delivery (not a dry run).
func (r Request) Delivered() bool { return r.Status == http.StatusOK && !r.ValidateOnly }

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL; the SDK endpoint is Endpoint() = URL + "/v1".
	URL       string
	ProjectID string

	srvMu sync.Mutex // guards srv, which Stop and Start replace
	srv   *httptest.Server

	mu           sync.Mutex
	requests     []Request
	received     int
	arrived      int // messages:send requests that came in, answered or not yet (a slow reply)
	deliveredN   int
	notRecording bool
	changed      chan struct{} // closed and replaced whenever a request is recorded
	nextID       int64
	tokens       map[string]Fault
	failNext     []Fault // consumed one per request, in arrival order
	failUntil    time.Time
	failFor      Fault
	latency      time.Duration
}

// NewServer starts a fake FCM for projectID on a local port. Close it when done.
func NewServer(projectID string) *Server {
	s := NewHandler(projectID)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// NewHandler returns the fake without starting a listener, to mount it in another server; URL is empty.
func NewHandler(projectID string) *Server {
	return &Server{
		ProjectID: projectID,
		changed:   make(chan struct{}),
		tokens:    make(map[string]Fault),
	}
}

// Endpoint is the base URL the SDK expects in option.WithEndpoint.
func (s *Server) Endpoint() string { return s.URL + "/v1" }

// Close shuts the listener down, interrupting slow replies still in flight.
func (s *Server) Close() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.srv = nil
	}
}

// Stop makes FCM go away: the listener and every connection close, and new connections are
// refused until Start.
func (s *Server) Stop() { s.Close() }

// Start listens again on the address of before Stop, so clients pointed at Endpoint() reach it.
func (s *Server) Start() error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		return fmt.Errorf("fcmtest: listen again: %w", err)
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	s.srv = srv
	return nil
}

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

// SetRecording turns keeping each request (body, message, headers) on or off; counts are
// always kept. Off keeps the fake's memory flat in long benchmarks.
func (s *Server) SetRecording(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notRecording = !on
}

// Requests returns every messages:send request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Arrived is the number of messages:send requests that came in so far, including those whose
// reply is still held back by SetLatency (Count counts them once answered).
func (s *Server) Arrived() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arrived
}

// Count is the number of messages:send requests received so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Messages returns the requests FCM would have delivered (200, not a dry run), in arrival order.
func (s *Server) Messages() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered()
}

// DeliveredCount is the number of messages delivered so far (len(Messages()) while recording).
func (s *Server) DeliveredCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveredN
}

// WaitRequests blocks until at least n requests were received or ctx ends, and returns the
// recorded ones.
func (s *Server) WaitRequests(ctx context.Context, n int) ([]Request, error) {
	return s.wait(ctx, n, func() int { return s.received }, func() []Request { return s.requests })
}

// WaitMessages blocks until at least n messages were delivered or ctx ends, and returns the
// recorded ones.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Request, error) {
	return s.wait(ctx, n, func() int { return s.deliveredN }, s.delivered)
}

func (s *Server) wait(ctx context.Context, n int, count func() int, list func() []Request) ([]Request, error) {
	for {
		s.mu.Lock()
		have, changed := count(), s.changed
		if have >= n {
			got := append([]Request(nil), list()...)
			s.mu.Unlock()
			return got, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fcmtest: waiting for %d, have %d: %w", n, have, ctx.Err())
		case <-changed:
		}
	}
}

// delivered needs s.mu held.
func (s *Server) delivered() []Request {
	var out []Request
	for _, r := range s.requests {
		if r.Delivered() {
			out = append(out, r)
		}
	}
	return out
}

// ServeHTTP answers FCM HTTP v1 requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" && r.Method == http.MethodPost {
		s.serveToken(w, r)
		return
	}
	project, ok := parseSendPath(r.URL.Path)
	if !ok {
		if r.URL.Path == "/v1" || r.URL.Path == "/batch" {
			// The SDK's deprecated SendAll/SendMulticast post multipart batches here; FCM shut
			// that API down in 2024, and so does the fake. SendEach uses messages:send.
			writeError(w, Fault{HTTPStatus: http.StatusNotFound, Status: "NOT_FOUND",
				Message: "The batch send API is shut down; use messages:send (SendEach)."})
			return
		}
		writeError(w, Fault{HTTPStatus: http.StatusNotFound, Status: "NOT_FOUND",
			Message: "Requested entity was not found."})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, Fault{HTTPStatus: http.StatusMethodNotAllowed, Status: "INVALID_ARGUMENT",
			Message: "Method not allowed; use POST."})
		return
	}

	s.mu.Lock()
	s.arrived++
	s.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	rec := Request{Body: body, Header: r.Header.Clone(), ReceivedAt: time.Now()}
	fault, name := s.decide(project, &rec)

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
	}

	if fault != nil {
		rec.Status = fault.HTTPStatus
		rec.ErrorCode = fault.ErrorCode
		if rec.ErrorCode == "" {
			rec.ErrorCode = fault.Status
		}
	} else {
		rec.Status = http.StatusOK
		rec.Name = name
	}
	s.record(rec)

	if fault != nil {
		writeError(w, *fault)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]string{"name": name})
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

func (s *Server) record(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	if rec.Delivered() {
		s.deliveredN++
	}
	if !s.notRecording {
		s.requests = append(s.requests, rec)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// parseSendPath returns the project of /v1/projects/{id}/messages:send.
func parseSendPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/projects/")
	if !ok {
		return "", false
	}
	project, ok := strings.CutSuffix(rest, "/messages:send")
	if !ok || project == "" || strings.Contains(project, "/") {
		return "", false
	}
	return project, true
}

// payloadSize counts what FCM counts against the 4 KB limit: data and the visible notification.
func payloadSize(m *messaging.Message) int {
	n := 0
	for k, v := range m.Data {
		n += len(k) + len(v)
	}
	if m.Notification != nil {
		n += len(m.Notification.Title) + len(m.Notification.Body)
	}
	return n
}

func countNonEmpty(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
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

// AccessToken is what the fake's OAuth token endpoint hands out for a service account.
const AccessToken = "fcmtest-access-token"

// WriteServiceAccount writes a service-account credentials file whose token_uri is this
// fake's /token, so the credentials-file path of a client can be exercised without Google.
func (s *Server) WriteServiceAccount(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	sa := map[string]string{
		"type":           "service_account",
		"project_id":     s.ProjectID,
		"private_key_id": "fcmtest",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "fcmtest@" + s.ProjectID + ".iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      s.URL + "/token",
	}
	b, err := json.MarshalIndent(sa, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// serveToken is a minimal OAuth 2.0 token endpoint for the JWT-bearer grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("assertion") == "" ||
		r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": AccessToken, "token_type": "Bearer", "expires_in": 3600,
	})
}
