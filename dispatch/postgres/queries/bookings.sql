-- name: IdempotencyClaim :one
INSERT INTO idempotency_keys (subject, key, request_hash) VALUES ($1, $2, $3)
ON CONFLICT (subject, key) DO NOTHING
RETURNING true AS claimed;

-- name: IdempotencyGet :one
SELECT * FROM idempotency_keys WHERE subject = $1 AND key = $2;

-- name: BookingGet :one
SELECT sqlc.embed(b), c.subject AS customer_subject
FROM bookings b JOIN customers c ON c.id = b.customer_id
WHERE b.id = $1;

-- name: BookingGetForUpdate :one
SELECT sqlc.embed(b), c.subject AS customer_subject
FROM bookings b JOIN customers c ON c.id = b.customer_id
WHERE b.id = $1
FOR UPDATE OF b;

-- name: BookingList :many
SELECT sqlc.embed(b), c.subject AS customer_subject
FROM bookings b JOIN customers c ON c.id = b.customer_id
WHERE (sqlc.narg(customer_id)::bigint IS NULL OR b.customer_id = sqlc.narg(customer_id))
  AND (sqlc.arg(status)::text = '' OR b.status = sqlc.arg(status))
  AND (sqlc.arg(tier)::text = '' OR b.tier = sqlc.arg(tier))
  AND (sqlc.arg(before)::bigint = 0 OR b.id < sqlc.arg(before))
ORDER BY b.id DESC
LIMIT sqlc.arg(max_rows);

-- name: BookingUpdate :one
UPDATE bookings
SET status = $2, preferred_windows = $3, cancel_reason = $4, updated_at = $5, at_risk = $6, version = version + 1
WHERE id = $1
RETURNING version;

-- name: JobInsert :one
INSERT INTO jobs (booking_id, visit, status, technician_id, planned_start, planned_end, pinned, offer_expires_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: JobsByBookings :many
SELECT sqlc.embed(j), COALESCE(t.name, '')::text AS technician_name
FROM jobs j LEFT JOIN technicians t ON t.id = j.technician_id
WHERE j.booking_id = ANY(sqlc.arg(booking_ids)::bigint[])
ORDER BY j.booking_id, j.visit;


-- name: BookingSetStatus :exec
UPDATE bookings SET status = $2, updated_at = $3, version = version + 1 WHERE id = $1 AND status <> $2;

-- A new booking with its one job, and the idempotency key (if any) pointed at it: one statement
-- instead of three round trips. The job's insert may fail on jobs_no_overlap like JobInsert.
-- name: BookingInsertWithJob :one
WITH b AS (
    INSERT INTO bookings (customer_id, purchase_id, service_type, appliance, problem, address, lat, lng,
                          channel, return_kind, tier, status, sla_due_at, required_skills, duration_minutes,
                          preferred_windows, created_at, updated_at, region, customer_deferred)
    VALUES (@customer_id, @purchase_id, @service_type, @appliance, @problem, @address, @lat, @lng,
            @channel, @return_kind, @tier, @status, @sla_due_at, @required_skills, @duration_minutes,
            @preferred_windows, @created_at, @updated_at, @region, @customer_deferred)
    RETURNING id
), j AS (
    -- The job's place and length are given here: the fill trigger cannot see the booking this
    -- same statement inserts.
    INSERT INTO jobs (booking_id, visit, status, technician_id, planned_start, planned_end, pinned, offer_expires_at, created_at, updated_at,
                      lat, lng, duration_minutes)
    SELECT b.id, @visit::int, @job_status::text, sqlc.narg(technician_id)::bigint, sqlc.narg(planned_start)::timestamptz,
           sqlc.narg(planned_end)::timestamptz, @pinned::boolean, sqlc.narg(offer_expires_at)::timestamptz,
           @job_created_at::timestamptz, @job_updated_at::timestamptz, @lat, @lng, @duration_minutes
    FROM b
    RETURNING *
), k AS (
    UPDATE idempotency_keys SET booking_id = (SELECT id FROM b)
    WHERE subject = sqlc.narg(idempotency_subject)::text AND key = sqlc.narg(idempotency_key)::text
)
SELECT j.id, j.booking_id, j.visit, j.status, j.technician_id, j.planned_start, j.planned_end, j.pinned, j.offer_expires_at,
       j.accepted_at, j.en_route_at, j.on_site_at, j.finished_at, j.outcome, j.notes, j.parts_used, j.version,
       j.created_at, j.updated_at, j.pinned_start, j.lat, j.lng, j.duration_minutes
FROM j;
