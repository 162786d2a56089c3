// Command fieldfix runs the FieldFix service and its tools: serve, migrate, seed, token, sim, solve,
// healthcheck, version.
// It is the only package that knows every other one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fieldfix:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: fieldfix <command> [flags]

commands:
  serve     run the HTTP server (migrates first)
  migrate   apply the database migrations
  seed      load the demo city when the database is empty; prints demo tokens
  token     print a JWT: fieldfix token --role R --sub ID
  sim       simulate a day in the demo city against a running server (also a load generator)
  solve     solve VRPTW files: fieldfix solve --format solomon|vroom [--time-limit D] FILE...
  healthcheck  exit 0 when the server on this host is ready (GET /readyz): the container's HEALTHCHECK
  version   print the build's version
`

// run is the whole program, with its environment passed in so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, rest, getenv, stdout, stderr)
	case "token":
		return runToken(ctx, rest, getenv, stdout, stderr)
	case "solve":
		return runSolveFiles(ctx, rest, stdout, stderr)
	case "sim":
		return runSim(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, rest, getenv, stdout, stderr)
	case "version":
		return runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
