-- name: CustomerBySubject :one
SELECT * FROM customers WHERE subject = $1;

-- The customer, created if new, in one round trip. No row when another transaction created it
-- after this statement began (its insert waited for that one, its read cannot see it): read again.
-- name: CustomerEnsure :one
WITH ins AS (
    INSERT INTO customers (subject) VALUES ($1)
    ON CONFLICT (subject) DO NOTHING
    RETURNING *
)
SELECT * FROM ins
UNION ALL
SELECT * FROM customers WHERE subject = $1
LIMIT 1;
