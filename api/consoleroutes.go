package api

import (
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/board"
)

// routeJobDTO is a visit on the board's route: the job as everywhere, with what the console's
// Gantt and map draw of it (its booking's tier, SLA due time, place, customer, and the drive before it).
type routeJobDTO struct {
	jobDTO
	Tier           string            `json:"tier"`
	SLADueAt       time.Time         `json:"sla_due_at"`
	Appliance      string            `json:"appliance"`
	Address        string            `json:"address"`
	Location       dispatch.Location `json:"location"`
	CustomerName   string            `json:"customer_name"`
	RequiredSkills []string          `json:"required_skills"`
	TravelMinutes  int               `json:"travel_minutes"`
}

func routeJobOut(j board.RouteJob, a dispatch.Actor) routeJobDTO {
	return routeJobDTO{jobDTO: jobOut(j.Job, a), Tier: string(j.Tier), SLADueAt: j.SLADueAt, Appliance: j.Appliance, Address: j.Address,
		Location: j.Location, CustomerName: j.CustomerName, RequiredSkills: nonNil(j.RequiredSkills),
		TravelMinutes: int((j.Travel + time.Minute/2) / time.Minute)}
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
