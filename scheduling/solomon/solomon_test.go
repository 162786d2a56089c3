package solomon

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/scheduling"
)

// tiny: a depot open 0–100 and three customers on a line; customer 3's window closes at 12.
const tiny = `TINY

VEHICLE
NUMBER     CAPACITY
  2         10

CUSTOMER
CUST NO.   XCOORD.   YCOORD.    DEMAND   READY TIME   DUE DATE   SERVICE TIME

    0          0        0           0       0         100           0
    1          3        4           4       0         100           1
    2          6        8           4       0         100           1
    3          0        10          5      10          12           2
`

func TestParseAndProblem(t *testing.T) {
	in, err := Parse(strings.NewReader(tiny))
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "TINY" || in.Vehicles != 2 || in.Capacity != 10 || len(in.Nodes) != 4 || in.D(0, 1) != 5 {
		t.Fatalf("parsed %+v", in)
	}
	p := in.Problem()
	m := p.Travel.(scheduling.Matrix)
	// √(3² + 6²)·1000 = 6708.20… rounds up: an integer schedule is never earlier than the real one.
	if m[0][1] != 5000 || m[1][3] != 6709 || len(p.Technicians) != 2 || len(p.Jobs) != 3 {
		t.Fatalf("matrix %v, %d technicians, %d jobs", m, len(p.Technicians), len(p.Jobs))
	}
	j3 := p.Jobs[2]
	if j3.ID != 3 || j3.Loc != 3 || j3.Duration != 2000 || j3.Load != 5 || j3.Windows[0] != (scheduling.Window{Start: 10000, End: 12000}) {
		t.Fatalf("job 3 %+v", j3)
	}
	if sh := p.Technicians[0].Shifts[0]; sh.Start != 0 || sh.End != 100000 || p.Technicians[0].Capacity != 10 {
		t.Fatalf("technician %+v", p.Technicians[0])
	}
	if _, err := Parse(strings.NewReader("X\n1 2 3\n")); err == nil {
		t.Fatal("a file without vehicles and customers parsed")
	}
}

func TestDistanceRefusesWhatSolomonForbids(t *testing.T) {
	in, _ := Parse(strings.NewReader(tiny))
	for name, c := range map[string]struct {
		routes [][]int
		want   string // "" : feasible
	}{
		"feasible":          {[][]int{{1, 2}, {3}}, ""},
		"window missed":     {[][]int{{1, 2, 3}}, "window"}, // 3 reached at 5+1+5+1+~8.5 > 12
		"over capacity":     {[][]int{{3, 1, 2}}, "capacity"},
		"customer left out": {[][]int{{1, 2}}, "not served"},
		"twice":             {[][]int{{1, 2}, {3, 1}}, "twice"},
		"too many vans":     {[][]int{{1}, {2}, {3}}, "vehicles"},
	} {
		d, err := Distance(in, c.routes)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.want == "" && math.Abs(d-(20+20)) > 1e-9:
			t.Errorf("%s: distance %v, want 40", name, d)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}

// TestSolveC101 solves a real instance through scheduling.Optimize: every customer served, the
// plan passing scheduling.Check and Distance, within 5% of the best known (828.94).
func TestSolveC101(t *testing.T) {
	f, err := os.Open("../../../shared/benchmarks/vrptw/solomon/C101.txt")
	if err != nil {
		t.Skip("Solomon instances not beside the repository")
	}
	in, err := Parse(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	plan, _, d, err := Solve(context.Background(), in, scheduling.Budget{Time: 500 * time.Millisecond, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Unassigned()) != 0 || d < 828.93 || d > 828.94*1.05 {
		t.Fatalf("%d unassigned, distance %.2f", len(plan.Unassigned()), d)
	}
}
