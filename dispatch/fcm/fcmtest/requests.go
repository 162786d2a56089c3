package fcmtest

import (
	"context"
	"fmt"
)

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
