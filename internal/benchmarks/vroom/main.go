// Command vroom hands Solomon's 56 instances to `fieldfix solve --format vroom`'s code path as
// VROOM JSON (distances and times ×100, rounded: VROOM's integer units) and prints the gap of
// each answer's travel to the distance-only best known solutions, per family and overall.
//
//	go run ./internal/benchmarks/vroom [-dir ../shared/benchmarks/vrptw] [-time-limit 1s]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/scheduling/solomon"
	"github.com/fieldfix/fieldfix/scheduling/vroom"
)

func main() {
	dir := flag.String("dir", "../shared/benchmarks/vrptw", "folder with solomon/ and solomon_bks.csv")
	limit := flag.Duration("time-limit", time.Second, "search time per instance")
	flag.Parse()
	if err := run(*dir, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "bench-vroom:", err)
		os.Exit(1)
	}
}

func run(dir string, limit time.Duration) error {
	f, err := os.Open(filepath.Join(dir, "solomon_bks.csv"))
	if err != nil {
		return err
	}
	bks, err := solomon.ReadBKS(f)
	f.Close()
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "solomon", "*.txt"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no instances under %s/solomon", dir)
	}
	slices.Sort(files)
	fmt.Printf("# Solomon through the VROOM path\n\nMeasured %s, GOMAXPROCS %d, %s per instance.\n\n", time.Now().UTC().Format("2006-01-02"), runtime.GOMAXPROCS(0), limit)
	fmt.Println("| family | instances | mean gap | served all |")
	fmt.Println("|---|---:|---:|---:|")
	type agg struct {
		n, all int
		gap    float64
	}
	fams := map[string]*agg{}
	var order []string
	total := &agg{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		best, ok := bks[name]
		if !ok {
			continue
		}
		r, err := os.Open(f)
		if err != nil {
			return err
		}
		in, err := solomon.Parse(r)
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		doc, err := json.Marshal(vroom.FromSolomon(in))
		if err != nil {
			return err
		}
		p, err := vroom.Read(bytes.NewReader(doc))
		if err != nil {
			return err
		}
		s, err := vroom.Solve(context.Background(), p, vroom.Options{TimeLimit: limit, Workers: runtime.GOMAXPROCS(0), Seed: 1})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fam := strings.TrimRight(strings.ToUpper(name), "0123456789")
		if fams[fam] == nil {
			fams[fam] = &agg{}
			order = append(order, fam)
		}
		for _, a := range []*agg{fams[fam], total} {
			a.n++
			a.gap += float64(s.Summary.Cost)/100/best - 1
			if s.Summary.Unassigned == 0 {
				a.all++
			}
		}
	}
	order = append(order, "all")
	fams["all"] = total
	for _, f := range order {
		a := fams[f]
		fmt.Printf("| %s | %d | %+.2f%% | %d |\n", f, a.n, 100*a.gap/float64(a.n), a.all)
	}
	return nil
}
