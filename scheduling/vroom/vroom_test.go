package vroom

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

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
	p, err := Read(strings.NewReader(withMatrix))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Solve(context.Background(), p, 200*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Code != 0 || s.Summary.Unassigned != 0 || len(s.Unassigned) != 0 {
		t.Fatalf("unassigned %+v", s.Unassigned)
	}
	jobs, cost := 0, 0.0
	for _, r := range s.Routes {
		if r.Steps[0].Type != "start" || r.Steps[len(r.Steps)-1].Type != "end" || (r.Vehicle != 7 && r.Vehicle != 8) {
			t.Fatalf("route shape %+v", r)
		}
		last := 0.0
		for _, st := range r.Steps {
			if st.Arrival < last {
				t.Fatalf("arrivals go back in time: %+v", r.Steps)
			}
			last = st.Arrival
			if st.Type == "job" {
				jobs++
				if st.ID == 102 && st.Arrival+st.WaitingTime > 2000 {
					t.Fatalf("job 102 served after its window: %+v", st)
				}
			}
		}
		cost += r.Cost
	}
	if jobs != 4 || math.Abs(cost-s.Summary.Cost) > 1e-9 {
		t.Fatalf("%d jobs, cost %v vs summary %v", jobs, cost, s.Summary.Cost)
	}
	// Capacity 4 with loads 1+1+2+3 = 7: two routes at least.
	if s.Summary.Routes != 2 {
		t.Fatalf("%d routes", s.Summary.Routes)
	}
}

func TestLocationsUseTheTravelModel(t *testing.T) {
	p, err := Read(strings.NewReader(`{
	  "vehicles": [{"id": 1, "start": [4.8357, 45.764], "end": [4.8357, 45.764], "capacity": [10]}],
	  "jobs": [{"id": 1, "location": [4.85, 45.77], "service": 600}, {"id": 2, "location": [4.80, 45.75], "service": 600}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Solve(context.Background(), p, 100*time.Millisecond, 1)
	if err != nil || s.Summary.Unassigned != 0 || s.Summary.Cost <= 0 {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestRefusals(t *testing.T) {
	for name, doc := range map[string]string{
		"vehicles differ": `{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [4]}, {"id": 2, "start_index": 0, "end_index": 0, "capacity": [5]}],
			"jobs": [{"id": 1, "location_index": 1}], "matrix": [[0, 1], [1, 0]]}`,
		"two windows":   `{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0}], "jobs": [{"id": 1, "location_index": 1, "time_windows": [[0, 5], [9, 12]]}], "matrix": [[0, 1], [1, 0]]}`,
		"missing skill": `{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "skills": [1]}], "jobs": [{"id": 1, "location_index": 1, "skills": [2]}], "matrix": [[0, 1], [1, 0]]}`,
		"index outside": `{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0}], "jobs": [{"id": 1, "location_index": 5}], "matrix": [[0, 1], [1, 0]]}`,
		"bad location":  `{"vehicles": [{"id": 1, "start": [400, 95], "end": [400, 95]}], "jobs": [{"id": 1, "location": [4, 45]}]}`,
	} {
		p, err := Read(strings.NewReader(doc))
		if err == nil {
			_, err = Solve(context.Background(), p, 10*time.Millisecond, 1)
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
