-- Parts (issue 25): part requests, and the return visits they hold back.

-- name: PartRequestInsert :one
INSERT INTO part_requests (booking_id, job_id, reported_on_job_id, sku, quantity, state, source, from_location, to_location,
                           expected_at, supplier_ref, created_by_sub, created_at, updated_at)
VALUES (sqlc.arg(booking_id), sqlc.arg(job_id), sqlc.narg(reported_on_job_id), sqlc.arg(sku), sqlc.arg(quantity), sqlc.arg(state),
        sqlc.arg(source), sqlc.narg(from_location), sqlc.arg(to_location), sqlc.arg(expected_at), sqlc.arg(supplier_ref),
        sqlc.arg(created_by_sub), sqlc.arg(created_at), sqlc.arg(created_at))
RETURNING *;

-- name: PartRequestGet :one
SELECT * FROM part_requests WHERE id = $1;

-- name: PartRequestLock :one
SELECT * FROM part_requests WHERE id = $1 FOR UPDATE;

-- name: PartRequestSave :one
UPDATE part_requests
SET state = sqlc.arg(state), to_location = sqlc.arg(to_location), expected_at = sqlc.arg(expected_at),
    arrived_at = sqlc.narg(arrived_at), supplier_ref = sqlc.arg(supplier_ref), updated_at = sqlc.arg(updated_at), version = version + 1
WHERE id = sqlc.arg(id) AND version = sqlc.arg(read_version)
RETURNING *;

-- name: PartRequestList :many
SELECT * FROM part_requests
WHERE (sqlc.arg(state)::text = '' OR state = sqlc.arg(state)::text)
  AND (sqlc.narg(booking_id)::bigint IS NULL OR booking_id = sqlc.narg(booking_id)::bigint)
  AND (sqlc.narg(job_id)::bigint IS NULL OR job_id = sqlc.narg(job_id)::bigint)
  AND (sqlc.narg(to_location)::bigint IS NULL OR to_location = sqlc.narg(to_location)::bigint)
  AND (sqlc.arg(before)::bigint = 0 OR id < sqlc.arg(before)::bigint)
ORDER BY id DESC
LIMIT sqlc.arg(max_rows)::integer;

-- The warehouse nearest to a place with the quantity of a part available (on hand less reserved).
-- name: NearestWarehouse :one
SELECT l.* FROM stock_locations l JOIN stock_balances b ON b.location_id = l.id
WHERE l.kind = 'warehouse' AND b.sku = sqlc.arg(sku) AND b.on_hand - b.reserved >= sqlc.arg(quantity)::integer
ORDER BY (l.lat - sqlc.arg(lat)::float8) ^ 2 + ((l.lng - sqlc.arg(lng)::float8) * cos(radians(sqlc.arg(lat)::float8))) ^ 2, l.id
LIMIT 1;

-- name: JobSetNotBefore :exec
UPDATE jobs SET not_before = sqlc.narg(not_before) WHERE id = sqlc.arg(id);

-- name: BookingSetSupplierDeferred :exec
UPDATE bookings SET supplier_deferred = sqlc.arg(supplier_deferred) WHERE id = sqlc.arg(id);
