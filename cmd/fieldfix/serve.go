package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, getenv, &c)
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "FIELDFIX_ADDR", ":8080"), "listen address (env FIELDFIX_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger(stderr)
	rules, err := c.rules()
	if err != nil {
		return err
	}
	if c.JWTSecret == devSecret {
		log.Warn("FIELDFIX_JWT_SECRET is unset: signing with the development secret")
	}
	pool, err := openDB(ctx, c, 32)
	if err != nil {
		return err
	}
	defer pool.Close()

	svc := dispatch.NewService(postgres.New(pool), rules, dispatch.SystemClock, log)
	e := api.NewServer(api.Deps{Service: svc, Log: log, JWTSecret: []byte(c.JWTSecret), Ready: pool.Ping})
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
	}
	fmt.Fprintf(stdout, "fieldfix: listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, getenv, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := openDB(ctx, c, 2)
	if err != nil {
		return err
	}
	pool.Close()
	fmt.Fprintln(stdout, "fieldfix: database migrated")
	return nil
}

func runToken(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, getenv, &c)
	role := fs.String("role", "", "customer, technician, dispatcher or admin")
	sub := fs.String("sub", "", "the subject (login identity)")
	ttl := fs.Duration("ttl", 30*24*time.Hour, "validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tok, err := api.IssueToken([]byte(c.JWTSecret), dispatch.Role(*role), *sub, time.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
