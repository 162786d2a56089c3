-- name: TechnicianNotifyChanged :exec
SELECT pg_notify('fieldfix_technicians:' || current_schema(), sqlc.arg(id)::bigint::text);

-- name: TechniciansByIDs :many
SELECT * FROM technicians WHERE id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY id;

-- name: OpenBookingPoints :many
SELECT b.lat, b.lng FROM bookings b WHERE b.status IN ('open', 'scheduled', 'in_progress');
