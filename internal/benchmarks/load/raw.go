package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawClient speaks just enough HTTP/1.1 to post a prepared request and read the status on kept-
// alive connections: the load generator shares the two cores with the server and PostgreSQL, and
// net/http's client spent about 0.13 ms of CPU per request, a tenth of what a booking costs.
type rawClient struct {
	addr    string // host:port
	idle    chan *rawConn
	timeout time.Duration
}

type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func newRawClient(addr string, timeout time.Duration) *rawClient {
	return &rawClient{addr: addr, idle: make(chan *rawConn, 4096), timeout: timeout}
}

func (rc *rawClient) get() (*rawConn, bool, error) {
	select {
	case c := <-rc.idle:
		return c, true, nil
	default:
	}
	c, err := net.Dial("tcp", rc.addr)
	if err != nil {
		return nil, false, err
	}
	return &rawConn{c: c, r: bufio.NewReaderSize(c, 8192)}, false, nil
}

// do sends req (a whole HTTP/1.1 request) and returns the response's status, its body discarded.
// A kept-alive connection the server closed meanwhile is retried once on a new one.
func (rc *rawClient) do(req []byte) (int, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := rc.get()
		if err != nil {
			return 0, err
		}
		_ = c.c.SetDeadline(time.Now().Add(rc.timeout))
		status, keep, err := c.roundTrip(req)
		if err != nil {
			c.c.Close()
			if reused && attempt == 0 {
				continue
			}
			return 0, err
		}
		if keep {
			select {
			case rc.idle <- c:
			default:
				c.c.Close()
			}
		} else {
			c.c.Close()
		}
		return status, nil
	}
}

func (rc *rawClient) close() {
	for {
		select {
		case c := <-rc.idle:
			c.c.Close()
		default:
			return
		}
	}
}

var errMalformed = errors.New("malformed HTTP response")

func (c *rawConn) roundTrip(req []byte) (status int, keep bool, err error) {
	if _, err := c.c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	length, chunked, keep := -1, false, true
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("%w: header %q", errMalformed, h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			line, err := c.r.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			size, err := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("%w: chunk size %q", errMalformed, line)
			}
			if _, err := c.r.Discard(int(size) + 2); err != nil { // the chunk and its CRLF
				return 0, false, err
			}
			if size == 0 {
				return status, keep, nil
			}
		}
	case length >= 0:
		_, err = c.r.Discard(length)
		return status, keep, err
	default: // the body runs to the end of the connection
		_, err = io.Copy(io.Discard, c.r)
		return status, false, err
	}
}
