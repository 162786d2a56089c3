// Command cityday solves the three public city days of ../shared/benchmarks/cityday through
// `fieldfix solve --format vroom`'s code path (scheduling/vroom) and prints them against VROOM
// 1.14 (vroom114.csv, recorded on this machine class) in VROOM's order of merit: priority served,
// jobs served, travel; plus waiting and the time the search used. Each day is generated in Go
// exactly as cityday.py does (its test compares the two), each answer is re-checked from the
// problem alone, and each configuration runs -runs times, rounds alternating, medians reported.
// Every limit VROOM was measured at (up to -max-limit) is run, and a quarter of it against the
// same VROOM figure.
//
//	go run ./internal/benchmarks/cityday [-dir ../shared/benchmarks/cityday] [-runs 2] [-max-limit 20s]
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fieldfix/fieldfix/scheduling/vroom"
)

// days are the public days: cityday.py SEED JOBS TECHS.
var days = []struct {
	name              string
	seed, jobs, techs int
}{{"city_p11_150x20", 11, 150, 20}, {"city_p12_500x60", 12, 500, 60}, {"city_p13_1200x140", 13, 1200, 140}}

// ref is VROOM's line of vroom114.csv.
type ref struct {
	unserved, paid, prio int
	travel               int64
	wall                 float64
}

