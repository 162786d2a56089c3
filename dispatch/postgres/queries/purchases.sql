-- name: PurchaseInsert :one
INSERT INTO purchases (customer_id, category, brand, model, serial, purchased_at, delivered_at,
                       warranty_months, extended_warranty_until, verified)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: PurchaseVerify :exec
UPDATE purchases SET verified = true WHERE id = $1;

-- name: PurchaseGet :one
SELECT * FROM purchases WHERE id = $1;

-- name: PurchaseList :many
SELECT * FROM purchases
WHERE (sqlc.narg(customer_id)::bigint IS NULL OR customer_id = sqlc.narg(customer_id))
  AND (sqlc.arg(before)::bigint = 0 OR id < sqlc.arg(before))
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);
