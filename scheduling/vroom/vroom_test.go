package vroom

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/scheduling/solomon"
)

// solve reads doc, solves it and verifies the answer with verify.
func solve(t *testing.T, doc string, limit time.Duration) (*Problem, *Solution) {
	t.Helper()
	p, err := Read(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Solve(context.Background(), p, Options{TimeLimit: limit, Workers: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	verify(t, p, s)
	return p, s
}

const withMatrix = `{
  "vehicles": [{"id": 7, "start_index": 0, "end_index": 0, "capacity": [4], "time_window": [0, 10000]},
               {"id": 8, "start_index": 0, "end_index": 0, "capacity": [4], "time_window": [0, 10000]}],
  "jobs": [
    {"id": 101, "location_index": 1, "service": 300, "delivery": [1]},
    {"id": 102, "location_index": 2, "service": 300, "delivery": [1], "time_windows": [[0, 2000]]},
    {"id": 103, "location_index": 3, "service": 300, "pickup": [2]},
    {"id": 104, "location_index": 4, "service": 300, "delivery": [3]}
  ],
  "matrices": {"car": {"durations": [
    [0, 600, 900, 1200, 700],
    [600, 0, 400, 800, 500],
    [900, 400, 0, 500, 800],
    [1200, 800, 500, 0, 900],
    [700, 500, 800, 900, 0]]}}
}`

func TestMatrixProblem(t *testing.T) {
	_, s := solve(t, withMatrix, 200*time.Millisecond)
	if s.Summary.Unassigned != 0 {
		t.Fatalf("unassigned %+v", s.Unassigned)
	}
	// Capacity 4 with loads 1+1+2+3 = 7: two routes at least.
	if s.Summary.Routes != 2 {
		t.Fatalf("%d routes", s.Summary.Routes)
	}
	// The answer says what the search did.
	if s.Search == nil || s.Search.Iterations == 0 || s.Search.After.Unassigned != 0 {
		t.Fatalf("search %+v", s.Search)
	}
}

func TestLegacyMatrix(t *testing.T) {
	_, s := solve(t, `{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0}],
		"jobs": [{"id": 5, "location_index": 1}, {"id": 6, "location_index": 2}],
		"matrix": [[0, 10, 20], [10, 0, 15], [20, 15, 0]]}`, 50*time.Millisecond)
	if s.Summary.Cost != 45 || s.Summary.Unassigned != 0 {
		t.Fatalf("%+v", s.Summary)
	}
}

func TestLocationsUseTheTravelModel(t *testing.T) {
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start": [4.8357, 45.764], "end": [4.8357, 45.764], "capacity": [10]},
	               {"id": 2, "start": [4.87, 45.75], "skills": [3], "breaks": [{"id": 9, "service": 900, "time_windows": [[3600, 7200]]}]}],
	  "jobs": [{"id": 1, "location": [4.85, 45.77], "service": 600}, {"id": 2, "location": [4.80, 45.75], "service": 600},
	           {"id": 3, "location": [4.83, 45.74], "service": 600, "skills": [3]}]}`, 100*time.Millisecond)
	if s.Summary.Unassigned != 0 || s.Summary.Cost <= 0 {
		t.Fatalf("%+v", s.Summary)
	}
}

func TestSkillsSendAJobToTheOnlyVehicleThatCan(t *testing.T) {
	// Vehicle 2 is far from everything, but only it has skill 5.
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [10], "skills": [1]},
	               {"id": 2, "start_index": 3, "end_index": 3, "capacity": [3], "skills": [1, 5]}],
	  "jobs": [{"id": 10, "location_index": 1, "skills": [1]}, {"id": 11, "location_index": 2, "skills": [5]},
	           {"id": 12, "location_index": 1, "skills": [1, 5, 9]}],
	  "matrix": [[0, 10, 10, 900], [10, 0, 5, 900], [10, 5, 0, 900], [900, 900, 900, 0]]}`, 100*time.Millisecond)
	for _, r := range s.Routes {
		for _, st := range r.Steps {
			if st.Type == "job" && *st.ID == 11 && r.Vehicle != 2 {
				t.Fatalf("job 11 with vehicle %d", r.Vehicle)
			}
		}
	}
	// Job 12 needs a skill no vehicle has: unassigned, not refused.
	if len(s.Unassigned) != 1 || s.Unassigned[0].ID != 12 {
		t.Fatalf("unassigned %+v", s.Unassigned)
	}
}

