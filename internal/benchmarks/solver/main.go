// Command solver solves Solomon's 56 instances and prints the gap to the distance-only
// best-known solutions per class and overall, with the time per instance. -solver one is
// scheduling.Optimize, the product's planner (through package solomon); -solver vrptw is the
// separate Solomon-only search; -solver both runs the two on each instance in turn, so that both
// meet the same machine load, and prints a table for each. Every answer is re-checked in
// Solomon's real units (solomon.Distance); the one planner's also by scheduling.Check.
//
//	go run ./internal/benchmarks/solver [-dir ../shared/benchmarks/vrptw] [-time-limit 1s] [-solver one|vrptw|both]
package main

import (
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
	"github.com/fieldfix/fieldfix/scheduling/vrptw"
)

func main() {
	dir := flag.String("dir", "../shared/benchmarks/vrptw", "folder with solomon/ and solomon_bks.csv")
	limit := flag.Duration("time-limit", time.Second, "search time per instance")
	seed := flag.Uint64("seed", 1, "random seed")
	solver := flag.String("solver", "vrptw", "one (scheduling.Optimize), vrptw (the Solomon-only search) or both, in turn on each instance")
	only := flag.String("only", "", "comma-separated instance names to solve (empty: all)")
	flag.Parse()
	var solvers []string
	switch *solver {
	case "one", "vrptw":
		solvers = []string{*solver}
	case "both":
		solvers = []string{"vrptw", "one"}
	default:
		fmt.Fprintln(os.Stderr, "bench-solver: -solver one, vrptw or both")
		os.Exit(2)
	}
	if err := run(*dir, *limit, *seed, solvers, *only); err != nil {
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
	iterations int // the one planner's, all searches
}

func run(dir string, limit time.Duration, seed uint64, solvers []string, only string) error {
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
	workers := runtime.GOMAXPROCS(0)
	results := map[string][]result{}
	// One instance at a time, a search per core; with both solvers, each instance by both in turn.
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
		for _, solver := range solvers {
			start := time.Now()
			var routes [][]int
			iterations := 0
			if solver == "one" {
				// The whole budget spent (no stop on convergence), as the vrptw search does.
				plan, st, _, err := solomon.Solve(context.Background(), in, scheduling.Budget{Time: limit, Seed: seed, Searches: workers, Patience: -1})
				if err != nil {
					return err
				}
				routes, iterations = solomon.Routes(plan), st.Iterations
			} else {
				routes = solveVRPTW(in, limit, seed, workers)
			}
			took := time.Since(start)
			d, err := solomon.Distance(in, routes)
			if err != nil {
				return fmt.Errorf("%s by %s: %w", in.Name, solver, err)
			}
			results[solver] = append(results[solver], result{name: in.Name, vehicles: len(routes), dist: d, bks: bks[in.Name], took: took, iterations: iterations})
		}
	}
	for _, solver := range solvers {
		report(results[solver], solver, limit, seed, workers)
	}
	if len(solvers) == 2 {
		fmt.Printf("Both, per instance (gap to best known):\n\n| instance | vrptw | one | one's iterations |\n|---|---:|---:|---:|\n")
		for i, v := range results["vrptw"] {
			o := results["one"][i]
			fmt.Printf("| %s | %+.2f%% | %+.2f%% | %d |\n", v.name, (v.dist/v.bks-1)*100, (o.dist/o.bks-1)*100, o.iterations)
		}
	}
	return nil
}

// solveVRPTW is the Solomon-only search on the same instance.
func solveVRPTW(in *solomon.Instance, limit time.Duration, seed uint64, workers int) [][]int {
	return vrptw.Solve(context.Background(), vrptw.FromSolomon(in), vrptw.Options{TimeLimit: limit, Seed: seed, Workers: workers}).Routes
}

func report(results []result, solver string, limit time.Duration, seed uint64, workers int) {
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
	name := map[string]string{"one": "scheduling.Optimize (-solver one)", "vrptw": "scheduling/vrptw (-solver vrptw)"}[solver]
	fmt.Printf("Solomon VRPTW by %s, %d instances, %s per instance, seed %d, one instance at a time with %d independent searches (one per core), %s\n\n", name, len(results), limit, seed, workers, time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| class | instances | average gap to best known (distance) | at best known |")
	fmt.Println("|---|---:|---:|---:|")
	for _, c := range []string{"C1", "C2", "R1", "R2", "RC1", "RC2"} {
		if a := classes[c]; a != nil {
			fmt.Printf("| %s | %d | %+.2f%% | %d |\n", c, a.n, a.gapSum/float64(a.n), a.match)
		}
	}
	fmt.Printf("| **all** | %d | **%+.2f%%** | %d |\n\n", all.n, all.gapSum/float64(all.n), all.match)
	fmt.Printf("Time per instance: median %s, mean %s.\n\nPer instance:\n\n| instance | vehicles | distance | best known | gap |\n|---|---:|---:|---:|---:|\n",
		times[len(times)/2].Round(time.Millisecond), (sum / time.Duration(len(times))).Round(time.Millisecond))
	for _, r := range results {
		fmt.Printf("| %s | %d | %.2f | %.2f | %+.2f%% |\n", r.name, r.vehicles, r.dist, r.bks, (r.dist/r.bks-1)*100)
	}
	fmt.Println()
}
