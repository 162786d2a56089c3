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
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
	inFlight     int // requests inside their latency now
	maxInFlight  int // the most that ever were at once
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
		s.mu.Lock()
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
		s.mu.Unlock()
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
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
