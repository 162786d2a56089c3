package techsync

import (
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// DeviceTolerance is how far a device's time, once its clock's skew is taken out, may lie past the
// server's now or before the step it follows: the skew is measured to the second (Date) and the
// request spent some time on the way.
const DeviceTolerance = 30 * time.Second

// DeviceTime is the judgement of the time a phone gave for an act.
type DeviceTime struct {
	Reported time.Time `json:"reported"`       // as the phone's clock said
	Status   string    `json:"status"`         // accepted or refused
	Code     string    `json:"code,omitempty"` // why refused: device_time_in_future, device_time_too_early
	// At is the time kept (the reported time less the phone clock's skew), when accepted.
	At *time.Time `json:"at,omitempty"`
}

// judgeDeviceTime takes a phone's time for an act when it is plausible: corrected by the phone
// clock's skew (estimated from the request's Date), not after now, not before notBefore (the
// offer, or the step before), each within DeviceTolerance, and then kept between the two. A
// refused time leaves the act at the server's time.
func judgeDeviceTime(reported time.Time, skew time.Duration, now, notBefore time.Time) *DeviceTime {
	at := reported.Add(-skew).UTC().Truncate(time.Microsecond)
	d := &DeviceTime{Reported: reported.UTC(), Status: "refused"}
	switch {
	case at.After(now.Add(DeviceTolerance)):
		d.Code = "device_time_in_future"
	case at.Before(notBefore.Add(-DeviceTolerance)):
		d.Code = "device_time_too_early"
	default:
		// Within the tolerance, a time just past now is now, and one just before the step it
		// follows is that step's: the steps a visit keeps never run backwards (skews measured
		// batch by batch may differ by a second).
		if at.After(now) {
			at = now
		}
		if at.Before(notBefore) {
			at = notBefore.UTC()
		}
		d.Status, d.At = "accepted", &at
	}
	return d
}

// stepFloor is the earliest a step to status can have happened on visit v: not before the job
// was offered to the technician (or given them), nor before the step it follows as the phone
// timed it (else as the server saw it). Acceptance is not a floor: accepted offline, it reached
// the server at the sync, after the steps that followed it on the road.
func stepFloor(v Visit, status dispatch.JobStatus) time.Time {
	floor := v.Job.CreatedAt
	if v.Offer != nil {
		floor = v.Offer.CreatedAt
	}
	prev := func(device, server *time.Time) {
		t := device
		if t == nil {
			t = server
		}
		if t != nil && t.After(floor) {
			floor = *t
		}
	}
	switch status {
	case dispatch.JobOnSite:
		prev(v.Job.EnRouteDeviceAt, v.Job.EnRouteAt)
	case dispatch.JobCompleted, dispatch.JobIncomplete:
		prev(v.Job.OnSiteDeviceAt, v.Job.OnSiteAt)
	}
	return floor
}
