-- name: CustomerBySubject :one
SELECT * FROM customers WHERE subject = $1;

-- name: CustomerInsert :one
INSERT INTO customers (subject) VALUES ($1)
ON CONFLICT (subject) DO NOTHING
RETURNING *;
