// Command solver solves Solomon's 56 instances by scheduling.Optimize, the product's planner
// (through package solomon), and prints the gap to the distance-only best-known solutions per
// class and overall, with the time and iterations per instance. Every answer is re-checked by
// scheduling.Check and in Solomon's real units (solomon.Distance). Timed runs depend on what
// else the host runs; -iterations N bounds each search by iterations instead, so that a run
// depends only on the build and the seed: the way to compare two builds on a shared machine.
//
//	go run ./internal/benchmarks/solver [-dir ../shared/benchmarks/vrptw] [-time-limit 1s] [-seed 1] [-only C101,R101]
//	    [-iterations 5000 -searches 1]
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/scheduling"
	"github.com/fieldfix/fieldfix/scheduling/solomon"
)

func main() {
	dir := flag.String("dir", "../shared/benchmarks/vrptw", "folder with solomon/ and solomon_bks.csv")
	limit := flag.Duration("time-limit", time.Second, "search time per instance")
	seed := flag.Uint64("seed", 1, "random seed")
	only := flag.String("only", "", "comma-separated instance names to solve (empty: all)")
	iterations := flag.Int("iterations", 0, "iterations a search instead of -time-limit (0: the time limit)")
	searches := flag.Int("searches", 0, "searches an instance, meeting at eight points of the budget (0: one per core)")
	flag.Parse()
	// The whole budget spent (no stop on convergence): with a time limit, that is the time per instance.
	b := scheduling.Budget{Time: *limit, Seed: *seed, Searches: cmp.Or(*searches, runtime.GOMAXPROCS(0)), Patience: -1}
	if *iterations > 0 {
		b.Time, b.Iterations = 0, *iterations
	}
	if err := run(*dir, b, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench-solver:", err)
		os.Exit(1)
	}
}

type result struct {
	name       string
	vehicles   int
	dist       float64
	bks        float64
	took       time.Duration
	iterations int // all searches
}

func run(dir string, b scheduling.Budget, only string) error {
	f, err := os.Open(filepath.Join(dir, "solomon_bks.csv"))
	if err != nil {
		return err
	}
	bks, err := solomon.ReadBKS(f)
	f.Close()
	if err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "solomon", "*.txt"))
	slices.Sort(files)
	if only != "" {
		names := strings.Split(only, ",")
		files = slices.DeleteFunc(files, func(f string) bool { return !slices.Contains(names, strings.TrimSuffix(filepath.Base(f), ".txt")) })
	}
	if len(files) == 0 {
		return fmt.Errorf("no instances under %s/solomon", dir)
	}
	var results []result
	// One instance at a time.
	for _, path := range files {
		fh, err := os.Open(path)
		if err != nil {
			return err
		}
		in, err := solomon.Parse(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		start := time.Now()
		plan, st, d, err := solomon.Solve(context.Background(), in, b)
		if err != nil {
			return err
		}
		results = append(results, result{name: in.Name, vehicles: len(solomon.Routes(plan)), dist: d, bks: bks[in.Name], took: time.Since(start), iterations: st.Iterations})
	}
	report(results, b)
	return nil
}

func report(results []result, b scheduling.Budget) {
	classOf := func(name string) string {
		return strings.TrimRight(name, "0123456789") + name[len(strings.TrimRight(name, "0123456789")):][:1]
	}
	type agg struct {
		n      int
		gapSum float64
		match  int
	}
	classes := map[string]*agg{}
	var all agg
	var times []time.Duration
	for _, r := range results {
		gap := (r.dist/r.bks - 1) * 100
		c := classOf(r.name)
		if classes[c] == nil {
			classes[c] = &agg{}
		}
		for _, a := range []*agg{classes[c], &all} {
			a.n++
			a.gapSum += gap
			if r.dist <= r.bks+0.005 {
				a.match++
			}
		}
		times = append(times, r.took)
	}
	slices.Sort(times)
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	budget := fmt.Sprintf("%s per instance", b.Time)
	if b.Iterations > 0 {
		budget = fmt.Sprintf("%d iterations a search", b.Iterations)
	}
	fmt.Printf("Solomon VRPTW by scheduling.Optimize, %d instances, %s, seed %d, one instance at a time with %d searches that meet at eight points (GOMAXPROCS %d), %s\n\n",
		len(results), budget, b.Seed, b.Searches, runtime.GOMAXPROCS(0), time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| class | instances | average gap to best known (distance) | at best known |")
	fmt.Println("|---|---:|---:|---:|")
	for _, c := range []string{"C1", "C2", "R1", "R2", "RC1", "RC2"} {
		if a := classes[c]; a != nil {
			fmt.Printf("| %s | %d | %+.2f%% | %d |\n", c, a.n, a.gapSum/float64(a.n), a.match)
		}
	}
	fmt.Printf("| **all** | %d | **%+.2f%%** | %d |\n\n", all.n, all.gapSum/float64(all.n), all.match)
	fmt.Printf("Time per instance: median %s, mean %s.\n\nPer instance:\n\n| instance | vehicles | distance | best known | gap | iterations |\n|---|---:|---:|---:|---:|---:|\n",
		times[len(times)/2].Round(time.Millisecond), (sum / time.Duration(len(times))).Round(time.Millisecond))
	for _, r := range results {
		fmt.Printf("| %s | %d | %.2f | %.2f | %+.2f%% | %d |\n", r.name, r.vehicles, r.dist, r.bks, (r.dist/r.bks-1)*100, r.iterations)
	}
	fmt.Println()
}