func TestSeveralTimeWindows(t *testing.T) {
	// The first window of job 1 closes before anyone can get there, so its second one is used;
	// job 2's second window is after the vehicle's day, so its first one is.
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "time_window": [0, 8000]}],
	  "jobs": [{"id": 1, "location_index": 1, "service": 60, "time_windows": [[0, 100], [5000, 6000]]},
	           {"id": 2, "location_index": 2, "service": 60, "time_windows": [[0, 1000], [9000, 9500]]}],
	  "matrix": [[0, 600, 300], [600, 0, 400], [300, 400, 0]]}`, 100*time.Millisecond)
	if s.Summary.Unassigned != 0 {
		t.Fatalf("unassigned %+v", s.Unassigned)
	}
	for _, st := range s.Routes[0].Steps {
		begin := st.Arrival + st.WaitingTime
		if st.Type == "job" && *st.ID == 1 && (begin < 5000 || begin > 6000) {
			t.Fatalf("job 1 at %d", begin)
		}
		if st.Type == "job" && *st.ID == 2 && begin > 1000 {
			t.Fatalf("job 2 at %d", begin)
		}
	}
}

func TestBreaksAreStepsInsideTheirWindows(t *testing.T) {
	// Ten 30-minute jobs: the breaks must fall between them, at 2 h–2 h 30 and 4 h–5 h.
	var jobs []string
	for i := range 10 {
		jobs = append(jobs, fmt.Sprintf(`{"id": %d, "location_index": %d, "service": 1800}`, i+1, i%3+1))
	}
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "time_window": [0, 36000],
	    "breaks": [{"id": 71, "service": 1200, "time_windows": [[14400, 18000], [30000, 31000]]},
	               {"id": 70, "service": 600, "time_windows": [[7200, 9000]]}]}],
	  "jobs": [`+strings.Join(jobs, ",")+`],
	  "matrix": [[0, 300, 400, 500], [300, 0, 200, 300], [400, 200, 0, 250], [500, 300, 250, 0]]}`, 100*time.Millisecond)
	var ids []int64
	for k, st := range s.Routes[0].Steps {
		if st.Type == "break" {
			ids = append(ids, *st.ID)
			if k == 1 || k == len(s.Routes[0].Steps)-2 {
				t.Fatalf("break %d not between jobs: %+v", *st.ID, s.Routes[0].Steps)
			}
		}
	}
	if !slices.Equal(ids, []int64{70, 71}) || s.Summary.Unassigned != 0 {
		t.Fatalf("breaks %v, unassigned %d", ids, s.Summary.Unassigned)
	}
}

func TestMaxTasks(t *testing.T) {
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "max_tasks": 2}, {"id": 2, "start_index": 0, "end_index": 0, "max_tasks": 2},
	               {"id": 3, "start_index": 0, "end_index": 0, "max_tasks": 0}],
	  "jobs": [{"id": 1, "location_index": 1}, {"id": 2, "location_index": 1}, {"id": 3, "location_index": 1},
	           {"id": 4, "location_index": 1}, {"id": 5, "location_index": 1}],
	  "matrix": [[0, 10], [10, 0]]}`, 100*time.Millisecond)
	if s.Summary.Unassigned != 1 || s.Summary.Routes != 2 {
		t.Fatalf("%+v", s.Summary)
	}
}

func TestPriorityWinsWhenCapacityIsShort(t *testing.T) {
	// Room for two of three jobs: the far one has priority, so a near one is left.
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [2]}],
	  "jobs": [{"id": 1, "location_index": 1, "delivery": [1]}, {"id": 2, "location_index": 1, "pickup": [1]},
	           {"id": 3, "location_index": 2, "delivery": [1], "priority": 80}],
	  "matrix": [[0, 10, 5000], [10, 0, 5000], [5000, 5000, 0]]}`, 100*time.Millisecond)
	if len(s.Unassigned) != 1 || s.Unassigned[0].ID == 3 || s.Summary.Priority != 80 {
		t.Fatalf("unassigned %+v, summary %+v", s.Unassigned, s.Summary)
	}
}

