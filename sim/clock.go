package sim

import (
	"sync"
	"time"
)

// Clock is a simulated clock: it reads Start when made and runs Speed times the wall clock
// from then. A sim and the server it runs in-process share one, so that the server's times
// (bookings, arrivals, SLA, KPIs, the board's now) are the simulated day's, not the compressed
// wall-clock minutes.
type Clock struct {
	mu     sync.Mutex
	origin time.Time // the simulated time at wall
	wall   time.Time
	speed  float64
	held   bool // stands still at origin until Run
}

// NewClock starts a clock at start running speed times the wall clock (speed <= 0: 1).
func NewClock(start time.Time, speed float64) *Clock {
	if speed <= 0 {
		speed = 1
	}
	return &Clock{origin: start, wall: time.Now(), speed: speed}
}

// NewHeldClock is a clock standing at start until Run: a server set up on it (migrations,
// loading) does not eat into the simulated day.
func NewHeldClock(start time.Time, speed float64) *Clock {
	c := NewClock(start, speed)
	c.held = true
	return c
}

// Run sets a held clock going.
func (c *Clock) Run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		c.held, c.wall = false, time.Now()
	}
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		return c.origin
	}
	return c.origin.Add(time.Duration(float64(time.Since(c.wall)) * c.speed))
}

// Speed is how many simulated seconds pass in a wall second.
func (c *Clock) Speed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}

// SetSpeed runs the clock at speed from now on, without a jump (1: as fast as the wall clock,
// for looking at the simulated day's end).
func (c *Clock) SetSpeed(speed float64) {
	if speed <= 0 {
		speed = 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if !c.held {
		c.origin = c.origin.Add(time.Duration(float64(now.Sub(c.wall)) * c.speed))
	}
	c.wall, c.speed, c.held = now, speed, false
}

// Wall is how long d of simulated time lasts on the wall clock.
func (c *Clock) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.Speed())
}