func main() {
	dir := flag.String("dir", "", "the cityday folder with vroom114.csv (default: shared/benchmarks/cityday above the working directory)")
	runs := flag.Int("runs", 2, "runs of each configuration, rounds alternating")
	maxLimit := flag.Duration("max-limit", 20*time.Second, "the longest VROOM limit to run")
	only := flag.String("days", "", "comma-separated day names (default: all three)")
	quarter := flag.Bool("quarter", true, "also run a quarter of each limit")
	workers := flag.Int("workers", 2, "parallel searches (VROOM ran -t 2)")
	iterations := flag.Int("iterations", 0, "instead of the table: solve each day with this many iterations a search (no time limit) and print quality, iterations and CPU time, which a busy machine does not change")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	parts := flag.Bool("parts", false, "instead of the table: the parts variant (some jobs need parts, vans hold random stock, two warehouses), parts-aware planning against a planner that ignores parts")
	partsLimit := flag.Duration("parts-limit", 5*time.Second, "with -parts: each solve's time limit")
	share := flag.Float64("parts-share", 0.3, "with -parts: the share of jobs that need a part")
	skus := flag.Int("parts-skus", 12, "with -parts: how many different parts")
	perVan := flag.Int("parts-per-van", 3, "with -parts: how many different parts each van holds (one of each)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-cityday:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *parts {
		if err := runParts(*only, *partsLimit, *runs, *share, *skus, *perVan); err != nil {
			fmt.Fprintln(os.Stderr, "bench-cityday:", err)
			os.Exit(1)
		}
		return
	}
	if *iterations > 0 {
		if err := iterate(*only, *runs, *iterations, *workers); err != nil {
			fmt.Fprintln(os.Stderr, "bench-cityday:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*dir, *runs, *maxLimit, *only, *quarter, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "bench-cityday:", err)
		os.Exit(1)
	}
}

// config is one day at one limit, compared with VROOM at vroomLimit.
type config struct {
	day        int
	limit      time.Duration
	vroomLimit int
	doc        []byte
	results    []result
}

type result struct {
	f    figures
	used time.Duration
}

func run(dir string, runs int, maxLimit time.Duration, only string, quarter bool, workers int) error {
	if dir == "" {
		var err error
		if dir, err = findDir(); err != nil {
			return err
		}
	}
	refs, err := readRefs(filepath.Join(dir, "vroom114.csv"))
	if err != nil {
		return err
	}
	var cfgs []*config
	for di, d := range days {
		if only != "" && !slices.Contains(strings.Split(only, ","), d.name) {
			continue
		}
		doc, err := json.Marshal(cityDay(uint32(d.seed), d.jobs, d.techs))
		if err != nil {
			return err
		}
		var limits []int
		for k := range refs {
			if k.day == d.name && time.Duration(k.limit)*time.Second <= maxLimit {
				limits = append(limits, k.limit)
			}
		}
		slices.Sort(limits)
		for _, l := range limits {
			cfgs = append(cfgs, &config{day: di, limit: time.Duration(l) * time.Second, vroomLimit: l, doc: doc})
			if quarter {
				cfgs = append(cfgs, &config{day: di, limit: time.Duration(l) * time.Second / 4, vroomLimit: l, doc: doc})
			}
		}
	}
	for r := range runs {
		for _, c := range cfgs {
			p, err := vroom.Read(bytes.NewReader(c.doc))
			if err != nil {
				return err
			}
			began := time.Now()
			s, err := vroom.Solve(context.Background(), p, vroom.Options{TimeLimit: c.limit, Workers: workers, Seed: uint64(r + 1)})
			used := time.Since(began)
			if err != nil {
				return fmt.Errorf("%s at %s: %w", days[c.day].name, c.limit, err)
			}
			f, err := check(p, s)
			if err != nil {
				return fmt.Errorf("%s at %s: the answer fails the independent check: %w", days[c.day].name, c.limit, err)
			}
			c.results = append(c.results, result{f, used})
			fmt.Fprintf(os.Stderr, "run %d %s %s: unserved %d (paid %d), travel %d, waiting %d, %.2fs, %d iterations\n", r+1, days[c.day].name, c.limit,
				f.unserved, f.paidUnserved, f.travel, f.waiting, used.Seconds(), s.Search.Iterations)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("# City days against VROOM 1.14\n\nMeasured %s, GOMAXPROCS %d, %d searches, medians of %d alternating runs; load average at the end: %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), runtime.GOMAXPROCS(0), workers, runs, strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Println("| day | limit | priority unserved FF / VROOM | unserved (paid) FF / VROOM | travel FF / VROOM | travel per served job FF / VROOM (ratio) | waiting FF | time used FF / VROOM | goals |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, c := range cfgs {
		d := days[c.day]
		v := refs[refKey{d.name, c.vroomLimit}]
		med := func(g func(result) float64) float64 {
			xs := make([]float64, len(c.results))
			for i, r := range c.results {
				xs[i] = g(r)
			}
			slices.Sort(xs)
			n := len(xs)
			return (xs[(n-1)/2] + xs[n/2]) / 2
		}
		prio := med(func(r result) float64 { return float64(r.f.prioUnserved) })
		un := med(func(r result) float64 { return float64(r.f.unserved) })
		paid := med(func(r result) float64 { return float64(r.f.paidUnserved) })
		travel := med(func(r result) float64 { return float64(r.f.travel) })
		perJob := med(func(r result) float64 { return float64(r.f.travel) / float64(d.jobs-r.f.unserved) })
		waiting := med(func(r result) float64 { return float64(r.f.waiting) })
		used := med(func(r result) float64 { return r.used.Seconds() })
		vPerJob := float64(v.travel) / float64(d.jobs-v.unserved)
		limit := fmt.Sprintf("%d s", c.vroomLimit)
		if c.limit != time.Duration(c.vroomLimit)*time.Second {
			limit = fmt.Sprintf("¼: %s vs VROOM %d s", c.limit, c.vroomLimit)
		}
		var miss []string
		if prio > float64(v.prio) {
			miss = append(miss, "priority")
		}
		if v.paid == 0 && paid > 0 {
			miss = append(miss, "paid")
		}
		if un > float64(v.unserved) {
			miss = append(miss, "served")
		}
		if perJob > vPerJob {
			miss = append(miss, "travel/job")
		}
		goals := "all met"
		if len(miss) > 0 {
			goals = "missed: " + strings.Join(miss, ", ")
		}
		fmt.Printf("| %s | %s | %s / %d | %s (%s) / %d (%d) | %s / %d | %.0f / %.0f (%.3f) | %s | %.2f s / %.2f s | %s |\n", d.name, limit,
			num(prio), v.prio, num(un), num(paid), v.unserved, v.paid, num(travel), v.travel, perJob, vPerJob, perJob/vPerJob, num(waiting),
			used, v.wall, goals)
	}
	return nil
}

// num prints a median: an integer, or one decimal when two runs split.
func num(x float64) string {
	if x == float64(int64(x)) {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

type refKey struct {
	day   string
	limit int
}

func readRefs(path string) (map[refKey]ref, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := map[refKey]ref{}
	for _, row := range rows[1:] {
		// instance,vroom_limit_s,unassigned,paid_unassigned,unassigned_priority,travel_s,wall_s
		var n [6]int64
		for i := range 5 {
			if n[i], err = strconv.ParseInt(row[i+1], 10, 64); err != nil {
				return nil, fmt.Errorf("%s: %v", path, err)
			}
		}
		wall, err := strconv.ParseFloat(row[6], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out[refKey{row[0], int(n[0])}] = ref{unserved: int(n[1]), paid: int(n[2]), prio: int(n[3]), travel: n[4], wall: wall}
	}
	return out, nil
}

// findDir is the shared cityday folder: shared/benchmarks/cityday above the working directory
// (beside the repository or a worktree of it).
func findDir() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		c := filepath.Join(d, "shared", "benchmarks", "cityday")
		if _, err := os.Stat(filepath.Join(c, "vroom114.csv")); err == nil {
			return c, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", errors.New("no shared/benchmarks/cityday above the working directory (give -dir)")
		}
		d = up
	}
}

// iterate solves each day with an iteration budget: the answers depend only on the seed, and the
// CPU time (not the wall clock) says what they cost, so variants of the search can be compared
// on a shared machine.
func iterate(only string, runs, iterations, workers int) error {
	for _, d := range days {
		if only != "" && !slices.Contains(strings.Split(only, ","), d.name) {
			continue
		}
		doc, err := json.Marshal(cityDay(uint32(d.seed), d.jobs, d.techs))
		if err != nil {
			return err
		}
		for r := range runs {
			p, err := vroom.Read(bytes.NewReader(doc))
			if err != nil {
				return err
			}
			cpu0, began := cpuTime(), time.Now()
			s, err := vroom.Solve(context.Background(), p, vroom.Options{Iterations: iterations, Workers: workers, Seed: uint64(r + 1)})
			cpu, wall := cpuTime()-cpu0, time.Since(began)
			if err != nil {
				return err
			}
			f, err := check(p, s)
			if err != nil {
				return fmt.Errorf("%s: the answer fails the independent check: %w", d.name, err)
			}
			it, conv := 0, false
			if s.Search != nil {
				it, conv = s.Search.Iterations, s.Search.Converged
			}
			if os.Getenv("CITYDAY_ROUTES") != "" {
				hist := map[int]int{}
				var slack []int64
				for _, rt := range s.Routes {
					n := 0
					for _, st := range rt.Steps {
						if st.Type == "job" {
							n++
						}
					}
					hist[n]++
					slack = append(slack, 9*3600-rt.Duration-rt.Service-rt.WaitingTime)
				}
				slices.Sort(slack)
				svc := map[int64]int64{}
				for _, j := range p.Jobs {
					svc[j.ID] = j.Service
				}
				var us []int64
				for _, u := range s.Unassigned {
					us = append(us, svc[u.ID]/60)
				}
				slices.Sort(us)
				fmt.Printf("unserved jobs' service minutes %v\n", us)
				fmt.Printf("routes %d, visits per route %v, idle seconds per route (sorted) %v\n", len(s.Routes), hist, slack)
			}
			fmt.Printf("%s seed %d: unserved %d (paid %d), travel %d, per served job %.1f, waiting %d; %d iterations (converged %v), CPU %.2f s, wall %.2f s\n",
				d.name, r+1, f.unserved, f.paidUnserved, f.travel, float64(f.travel)/float64(d.jobs-f.unserved), f.waiting, it, conv, cpu.Seconds(), wall.Seconds())
		}
	}
	return nil
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