func TestZeroCapacityTakesOnlyUnloadedJobs(t *testing.T) {
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [0, 0]}],
	  "jobs": [{"id": 1, "location_index": 1, "delivery": [0, 1]}, {"id": 2, "location_index": 1}],
	  "matrix": [[0, 10], [10, 0]]}`, 50*time.Millisecond)
	if len(s.Unassigned) != 1 || s.Unassigned[0].ID != 1 || len(s.Summary.Delivery) != 2 {
		t.Fatalf("%+v", s)
	}
}

func TestOpenRoutes(t *testing.T) {
	// Vehicle 1 has no end (no way back is paid), vehicle 2 no start (it begins at its first job).
	_, s := solve(t, `{
	  "vehicles": [{"id": 1, "start_index": 0, "skills": [1]}, {"id": 2, "end_index": 0, "skills": [2], "time_window": [1000, 9000]}],
	  "jobs": [{"id": 1, "location_index": 1, "skills": [1], "service": 10}, {"id": 2, "location_index": 2, "skills": [2], "service": 10}],
	  "matrix": [[0, 100, 200], [100, 0, 150], [200, 150, 0]]}`, 50*time.Millisecond)
	if s.Summary.Cost != 100+200 || s.Summary.Unassigned != 0 {
		t.Fatalf("%+v", s.Summary)
	}
}

// TestRandomProblems solves small heterogeneous problems with every feature at once; Solve
// re-checks each plan with scheduling.Check and verify re-reads each answer.
func TestRandomProblems(t *testing.T) {
	for seed := range uint64(25) {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 4 + rng.IntN(6)
		pts := make([][2]int, n)
		for i := range pts {
			pts[i] = [2]int{rng.IntN(60), rng.IntN(60)}
		}
		mat := make([][]int64, n)
		for a := range n {
			mat[a] = make([]int64, n)
			for b := range n {
				mat[a][b] = int64(10 * (abs(pts[a][0]-pts[b][0]) + abs(pts[a][1]-pts[b][1])))
			}
		}
		p := Problem{Matrix: mat}
		for v := range 1 + rng.IntN(3) {
			veh := Vehicle{ID: int64(v + 1), TimeWindow: []int64{int64(rng.IntN(500)), 4000 + int64(rng.IntN(4000))}, Skills: []int64{int64(rng.IntN(2))}}
			if rng.IntN(4) > 0 {
				i := rng.IntN(n)
				veh.StartIndex = &i
			}
			if rng.IntN(4) > 0 {
				i := rng.IntN(n)
				veh.EndIndex = &i
			}
			if rng.IntN(2) == 0 {
				veh.Capacity = []int64{int64(rng.IntN(6))}
			}
			if rng.IntN(3) == 0 {
				k := 1 + rng.IntN(5)
				veh.MaxTasks = &k
			}
			for b := range rng.IntN(3) {
				s := int64(1000 + 2000*b + rng.IntN(500))
				veh.Breaks = append(veh.Breaks, VehicleBreak{ID: int64(10*v + b), Service: int64(rng.IntN(400)), TimeWindows: [][]int64{{s, s + int64(rng.IntN(1500))}}})
			}
			p.Vehicles = append(p.Vehicles, veh)
		}
		for j := range 6 + rng.IntN(14) {
			i := rng.IntN(n)
			job := Job{ID: int64(100 + j), LocationIndex: &i, Service: int64(rng.IntN(300)), Priority: rng.IntN(3) * rng.IntN(50)}
			if rng.IntN(3) == 0 {
				job.Skills = []int64{int64(rng.IntN(2))}
			}
			if rng.IntN(2) == 0 {
				job.Delivery = []int64{int64(rng.IntN(3))}
			}
			if rng.IntN(3) == 0 {
				job.Pickup = []int64{int64(rng.IntN(3))}
			}
			for w := range rng.IntN(3) {
				s := int64(w*3000 + rng.IntN(2000))
				job.TimeWindows = append(job.TimeWindows, []int64{s, s + int64(rng.IntN(1500))})
			}
			p.Jobs = append(p.Jobs, job)
		}
		doc, _ := json.Marshal(p)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { solve(t, string(doc), 30*time.Millisecond) })
	}
}

func abs(x int) int { return max(x, -x) }

// TestSolomonThroughVROOM hands Solomon instances to Solve as VROOM JSON (distances and times
// ×100, rounded), solved by scheduling.Optimize like any other problem; every customer must be served, and the
// distance must be sane (within 25% of the best known: a broken search, not a slow machine).
// The quality figures are a benchmark's business (docs/vroom.md), not a timed test's.
func TestSolomonThroughVROOM(t *testing.T) {
	for name, best := range map[string]float64{"RC101": 1643.41, "R201": 1149.68} {
		f, err := os.Open("../../../shared/benchmarks/vrptw/solomon/" + name + ".txt")
		if err != nil {
			t.Skip("Solomon instances not beside the repository")
		}
		in, err := solomon.Parse(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := FromSolomon(in)
		doc, _ := json.Marshal(p)
		_, s := solve(t, string(doc), time.Second)
		if gap := float64(s.Summary.Cost)/100/best - 1; s.Summary.Unassigned != 0 || gap > 0.25 {
			t.Errorf("%s: %d unassigned, cost %d (gap %.2f%%)", name, s.Summary.Unassigned, s.Summary.Cost, 100*gap)
		}
	}
}

func TestRefusals(t *testing.T) {
	for name, c := range map[string]struct{ doc, want string }{
		"shipments":        {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1}], "shipments": [{"amount": [1]}], "matrix": [[0, 1], [1, 0]]}`, "shipments"},
		"setup":            {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1, "setup": 5}], "matrix": [[0, 1], [1, 0]]}`, "setup"},
		"service per type": {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1, "service_per_type": {"van": 5}}], "matrix": [[0, 1], [1, 0]]}`, "service_per_type"},
		"two dimensions": {`{"vehicles": [{"id": 1, "start_index": 0, "capacity": [4, 4]}], "jobs": [{"id": 1, "location_index": 1, "delivery": [1, 0]},
			{"id": 2, "location_index": 1, "delivery": [0, 1]}], "matrix": [[0, 1], [1, 0]]}`, "one capacity dimension"},
		"costs":        {`{"vehicles": [{"id": 1, "start_index": 0, "costs": {"fixed": 100}}], "jobs": [{"id": 1, "location_index": 1}], "matrix": [[0, 1], [1, 0]]}`, "costs"},
		"speed factor": {`{"vehicles": [{"id": 1, "start_index": 0, "speed_factor": 1.5}], "jobs": [{"id": 1, "location_index": 1}], "matrix": [[0, 1], [1, 0]]}`, "speed_factor"},
		"max load":     {`{"vehicles": [{"id": 1, "start_index": 0, "breaks": [{"id": 1, "max_load": [0]}]}], "jobs": [{"id": 1, "location_index": 1}], "matrix": [[0, 1], [1, 0]]}`, "max_load"},
		"profiles": {`{"vehicles": [{"id": 1, "start_index": 0}, {"id": 2, "start_index": 0, "profile": "bike"}], "jobs": [{"id": 1, "location_index": 1}],
			"matrix": [[0, 1], [1, 0]]}`, "profiles"},
		"priority":      {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1, "priority": 101}], "matrix": [[0, 1], [1, 0]]}`, "priority"},
		"window":        {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1, "time_windows": [[9, 5]]}], "matrix": [[0, 1], [1, 0]]}`, "time window"},
		"index outside": {`{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0}], "jobs": [{"id": 1, "location_index": 5}], "matrix": [[0, 1], [1, 0]]}`, "outside"},
		"no index":      {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location": [4, 45]}], "matrix": [[0, 1], [1, 0]]}`, "location_index"},
		"not square":    {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1}], "matrix": [[0, 1], [1]]}`, "square"},
		"fractional":    {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1, "service": 1.5}], "matrix": [[0, 1], [1, 0]]}`, "service"},
		"bad location":  {`{"vehicles": [{"id": 1, "start": [400, 95], "end": [400, 95]}], "jobs": [{"id": 1, "location": [4, 45]}]}`, "vehicle 1 start"},
		"job twice":     {`{"vehicles": [{"id": 1, "start_index": 0}], "jobs": [{"id": 1, "location_index": 1}, {"id": 1, "location_index": 0}], "matrix": [[0, 1], [1, 0]]}`, "twice"},
	} {
		p, err := Read(strings.NewReader(c.doc))
		if err == nil {
			_, err = Solve(context.Background(), p, Options{TimeLimit: 10 * time.Millisecond, Workers: 1})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}
