// Package solomon reads Solomon's VRPTW instances and hands them to scheduling, the one planner:
// travel time = Euclidean distance, service start inside [ready, due], load within the vehicles'
// capacity, back at the depot before it closes, at most the instance's vehicles; the objective is
// total distance. Instance.Problem is the instance in scheduling's integer seconds (distances ×
// Scale, rounded up so that an integer-feasible route is feasible in real numbers); Distance
// re-checks a plan in Solomon's real units, independently of scheduling's evaluator and Check.
package solomon

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fieldfix/fieldfix/scheduling"
)

// Scale is how many integer units of scheduling's clock make one unit of Solomon's distance and
// time: ×1000 keeps three decimals, finer than the best-known solutions' two.
const Scale = 1000

// Node is the depot (index 0) or a customer.
type Node struct {
	X, Y                float64
	Demand              int
	Ready, Due, Service float64
}

// Instance is a Solomon problem.
type Instance struct {
	Name     string
	Vehicles int
	Capacity int
	Nodes    []Node
}

// D is the distance (and travel time) between nodes i and j.
func (in *Instance) D(i, j int) float64 {
	return math.Hypot(in.Nodes[i].X-in.Nodes[j].X, in.Nodes[i].Y-in.Nodes[j].Y)
}

// Parse reads Solomon's text format.
func Parse(r io.Reader) (*Instance, error) {
	sc := bufio.NewScanner(r)
	in := &Instance{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if in.Name == "" {
			in.Name = f[0]
			continue
		}
		v := make([]float64, len(f))
		numeric := true
		for i, s := range f {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				numeric = false // a heading
				break
			}
			v[i] = x
		}
		switch {
		case !numeric:
		case len(v) == 2 && in.Vehicles == 0:
			in.Vehicles, in.Capacity = int(v[0]), int(v[1])
		case len(v) == 7:
			if int(v[0]) != len(in.Nodes) {
				return nil, fmt.Errorf("solomon: customer %v out of order (want %d)", v[0], len(in.Nodes))
			}
			in.Nodes = append(in.Nodes, Node{X: v[1], Y: v[2], Demand: int(v[3]), Ready: v[4], Due: v[5], Service: v[6]})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if in.Vehicles <= 0 || in.Capacity <= 0 || len(in.Nodes) < 2 {
		return nil, errors.New("solomon: not a Solomon instance (vehicles, capacity and customers expected)")
	}
	return in, nil
}

// ReadBKS reads the best-known solutions file (a CSV with instance and dist_distance columns,
// as solomon_bks.csv) into the distance-minimising best known per instance name.
func ReadBKS(r io.Reader) (map[string]float64, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("best known: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("best known: no rows")
	}
	name, col := slices.Index(rows[0], "instance"), slices.Index(rows[0], "dist_distance")
	if name < 0 || col < 0 {
		return nil, errors.New("best known: no instance or dist_distance column")
	}
	out := map[string]float64{}
	for _, row := range rows[1:] {
		v, err := strconv.ParseFloat(row[col], 64)
		if err != nil {
			return nil, fmt.Errorf("best known %v: %w", row, err)
		}
		out[row[name]] = v
	}
	return out, nil
}

// units is a Solomon figure in scheduling's clock: ×Scale, rounded up (Solomon's windows and
// service times are integers, so only travel is ever rounded).
func units(x float64) int64 { return int64(math.Ceil(x*Scale - 1e-9)) }

// Problem is the instance for scheduling: one technician per vehicle (IDs 1…Vehicles) with one
// shift, the depot's window, from and to location 0; customer c is job c at location c with its
// window, service time and demand. The travel Matrix holds the distances ×Scale rounded up.
func (in *Instance) Problem() *scheduling.Problem {
	n := len(in.Nodes)
	m := make(scheduling.Matrix, n)
	for a := range n {
		m[a] = make([]int64, n)
		for b := range n {
			if a != b {
				m[a][b] = units(in.D(a, b))
			}
		}
	}
	depot := in.Nodes[0]
	p := &scheduling.Problem{Travel: m}
	for v := range in.Vehicles {
		p.Technicians = append(p.Technicians, scheduling.Technician{ID: int64(v + 1), Capacity: in.Capacity,
			Shifts: []scheduling.Shift{{Window: scheduling.Window{Start: units(depot.Ready), End: units(depot.Due)}}}})
	}
	for c := 1; c < n; c++ {
		nd := in.Nodes[c]
		p.Jobs = append(p.Jobs, scheduling.Job{ID: int64(c), Loc: c, Duration: units(nd.Service), Load: nd.Demand,
			Windows: []scheduling.Window{{Start: units(nd.Ready), End: units(nd.Due)}}})
	}
	return p
}

// Solve plans the instance with scheduling.Optimize within budget b, from an empty plan, and
// returns the plan with its distance re-checked by Distance.
func Solve(ctx context.Context, in *Instance, b scheduling.Budget) (*scheduling.Plan, scheduling.Stats, float64, error) {
	empty, err := scheduling.NewPlan(in.Problem(), nil)
	if err != nil {
		return nil, scheduling.Stats{}, 0, fmt.Errorf("solomon %s: %w", in.Name, err)
	}
	plan, st := scheduling.Optimize(ctx, empty, b)
	if _, err := scheduling.Check(plan); err != nil {
		return nil, st, 0, fmt.Errorf("solomon %s: the plan fails scheduling.Check: %w", in.Name, err)
	}
	d, err := Distance(in, Routes(plan))
	if err != nil {
		return nil, st, 0, fmt.Errorf("solomon %s: %w", in.Name, err)
	}
	return plan, st, d, nil
}

// Routes are a plan's non-empty routes as lists of customers.
func Routes(p *scheduling.Plan) [][]int {
	var out [][]int
	for _, r := range p.Routes() {
		if len(r.Visits) == 0 {
			continue
		}
		var cs []int
		for _, v := range r.Visits {
			cs = append(cs, int(v.Job))
		}
		out = append(out, cs)
	}
	return out
}

// Distance recomputes routes (lists of customers; the depot implied at both ends) from the
// instance alone, in real numbers: each customer visited exactly once, capacity respected,
// service starting inside its window (waiting allowed), back at the depot before it closes, at
// most the instance's vehicles; it returns the total distance.
func Distance(in *Instance, routes [][]int) (float64, error) {
	n := len(in.Nodes)
	seen := make([]bool, n)
	used, total := 0, 0.0
	for ri, r := range routes {
		if len(r) == 0 {
			continue
		}
		used++
		for _, c := range r {
			if c <= 0 || c >= n {
				return 0, fmt.Errorf("route %d: no customer %d", ri, c)
			}
			if seen[c] {
				return 0, fmt.Errorf("customer %d visited twice", c)
			}
			seen[c] = true
		}
		d, err := in.route(r)
		if err != nil {
			return 0, fmt.Errorf("route %d: %w", ri, err)
		}
		total += d
	}
	for c := 1; c < n; c++ {
		if !seen[c] {
			return 0, fmt.Errorf("customer %d not served", c)
		}
	}
	if used > in.Vehicles {
		return 0, fmt.Errorf("%d routes for %d vehicles", used, in.Vehicles)
	}
	return total, nil
}

// route is the distance of one route of customers (in range, each once), or the rule it breaks:
// a window missed, the capacity exceeded, back at the depot after it closes.
func (in *Instance) route(r []int) (float64, error) {
	nodes := in.Nodes
	load, t, prev, total := 0, 0.0, 0, 0.0
	for _, c := range r {
		nd := nodes[c]
		load += nd.Demand
		t = math.Max(t+nodes[prev].Service+in.D(prev, c), nd.Ready)
		if t > nd.Due+1e-9 {
			return 0, fmt.Errorf("customer %d served at %.3f after its window closes at %.3f", c, t, nd.Due)
		}
		total += in.D(prev, c)
		prev = c
	}
	back := in.D(prev, 0)
	if t+nodes[prev].Service+back > nodes[0].Due+1e-9 {
		return 0, errors.New("back at the depot after it closes")
	}
	if load > in.Capacity {
		return 0, fmt.Errorf("load %d over capacity %d", load, in.Capacity)
	}
	return total + back, nil
}
