package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
	"github.com/jackc/pgx/v5/pgconn"
)

func (s rosterStore) CreateTechnician(ctx context.Context, t dispatch.Technician) (dispatch.Technician, error) {
	shifts, _ := json.Marshal(t.WeeklyShifts)
	r, err := s.q.TechnicianInsert(ctx, db.TechnicianInsertParams{
		Subject: t.Subject, Name: t.Name, Skills: t.Skills, HomeLat: t.Home.Lat, HomeLng: t.Home.Lng, TimeZone: t.TimeZone,
		WeeklyShifts: shifts, ServiceArea: t.ServiceArea, Active: t.Active,
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return dispatch.Technician{}, dispatch.Conflict("subject_taken", "a technician with subject %q already exists", deref(t.Subject))
		}
		return dispatch.Technician{}, mapErr(err)
	}
	return technicianFrom(r), s.announceTechnician(ctx, r.ID)
}

func (s rosterStore) UpdateTechnician(ctx context.Context, t dispatch.Technician) (dispatch.Technician, error) {
	shifts, _ := json.Marshal(t.WeeklyShifts)
	r, err := s.q.TechnicianUpdate(ctx, db.TechnicianUpdateParams{
		ID: t.ID, Name: t.Name, Skills: t.Skills, HomeLat: t.Home.Lat, HomeLng: t.Home.Lng, TimeZone: t.TimeZone,
		WeeklyShifts: shifts, ServiceArea: t.ServiceArea, Active: t.Active, UpdatedAt: t.UpdatedAt,
	})
	if err != nil {
		return dispatch.Technician{}, notFound(err, "technician", t.ID)
	}
	return technicianFrom(r), s.announceTechnician(ctx, r.ID)
}
