package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/scheduling"
	"github.com/fieldfix/fieldfix/scheduling/solomon"
	"github.com/fieldfix/fieldfix/scheduling/vroom"
)

// runSolveFiles is `fieldfix solve --format solomon [--time-limit D] FILE...`: one CSV row per
// file (instance,vehicles,distance,compute_ms); each file gets a search per core (meeting as Optimize's do) by
// scheduling.Optimize, the product's planner, and its answer is re-checked in Solomon's units
// (solomon.Distance). --solver one, from when a second search existed, is still accepted.
// `fieldfix solve --format vroom [--time-limit D] FILE` reads one VROOM problem JSON and writes
// VROOM's solution JSON on stdout (see docs/vroom.md for what is honoured).
func runSolveFiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("solve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "solomon", "input format: solomon (files) or vroom (one problem JSON)")
	limit := fs.Duration("time-limit", time.Second, "search time per instance")
	seed := fs.Uint64("seed", 1, "random seed")
	solver := fs.String("solver", "one", "with --format solomon: one, the only search (scheduling.Optimize); accepted for older scripts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if *format == "vroom" {
		if len(files) != 1 {
			return errors.New("usage: fieldfix solve --format vroom [--time-limit D] FILE")
		}
		f, err := os.Open(files[0])
		if err != nil {
			return err
		}
		defer f.Close()
		p, err := vroom.Read(f)
		if err != nil {
			return err
		}
		s, err := vroom.Solve(ctx, p, vroom.Options{TimeLimit: *limit, Workers: runtime.GOMAXPROCS(0), Seed: *seed})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if *format != "solomon" {
		return fmt.Errorf("--format %q: solomon or vroom", *format)
	}
	if *solver != "one" {
		return fmt.Errorf("--solver %q: only one (scheduling.Optimize) remains; the Solomon-only search vrptw was removed", *solver)
	}
	if len(files) == 0 {
		return errors.New("usage: fieldfix solve --format solomon [--time-limit D] FILE...")
	}
	rows := make([]string, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, 1) // one file at a time: its searches use every core
	var wg sync.WaitGroup
	for i, name := range files {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f, err := os.Open(name)
			if err != nil {
				errs[i] = err
				return
			}
			in, err := solomon.Parse(f)
			f.Close()
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", name, err)
				return
			}
			start := time.Now()
			// The whole budget spent (Patience -1): a benchmark's time per instance.
			plan, _, d, err := solomon.Solve(ctx, in, scheduling.Budget{Time: *limit, Seed: *seed, Searches: runtime.GOMAXPROCS(0), Patience: -1})
			if err != nil {
				errs[i] = fmt.Errorf("%s: no feasible solution found: %w", name, err) // Solve re-checks by solomon.Distance
				return
			}
			rows[i] = fmt.Sprintf("%s,%d,%.2f,%d", in.Name, len(solomon.Routes(plan)), d, time.Since(start).Milliseconds())
		}()
	}
	wg.Wait()
	fmt.Fprintln(stdout, "instance,vehicles,distance,compute_ms")
	for i, r := range rows {
		if errs[i] != nil {
			return errs[i]
		}
		fmt.Fprintln(stdout, r)
	}
	return nil
}
