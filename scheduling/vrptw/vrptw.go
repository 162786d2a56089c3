// Package vrptw solves the vehicle routing problem with time windows and capacities in
// Solomon's setting (travel time = Euclidean distance, service start inside [ready, due],
// minimise total distance with at most the instance's vehicles). The search is slack induction by
// string removals (Christiaens & Vanden Berghe, 2020): ruin adjacent strings of customers, recreate
// by greedy insertion with blinks, accept by simulated annealing. An independent checker
// recomputes every route from scratch. Pure Go: no clock but the caller's budget.
package vrptw

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/fieldfix/fieldfix/scheduling/solomon"
)

// Node is the depot (index 0) or a customer.
type Node = solomon.Node

// Instance is a Solomon problem.
type Instance struct {
	Name     string
	Vehicles int
	Capacity int
	Nodes    []Node
	dist     []float64 // n×n
}

// N is the number of nodes, depot included.
func (in *Instance) N() int { return len(in.Nodes) }

// D is the travel time (distance) between two nodes.
func (in *Instance) D(i, j int) float64 { return in.dist[i*len(in.Nodes)+j] }

func (in *Instance) prepare() {
	n := len(in.Nodes)
	in.dist = make([]float64, n*n)
	for i := range n {
		for j := range n {
			in.dist[i*n+j] = math.Hypot(in.Nodes[i].X-in.Nodes[j].X, in.Nodes[i].Y-in.Nodes[j].Y)
		}
	}
}

// Parse reads Solomon's text format (package solomon's reader).
func Parse(r io.Reader) (*Instance, error) {
	in, err := solomon.Parse(r)
	if err != nil {
		return nil, err
	}
	return FromSolomon(in), nil
}

// FromSolomon is a parsed Solomon instance for this search.
func FromSolomon(s *solomon.Instance) *Instance {
	in := &Instance{Name: s.Name, Vehicles: s.Vehicles, Capacity: s.Capacity, Nodes: slices.Clone(s.Nodes)}
	in.prepare()
	return in
}

// Solution is a set of routes, each a list of customers (the depot is implied at both ends).
type Solution struct {
	Routes   [][]int
	Distance float64
}

// Check recomputes every route from scratch from the travel matrix, independently of the
// search's incremental schedules: each customer visited exactly once, capacity
// respected, service starting inside its window (waiting allowed), back at the depot before it
// closes, at most the instance's vehicles; it returns the total distance.
func Check(in *Instance, s Solution) (float64, error) {
	return solomon.Check(in.Nodes, in.Vehicles, in.Capacity, in.D, s.Routes)
}

// NewInstance builds an instance from nodes (the depot first) and a travel-time matrix
// (durations[i][j] from node i to node j), for inputs that are not Euclidean.
func NewInstance(name string, vehicles, capacity int, nodes []Node, durations [][]float64) (*Instance, error) {
	n := len(nodes)
	if n < 2 || vehicles <= 0 || capacity <= 0 {
		return nil, errors.New("vrptw: an instance needs a depot, a customer, a vehicle and a capacity")
	}
	if len(durations) != n {
		return nil, fmt.Errorf("vrptw: a %d×%d matrix for %d nodes", len(durations), len(durations), n)
	}
	in := &Instance{Name: name, Vehicles: vehicles, Capacity: capacity, Nodes: nodes, dist: make([]float64, n*n)}
	for i, row := range durations {
		if len(row) != n {
			return nil, fmt.Errorf("vrptw: matrix row %d has %d entries for %d nodes", i, len(row), n)
		}
		for j, d := range row {
			if d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
				return nil, fmt.Errorf("vrptw: matrix entry (%d,%d) = %v", i, j, d)
			}
			in.dist[i*n+j] = d
		}
	}
	return in, nil
}
