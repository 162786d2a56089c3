//go:build race

package vroom

// raceEnabled: the race detector slows the searches several times, so quality bounds do not apply.
const raceEnabled = true
