// Command solver solves Solomon's 56 instances and prints the gap to the distance-only
// best-known solutions per class and overall, with the time per instance. -solver one is
// scheduling.Optimize, the product's planner (through package solomon); -solver vrptw is the
// separate Solomon-only search. Every answer is re-checked in Solomon's real units.
//
//	go run ./internal/benchmarks/solver [-dir ../shared/benchmarks/vrptw] [-time-limit 1s] [-solver one|vrptw]
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fieldfix/fieldfix/scheduling"
	"github.com/fieldfix/fieldfix/scheduling/solomon"
	"github.com/fieldfix/fieldfix/scheduling/vrptw"
)

// solveVRPTW is the Solomon-only search on the same instance, for comparison.
func solveVRPTW(in *solomon.Instance, limit time.Duration, seed uint64, workers int) [][]int {
	nodes := make([]vrptw.Node, len(in.Nodes))
	d := make([][]float64, len(in.Nodes))
	for i, nd := range in.Nodes {
		nodes[i] = vrptw.Node{X: nd.X, Y: nd.Y, Demand: nd.Demand, Ready: nd.Ready, Due: nd.Due, Service: nd.Service}
		d[i] = make([]float64, len(in.Nodes))
		for j := range in.Nodes {
			d[i][j] = in.D(i, j)
		}
	}
	vin, err := vrptw.NewInstance(in.Name, in.Vehicles, in.Capacity, nodes, d)
	if err != nil {
		panic(err) // a parsed Solomon instance always makes one
	}
	return vrptw.Solve(context.Background(), vin, vrptw.Options{TimeLimit: limit, Seed: seed, Workers: workers}).Routes
}

func main() {
	dir := flag.String("dir", "../shared/benchmarks/vrptw", "folder with solomon/ and solomon_bks.csv")
	limit := flag.Duration("time-limit", time.Second, "search time per instance")
	seed := flag.Uint64("seed", 1, "random seed")
	solver := flag.String("solver", "vrptw", "one (scheduling.Optimize) or vrptw (the Solomon-only search)")
	only := flag.String("only", "", "comma-separated instance names to solve (empty: all)")
	flag.Parse()
	if *solver != "one" && *solver != "vrptw" {
		fmt.Fprintln(os.Stderr, "bench-solver: -solver one or vrptw")
		os.Exit(2)
	}
	if err := run(*dir, *limit, *seed, *solver, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench-solver:", err)
		os.Exit(1)
	}
}

type result struct {
	name     string
	vehicles int
	dist     float64
	bks      float64
	took     time.Duration
}

func run(dir string, limit time.Duration, seed uint64, solver, only string) error {
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
	results := make([]result, len(files))
	workers := runtime.GOMAXPROCS(0)
	sem := make(chan struct{}, 1) // one instance at a time, a search per core
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for i, path := range files {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fh, err := os.Open(path)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			in, err := solomon.Parse(fh)
			fh.Close()
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			start := time.Now()
			var routes [][]int
			if solver == "one" {
				// The whole budget spent (no stop on convergence), as the vrptw search does.
				plan, _, _, err := solomon.Solve(context.Background(), in, scheduling.Budget{Time: limit, Seed: seed, Searches: workers, Patience: -1})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				routes = solomon.Routes(plan)
			} else {
				routes = solveVRPTW(in, limit, seed, workers)
			}
			took := time.Since(start)
			d, err := solomon.Distance(in, routes)
			if err != nil {
				mu.Lock()
				firstErr = fmt.Errorf("%s: %w", in.Name, err)
				mu.Unlock()
				return
			}
			results[i] = result{name: in.Name, vehicles: len(routes), dist: d, bks: bks[in.Name], took: took}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
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
	fmt.Printf("Solomon VRPTW, solver %s, %d instances, %s per instance, seed %d, one instance at a time with %d independent searches (one per core), %s\n\n", solver, len(results), limit, seed, workers, time.Now().UTC().Format("2006-01-02"))
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
	_ = math.Abs
	return nil
}
