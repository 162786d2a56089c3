package techsync

import (
	"testing"
	"time"
)

// TestJudgeDeviceTime: a phone's time, less its clock's skew, is kept when it falls between the
// step it follows and now; within the tolerance it is brought to that range (so a visit's steps
// never run backwards); beyond it, refused with why.
func TestJudgeDeviceTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	floor := now.Add(-time.Hour) // the step before (or the offer)
	for _, tt := range []struct {
		name     string
		reported time.Time
		skew     time.Duration
		want     time.Time // zero: refused
		code     string
	}{
		{"between", now.Add(-20 * time.Minute), 0, now.Add(-20 * time.Minute), ""},
		{"a fast clock's time, skew taken out", now.Add(-20*time.Minute + 2*time.Hour), 2 * time.Hour, now.Add(-20 * time.Minute), ""},
		{"a slow clock's time", now.Add(-20*time.Minute - 3*time.Minute), -3 * time.Minute, now.Add(-20 * time.Minute), ""},
		{"just past now: now", now.Add(10 * time.Second), 0, now, ""},
		{"just before the step it follows: that step", floor.Add(-10 * time.Second), 0, floor, ""},
		{"in the future", now.Add(time.Minute), 0, time.Time{}, "device_time_in_future"},
		{"before the step it follows", floor.Add(-time.Minute), 0, time.Time{}, "device_time_too_early"},
		{"a fast clock without its skew known", now.Add(-20*time.Minute + 2*time.Hour), 0, time.Time{}, "device_time_in_future"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := judgeDeviceTime(tt.reported, tt.skew, now, floor)
			if !d.Reported.Equal(tt.reported) {
				t.Errorf("reported %v, want %v", d.Reported, tt.reported)
			}
			if tt.want.IsZero() {
				if d.Status != "refused" || d.At != nil || d.Code != tt.code {
					t.Errorf("got %s %v %q, want refused %q", d.Status, d.At, d.Code, tt.code)
				}
				return
			}
			if d.Status != "accepted" || d.At == nil || !d.At.Equal(tt.want) || d.Code != "" {
				t.Errorf("got %s %v %q, want accepted at %v", d.Status, d.At, d.Code, tt.want)
			}
		})
	}
}
