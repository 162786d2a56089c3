package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// version is the build's version, set by the static build (make static, the Dockerfile):
// -ldflags "-X main.version=...".
var version = "dev"

// runHealthcheck asks a running server's /readyz and fails unless it answers 200: the
// container's HEALTHCHECK, since the image has no shell nor curl.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := envOr(getenv, "FIELDFIX_ADDR", ":8080")
	url := fs.String("url", "", "the URL to ask (default: /readyz on this host at FIELDFIX_ADDR's port, "+addr+")")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer (/readyz gives the database 2 s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("FIELDFIX_ADDR %q: %w", addr, err)
		}
		if host == "" || net.ParseIP(host).IsUnspecified() { // listening on every address: ask loopback
			host = "127.0.0.1"
		}
		*url = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %s: %s", *url, res.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "fieldfix: %s ready\n", *url)
	return nil
}

func runVersion(stdout io.Writer) error {
	fmt.Fprintf(stdout, "fieldfix %s (%s)\n", version, runtime.Version())
	return nil
}
