-- name: TechnicianInsert :one
INSERT INTO technicians (subject, name, skills, home_lat, home_lng, time_zone, weekly_shifts, service_area, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: TechnicianGet :one
SELECT * FROM technicians WHERE id = $1;

-- name: TechnicianList :many
SELECT * FROM technicians
WHERE (sqlc.arg(before)::bigint = 0 OR id < sqlc.arg(before))
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- name: TechnicianUpdate :one
UPDATE technicians
SET name = $2, skills = $3, home_lat = $4, home_lng = $5, time_zone = $6, weekly_shifts = $7,
    service_area = $8, active = $9, updated_at = $10, version = version + 1
WHERE id = $1
RETURNING *;
