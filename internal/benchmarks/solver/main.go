// Command solver runs the VRPTW search on Solomon's 56 instances and prints the gap to the
// distance-only best-known solutions per class and overall, with the time per instance.
//
//	go run ./internal/benchmarks/solver [-dir ../shared/benchmarks/vrptw] [-time-limit 1s]
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

	"github.com/fieldfix/fieldfix/scheduling/vrptw"
)

func main() {
	dir := flag.String("dir", "../shared/benchmarks/vrptw", "folder with solomon/ and solomon_bks.csv")
	limit := flag.Duration("time-limit", time.Second, "search time per instance")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*dir, *limit, *seed); err != nil {
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

func run(dir string, limit time.Duration, seed uint64) error {
	f, err := os.Open(filepath.Join(dir, "solomon_bks.csv"))
	if err != nil {
		return err
	}
	bks, err := vrptw.ReadBKS(f)
	f.Close()
	if err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "solomon", "*.txt"))
	slices.Sort(files)
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
			in, err := vrptw.Parse(fh)
			fh.Close()
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			start := time.Now()
			s := vrptw.Solve(context.Background(), in, vrptw.Options{TimeLimit: limit, Seed: seed, Workers: workers})
			took := time.Since(start)
			d, err := vrptw.Check(in, s)
			if err != nil {
				mu.Lock()
				firstErr = fmt.Errorf("%s: %w", in.Name, err)
				mu.Unlock()
				return
			}
			results[i] = result{name: in.Name, vehicles: len(s.Routes), dist: d, bks: bks[in.Name], took: took}
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
	fmt.Printf("Solomon VRPTW, %d instances, %s per instance, seed %d, one instance at a time with %d independent searches (one per core), %s\n\n", len(results), limit, seed, workers, time.Now().UTC().Format("2006-01-02"))
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
