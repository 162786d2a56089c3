//go:build !race

package vroom

const raceEnabled = false
