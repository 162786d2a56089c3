package main

import (
	"testing"
	"time"
)

// TestPartsVariant: on a small day the planner that ignores parts sends vans without the part
// (visits that would fail), the parts-aware one never does (aware checks every served
// part-visit itself and fails otherwise), and its pick-ups serve part-jobs the vans alone left.
func TestPartsVariant(t *testing.T) {
	d := newPartsDay("small", 3, 60, 8, 0.4, 8, 2)
	if d.partJob == 0 || len(d.wh) != 2 {
		t.Fatalf("%d part-jobs, %d warehouses", d.partJob, len(d.wh))
	}
	ign, err := d.ignoring(300*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	vans, picks, err := d.aware(300*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ignoring %+v\nvans only %+v\nwith pick-ups %+v", ign, vans, picks)
	if ign.failed == 0 {
		t.Fatal("ignoring parts, no visit lacked its part: the day does not exercise parts")
	}
	if vans.pickups != 0 || picks.failed != 0 || vans.failed != 0 {
		t.Fatalf("vans only %+v, with pick-ups %+v", vans, picks)
	}
	if picks.pickups > 0 && picks.partServed < vans.partServed {
		t.Fatalf("pick-ups served fewer part-jobs (%d) than vans alone (%d)", picks.partServed, vans.partServed)
	}
}
