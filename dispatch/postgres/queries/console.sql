-- The board's routes in one read: the visits of several technicians overlapping [from_time,
-- to_time), live or finished, with what the console shows of their booking.
-- name: BoardRouteJobs :many
SELECT sqlc.embed(j), t.name AS technician_name, b.tier, b.sla_due_at, b.appliance, b.address,
       b.contact_name, b.required_skills
FROM jobs j JOIN technicians t ON t.id = j.technician_id JOIN bookings b ON b.id = j.booking_id
WHERE j.technician_id = ANY(sqlc.arg(technician_ids)::bigint[])
  AND j.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site', 'completed', 'incomplete')
  AND j.planned_end > sqlc.arg(from_time)::timestamptz AND j.planned_start < sqlc.arg(to_time)::timestamptz
ORDER BY j.technician_id, j.planned_start;
