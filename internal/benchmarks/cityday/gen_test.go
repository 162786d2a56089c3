package main

import (
	"encoding/json"
	"path/filepath"
	"os/exec"
	"reflect"
	"strconv"
	"testing"

	"github.com/fieldfix/fieldfix/scheduling/vroom"
)

// TestCityDayIsThePythonDay generates the public days in Go and with cityday.py and compares
// them field by field: the benchmark must solve the very days VROOM was measured on.
func TestCityDayIsThePythonDay(t *testing.T) {
	dir, err := findDir()
	if err != nil {
		t.Skip(err)
	}
	script := filepath.Join(dir, "cityday.py")
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	for _, d := range []struct{ seed, jobs, techs int }{{11, 150, 20}, {12, 500, 60}, {3, 40, 7}} {
		out, err := exec.Command("python3", script, strconv.Itoa(d.seed), strconv.Itoa(d.jobs), strconv.Itoa(d.techs)).Output()
		if err != nil {
			t.Fatal(err)
		}
		var want vroom.Problem
		if err := json.Unmarshal(out, &want); err != nil {
			t.Fatal(err)
		}
		got := cityDay(uint32(d.seed), d.jobs, d.techs)
		if !reflect.DeepEqual(got.Vehicles, want.Vehicles) {
			t.Fatalf("seed %d: vehicles differ", d.seed)
		}
		if !reflect.DeepEqual(got.Jobs, want.Jobs) {
			t.Fatalf("seed %d: jobs differ", d.seed)
		}
		g, w := got.Matrices["car"].Durations, want.Matrices["car"].Durations
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("seed %d: matrices differ", d.seed)
		}
	}
}
