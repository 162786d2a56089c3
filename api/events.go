package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Hub fans the change feed (fed by the caller, from postgres.Store.FollowEvents polling the audit
// trail) out to SSE subscribers.
// A subscriber too slow to keep up loses events and is told to resync.
type Hub struct {
	mu   sync.Mutex
	subs map[chan hubMessage]struct{}
}

// hubMessage is one SSE event: a change (an audit event's JSON), a technician's position, or,
// zero, a resync.
type hubMessage struct {
	event string
	data  []byte
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan hubMessage]struct{}{}} }

// Publish sends one change (a JSON object) to every subscriber.
func (h *Hub) Publish(payload []byte) { h.send(hubMessage{"change", payload}) }

// Technician sends a technician's latest position (after a ping, or any change to them) to every
// subscriber, as a "technician" event: the console moves their dot without reading anything.
func (h *Hub) Technician(t dispatch.Technician) {
	data, err := json.Marshal(struct {
		ID       int64              `json:"technician_id"`
		Active   bool               `json:"active"`
		Position *dispatch.Location `json:"last_position"`
		SeenAt   *time.Time         `json:"last_seen_at"`
	}{t.ID, t.Active, t.LastPosition, t.LastSeenAt})
	if err == nil {
		h.send(hubMessage{"technician", data})
	}
}

func (h *Hub) send(m hubMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- m:
		default: // full: the client must reload rather than see a hole silently
			select {
			case ch <- hubMessage{}:
			default:
			}
		}
	}
}

// Resync tells every subscriber that events may have been missed (after a lost LISTEN connection).
func (h *Hub) Resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- hubMessage{}:
		default:
		}
	}
}

func (h *Hub) subscribe() (chan hubMessage, func()) {
	ch := make(chan hubMessage, 256)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// Subscribers is the number of open streams.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// events streams job and booking changes as Server-Sent Events: "change" events carry the
// audit event's JSON (id, entity, entity_id, action, from_status, to_status, reason, booking_id, technician_id);
// "resync" means some were missed and the client should reload its view; "technician" events
// carry a technician's latest position ({technician_id, active, last_position, last_seen_at}). The stream ends with
// "token_expired" when the caller's token expires: a token is checked once per request, and a
// stream must not outlive it (the client reconnects with a fresh one).
func (h consoleHandlers) events(c echo.Context) error {
	if h.Events == nil {
		return problem(http.StatusServiceUnavailable, "events_disabled", "the event feed is not running on this server")
	}
	w := c.Response()
	// A stream outlives the server's write timeout: lift it for this response only.
	_ = http.NewResponseController(w.Writer).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ch, unsubscribe := h.Events.subscribe()
	defer unsubscribe()
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	w.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	expired := time.NewTimer(tokenExpiry(c).Sub(h.Now()))
	defer expired.Stop()
	ctx := c.Request().Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-expired.C:
			fmt.Fprint(w, "event: token_expired\ndata: {}\n\n")
			w.Flush()
			return nil
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case m := <-ch:
			switch m.event {
			case "":
				fmt.Fprint(w, "event: resync\ndata: {}\n\n")
			case "change":
				var head struct {
					ID int64 `json:"id"`
				}
				_ = json.Unmarshal(m.data, &head)
				fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", head.ID, m.data)
			default: // not in the audit trail: no id, so a reconnection does not resume from it
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.event, m.data)
			}
		}
		w.Flush()
	}
}
