package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
)

// Config says which FCM to talk to and as whom.
type Config struct {
	ProjectID string // FIREBASE_PROJECT_ID; required
	// CredentialsFile is a service-account (or authorized-user) JSON file,
	// GOOGLE_APPLICATION_CREDENTIALS. Empty: no authentication when Endpoint is set, else
	// Application Default Credentials.
	CredentialsFile string
	// Endpoint is another FCM-compatible base URL (FIELDFIX_FCM_ENDPOINT): staging, or
	// fcmtest. "http://host:port" and "http://host:port/v1" both work. Empty: real FCM.
	Endpoint string
	// Now is the clock for TTLs and Retry-After dates; nil means time.Now.
	Now func() time.Time
	// DialTimeout bounds opening a connection to FCM (DefaultDialTimeout), well under a send's
	// own deadline: an endpoint that drops connection attempts fails a send in this time, one
	// that refuses them at once.
	DialTimeout time.Duration
}

// DefaultDialTimeout is Config.DialTimeout's default.
const DefaultDialTimeout = 3 * time.Second

// scopes are those the Admin SDK asks for sending messages.
var scopes = []string{"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/firebase.messaging"}

// Client sends pushes through the Firebase Admin SDK's messaging client. It is safe for
// concurrent use.
type Client struct {
	msg *messaging.Client
	now func() time.Time
}

// maxSendEach is the SDK's limit on messages per SendEach call.
const maxSendEach = 500

// NewClient builds the Firebase app and its messaging client from cfg.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("fcm: project id is required")
	}
	var auth []option.ClientOption
	switch {
	case cfg.CredentialsFile != "":
		credType, err := credentialsType(cfg.CredentialsFile)
		if err != nil {
			return nil, err
		}
		auth = append(auth, option.WithAuthCredentialsFile(credType, cfg.CredentialsFile), option.WithScopes(scopes...))
	case cfg.Endpoint != "":
		auth = append(auth, option.WithoutAuthentication())
	default:
		auth = append(auth, option.WithScopes(scopes...))
	}
	// Our own transport under the SDK's authentication: a dial timeout of our choosing, and a
	// send that could not reach FCM at all ends at once instead of going through the SDK's
	// retries (abortUnreachable).
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   100, // the worker sends many at once to one host
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	rt, err := htransport.NewTransport(ctx, abortUnreachable{base: base}, auth...)
	if err != nil {
		return nil, fmt.Errorf("fcm: transport: %w", err)
	}
	opts := []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: rt})}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(EndpointURL(cfg.Endpoint)))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: firebase app: %w", err)
	}
	mc, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: messaging client: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Client{msg: mc, now: now}, nil
}

// EndpointURL is the base the SDK expects: the URL with "/v1" appended unless it ends so.
func EndpointURL(endpoint string) string {
	endpoint = strings.TrimRight(endpoint, "/")
	if strings.HasSuffix(endpoint, "/v1") {
		return endpoint
	}
	return endpoint + "/v1"
}

// credentialsType reads the file's "type" so only the expected kinds of credentials are accepted.
func credentialsType(path string) (option.CredentialsType, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("fcm: credentials: %w", err)
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return "", fmt.Errorf("fcm: credentials %s: %w", path, err)
	}
	switch option.CredentialsType(f.Type) {
	case option.ServiceAccount:
		return option.ServiceAccount, nil
	case option.AuthorizedUser:
		return option.AuthorizedUser, nil
	}
	return "", fmt.Errorf("fcm: credentials %s: type %q, want service_account or authorized_user", path, f.Type)
}

// Send pushes p to every token and returns one result per token, in the order given. One
// token goes through the SDK's Send, several through SendEach (concurrent messages:send
// calls). Send never retries beyond what the SDK does inside one call (up to 4 retries of a 503
// or of a connection that broke, a few seconds, or Retry-After when it is at most 2 minutes); a
// connection that could not be opened at all ends the call at once, every token Unreachable.
// Retryable results are for the caller's queue, with Backoff.
func (c *Client) Send(ctx context.Context, tokens []string, p Push) []DeviceResult {
	if len(tokens) == 0 {
		return nil
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	ctx = context.WithValue(ctx, abortKey{}, abort)
	now := c.now()
	results := make([]DeviceResult, len(tokens))
	msg, err := Build(p, now)
	if err != nil {
		for i, t := range tokens {
			results[i] = DeviceResult{Token: t, Outcome: Failed, Code: CodeNotSent, Err: err}
		}
		return results
	}

	if len(tokens) == 1 {
		m := *msg
		m.Token = tokens[0]
		name, err := c.msg.Send(ctx, &m)
		results[0] = Classify(tokens[0], name, unreachableCause(ctx, err), c.now())
		return results
	}

	for start := 0; start < len(tokens); start += maxSendEach {
		chunk := tokens[start:min(start+maxSendEach, len(tokens))]
		msgs := make([]*messaging.Message, len(chunk))
		for i, t := range chunk {
			m := *msg // shares the maps and configs, which the SDK only reads
			m.Token = t
			msgs[i] = &m
		}
		br, err := c.msg.SendEach(ctx, msgs)
		for i, t := range chunk {
			switch {
			case err != nil:
				results[start+i] = Classify(t, "", unreachableCause(ctx, err), c.now())
			default:
				sr := br.Responses[i]
				results[start+i] = Classify(t, sr.MessageID, unreachableCause(ctx, sr.Error), c.now())
			}
		}
	}
	return results
}

// UnreachableError is a send that never reached FCM: the connection could not be opened
// (refused, dial timeout, no route, no address).
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "fcm unreachable: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

type abortKey struct{}

// abortUnreachable ends the whole send (Send sets the cancel in the request's context) when a
// connection to FCM cannot be opened. The SDK retries a network error four times over 7 s
// within one call; for a dead endpoint that only holds the worker, while the outbox retries
// anyway, and a refused connection means nothing was sent, so a retry is always safe.
type abortUnreachable struct{ base http.RoundTripper }

func (t abortUnreachable) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	var op *net.OpError
	if err != nil && errors.As(err, &op) && op.Op == "dial" {
		if abort, ok := req.Context().Value(abortKey{}).(context.CancelCauseFunc); ok {
			abort(&UnreachableError{Err: err})
		}
	}
	return res, err
}

// unreachableCause is err, or the UnreachableError that aborted ctx when err is that abort: an
// error without an answer from FCM (a device FCM did answer for keeps its answer).
func unreachableCause(ctx context.Context, err error) error {
	var ue *UnreachableError
	if err != nil && errorutils.HTTPResponse(err) == nil && errors.As(context.Cause(ctx), &ue) {
		return ue
	}
	return err
}
