-- Parts (issue 25): the catalogue, stock locations and their balances, the moves ledger, a job's
-- required and consumed parts, part requests.

-- The rows come as one JSON array (an import's thousands in one statement); inserted counts the new SKUs.
-- name: PartsUpsert :one
WITH up AS (
    INSERT INTO parts (sku, name, categories, models, unit_price_minor, cost_minor, serial_tracked, created_at, updated_at)
    SELECT r.sku, r.name, r.categories, r.models, r.unit_price_minor, r.cost_minor, r.serial_tracked, r.at, r.at
    FROM jsonb_to_recordset(sqlc.arg(parts)::jsonb)
        AS r(sku text, name text, categories text[], models text[], unit_price_minor bigint, cost_minor bigint,
             serial_tracked boolean, at timestamptz)
    ON CONFLICT (sku) DO UPDATE
    SET name = EXCLUDED.name, categories = EXCLUDED.categories, models = EXCLUDED.models,
        unit_price_minor = EXCLUDED.unit_price_minor, cost_minor = EXCLUDED.cost_minor,
        serial_tracked = EXCLUDED.serial_tracked, updated_at = EXCLUDED.updated_at
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted)::integer AS created FROM up;

-- name: PartsList :many
SELECT * FROM parts
WHERE (sqlc.arg(category)::text = '' OR categories @> ARRAY[sqlc.arg(category)::text])
  AND (sqlc.arg(model)::text = '' OR cardinality(models) = 0 OR sqlc.arg(model)::text = ANY(models))
  AND (sqlc.arg(query)::text = '' OR strpos(lower(sku || ' ' || name), lower(sqlc.arg(query)::text)) > 0)
  AND sku > sqlc.arg(after)::text
ORDER BY sku
LIMIT sqlc.arg(max_rows)::integer;

-- name: PartsBySKU :many
SELECT * FROM parts WHERE sku = ANY(sqlc.arg(skus)::text[]) ORDER BY sku;

-- name: PartFaultInsert :one
INSERT INTO part_faults (category, fault, sku, quantity, created_at) VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: PartFaultList :many
SELECT f.*, p.name FROM part_faults f JOIN parts p ON p.sku = f.sku
WHERE sqlc.arg(category)::text = '' OR f.category = sqlc.arg(category)::text
ORDER BY f.category, f.fault, f.sku;

-- name: PartFaultDelete :execrows
DELETE FROM part_faults WHERE id = $1;

-- The faults of an appliance that a problem mentions (ignoring case), and their parts.
-- name: PartFaultsFor :many
SELECT f.*, p.name FROM part_faults f JOIN parts p ON p.sku = f.sku
WHERE f.category = sqlc.arg(category)::text AND strpos(lower(sqlc.arg(problem)::text), lower(f.fault)) > 0
ORDER BY f.sku, f.fault;
