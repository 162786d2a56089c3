package scheduling

import (
	"math"
	"time"

	"github.com/fieldfix/fieldfix/geo"
)

// Places is a Travel over map points with geo's travel model, at one departure time (the model's
// speed for that time of day applies to every leg). Add registers a point and returns its index.
type Places struct {
	Points []geo.Point
	Model  geo.TravelModel
	Depart time.Time
}

// NewPlaces is a Travel with geo's default model at the given departure time.
func NewPlaces(depart time.Time) *Places {
	return &Places{Model: geo.DefaultTravelModel(), Depart: depart}
}

// Add registers p and returns its location index.
func (pl *Places) Add(p geo.Point) int {
	pl.Points = append(pl.Points, p)
	return len(pl.Points) - 1
}

// Seconds implements Travel.
func (pl *Places) Seconds(from, to int) int64 {
	if from == to {
		return 0
	}
	return int64(math.Round(pl.Model.Duration(pl.Points[from], pl.Points[to], pl.Depart).Seconds()))
}
