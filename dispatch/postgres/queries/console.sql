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

-- The messages sent about a booking to its customer and to the technicians who had its visits
-- (offered or assigned), newest first, with how their pushes fared. Notifications are indexed by
-- recipient only: the query goes through each recipient's messages, which are few.
-- name: BookingMessages :many
WITH recipients AS (
  SELECT 'customer' AS kind, c.subject FROM bookings b JOIN customers c ON c.id = b.customer_id WHERE b.id = sqlc.arg(booking_id)
  UNION
  SELECT 'technician', t.subject FROM jobs j JOIN offers o ON o.job_id = j.id JOIN technicians t ON t.id = o.technician_id
  WHERE j.booking_id = sqlc.arg(booking_id) AND t.subject IS NOT NULL
  UNION
  SELECT 'technician', t.subject FROM jobs j JOIN technicians t ON t.id = j.technician_id
  WHERE j.booking_id = sqlc.arg(booking_id) AND t.subject IS NOT NULL
)
SELECT sqlc.embed(n),
       (SELECT count(*) FROM push_deliveries d WHERE d.notification_id = n.id AND d.status = 'delivered')::int AS pushes_delivered,
       (SELECT count(*) FROM push_deliveries d WHERE d.notification_id = n.id AND d.status = 'pending')::int AS pushes_pending,
       (SELECT count(*) FROM push_deliveries d WHERE d.notification_id = n.id AND d.status IN ('failed', 'token_invalid'))::int AS pushes_failed
FROM recipients r JOIN notifications n ON n.recipient_kind = r.kind AND n.recipient_subject = r.subject
WHERE n.booking_id = sqlc.arg(booking_id) AND (sqlc.arg(before)::bigint = 0 OR n.id < sqlc.arg(before))
ORDER BY n.id DESC
LIMIT sqlc.arg(max_rows);

-- name: BookingExists :one
SELECT EXISTS (SELECT 1 FROM bookings WHERE id = $1);
