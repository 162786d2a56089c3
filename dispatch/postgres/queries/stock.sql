-- Parts (issue 25), stock: locations, the moves ledger and the balances it sums to.

-- name: WarehouseInsert :one
INSERT INTO stock_locations (kind, name, address, lat, lng, created_at)
VALUES ('warehouse', sqlc.arg(name), sqlc.arg(address), sqlc.arg(lat), sqlc.arg(lng), sqlc.arg(created_at))
RETURNING *;

-- A technician's van, made the first time it is needed (a concurrent first use finds it made).
-- name: VanEnsure :one
WITH made AS (
    INSERT INTO stock_locations (kind, name, technician_id, created_at)
    SELECT 'van', 'Van of ' || t.name, t.id, sqlc.arg(created_at) FROM technicians t WHERE t.id = sqlc.arg(technician_id)
    ON CONFLICT (technician_id) DO NOTHING
    RETURNING *
)
SELECT * FROM made
UNION ALL
SELECT * FROM stock_locations WHERE technician_id = sqlc.arg(technician_id)
LIMIT 1;

-- name: StockLocationGet :one
SELECT * FROM stock_locations WHERE id = $1;

-- name: StockLocationList :many
SELECT * FROM stock_locations ORDER BY kind DESC, id;

-- name: StockMoveInsert :one
INSERT INTO stock_moves (kind, sku, quantity, from_location, to_location, job_id, serial, unit_price_minor, unit_cost_minor,
                         note, actor_sub, actor_role, at)
VALUES (sqlc.arg(kind), sqlc.arg(sku), sqlc.arg(quantity), sqlc.narg(from_location), sqlc.narg(to_location), sqlc.narg(job_id),
        sqlc.narg(serial), sqlc.narg(unit_price_minor), sqlc.narg(unit_cost_minor), sqlc.arg(note), sqlc.arg(actor_sub),
        sqlc.arg(actor_role), sqlc.arg(at))
RETURNING *;

-- name: StockBalances :many
SELECT b.*, p.name FROM stock_balances b JOIN parts p ON p.sku = b.sku
WHERE (sqlc.narg(location_id)::bigint IS NULL OR b.location_id = sqlc.narg(location_id)::bigint)
  AND (sqlc.arg(sku)::text = '' OR b.sku = sqlc.arg(sku)::text)
ORDER BY b.location_id, b.sku;

-- name: StockMovesOfJob :many
SELECT * FROM stock_moves WHERE job_id = $1 ORDER BY id;

-- Of the technicians, those whose van holds every part the job requires beyond what other jobs
-- reserved there (what the job holds there already counts as its own).
-- name: VansHolding :one
SELECT EXISTS (SELECT 1 FROM job_parts WHERE job_id = sqlc.arg(job_id)::bigint) AS needs,
       ARRAY(
           SELECT t.id FROM unnest(sqlc.arg(technician_ids)::bigint[]) AS t(id)
           WHERE NOT EXISTS (
               SELECT 1 FROM job_parts n
               LEFT JOIN stock_locations l ON l.technician_id = t.id
               LEFT JOIN stock_balances b ON b.location_id = l.id AND b.sku = n.sku
               LEFT JOIN stock_reservations r ON r.job_id = n.job_id AND r.location_id = l.id AND r.sku = n.sku
               WHERE n.job_id = sqlc.arg(job_id)::bigint
                 AND COALESCE(b.on_hand - b.reserved, 0) + COALESCE(r.quantity, 0) < n.quantity)
       )::bigint[] AS holders;

-- Warehouses holding every part job job_id requires beyond what other jobs reserved there (what
-- the job itself holds there counts as its own), with their points: where a pick-up can be made.
-- name: WarehousesHolding :many
SELECT l.id, l.name, l.lat::float8 AS lat, l.lng::float8 AS lng
FROM stock_locations l
WHERE l.kind = 'warehouse' AND EXISTS (SELECT 1 FROM job_parts WHERE job_id = sqlc.arg(job_id)::bigint)
  AND NOT EXISTS (
      SELECT 1 FROM job_parts n
      LEFT JOIN stock_balances b ON b.location_id = l.id AND b.sku = n.sku
      LEFT JOIN stock_reservations r ON r.job_id = n.job_id AND r.location_id = l.id AND r.sku = n.sku
      WHERE n.job_id = sqlc.arg(job_id)::bigint
        AND COALESCE(b.on_hand - b.reserved, 0) + COALESCE(r.quantity, 0) < n.quantity)
ORDER BY l.id;

-- The warehouse a job's technician passes first (NULL: none); the trigger moves its reservation.
-- name: JobSetPickup :exec
UPDATE jobs SET pickup_location_id = sqlc.narg(location_id), picked_up_at = NULL WHERE id = sqlc.arg(job_id);

-- name: JobPickUp :one
SELECT job_pick_up(sqlc.arg(job_id)::bigint, sqlc.arg(actor_sub)::text, sqlc.arg(actor_role)::text, sqlc.arg(at)::timestamptz)::boolean AS picked;

-- name: StockLocationsByIDs :many
SELECT id, name, address, lat::float8 AS lat, lng::float8 AS lng FROM stock_locations WHERE id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY id;

-- name: JobPartsDelete :exec
DELETE FROM job_parts WHERE job_id = $1;

-- name: JobPartsInsert :exec
INSERT INTO job_parts (job_id, sku, quantity)
SELECT sqlc.arg(job_id)::bigint, r.sku, r.quantity
FROM jsonb_to_recordset(sqlc.arg(parts)::jsonb) AS r(sku text, quantity integer);

-- name: JobPartsOf :many
SELECT n.sku, p.name, n.quantity, r.location_id AS reserved_at
FROM job_parts n JOIN parts p ON p.sku = n.sku
LEFT JOIN stock_reservations r ON r.job_id = n.job_id AND r.sku = n.sku
WHERE n.job_id = $1 ORDER BY n.sku;

-- name: JobPartsReserve :exec
SELECT job_parts_reserve(sqlc.arg(job_id)::bigint);

-- name: JobPartsRelease :exec
DELETE FROM stock_reservations WHERE job_id = $1;

-- A location's low-stock threshold of a part (NULL: none); the balance row is made when missing.
-- A new threshold is told afresh: low_notified_at is cleared.
-- name: StockThresholdSet :one
INSERT INTO stock_balances AS b (location_id, sku, low_threshold) VALUES (sqlc.arg(location_id), sqlc.arg(sku), sqlc.narg(low_threshold))
ON CONFLICT (location_id, sku) DO UPDATE SET low_threshold = EXCLUDED.low_threshold, low_notified_at = NULL
RETURNING b.*;

-- The balance of a part at a location went below its threshold and nobody was told yet: marked
-- told, in one statement, so of two moves racing under the threshold one tells. A balance back
-- at or above its threshold is cleared to be told again next time (no row returned).
-- name: StockLowMark :one
WITH cleared AS (
    UPDATE stock_balances SET low_notified_at = NULL
    WHERE location_id = sqlc.arg(location_id) AND sku = sqlc.arg(sku) AND low_notified_at IS NOT NULL
      AND (low_threshold IS NULL OR on_hand >= low_threshold)
)
UPDATE stock_balances b SET low_notified_at = sqlc.arg(at)
FROM parts p, stock_locations l
WHERE b.location_id = sqlc.arg(location_id) AND b.sku = sqlc.arg(sku) AND p.sku = b.sku AND l.id = b.location_id
  AND b.low_threshold IS NOT NULL AND b.on_hand < b.low_threshold AND b.low_notified_at IS NULL
RETURNING b.on_hand, b.low_threshold::integer AS low_threshold, p.name AS part_name, l.name AS location_name;
