-- Enqueue a notification for every active device of its recipient (the outbox write).
-- name: PushEnqueue :execrows
INSERT INTO push_deliveries (notification_id, device_id, token, status, next_attempt_at, created_at, updated_at)
SELECT n.id, d.id, d.token, 'pending', sqlc.arg(now_time)::timestamptz, sqlc.arg(now_time)::timestamptz, sqlc.arg(now_time)::timestamptz
FROM notifications n
JOIN devices d ON d.owner_kind = n.recipient_kind AND d.owner_subject = n.recipient_subject AND d.active
WHERE n.id = sqlc.arg(notification_id)::bigint
ON CONFLICT (notification_id, device_id) DO NOTHING;

-- Claim due deliveries for a lease: another worker skips them, and a worker that dies lets
-- the lease run out so they are tried again.
-- name: PushClaim :many
UPDATE push_deliveries p SET next_attempt_at = sqlc.arg(lease_until)::timestamptz, updated_at = sqlc.arg(now_time)::timestamptz
WHERE p.id IN (
    SELECT id FROM push_deliveries
    WHERE status = 'pending' AND next_attempt_at <= sqlc.arg(now_time)::timestamptz
    ORDER BY next_attempt_at, id
    LIMIT sqlc.arg(max_rows)
    FOR UPDATE SKIP LOCKED)
RETURNING p.id, p.notification_id, p.device_id, p.token, p.attempts;

-- name: PushNotifications :many
SELECT * FROM notifications WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- name: PushSettle :exec
UPDATE push_deliveries
SET status = $2, attempts = attempts + 1, next_attempt_at = $3, message_name = $4, last_error = $5, updated_at = $6
WHERE id = $1;

-- name: PushAttemptInsert :exec
INSERT INTO push_attempts (delivery_id, attempt, outcome, code, http_status, retry_after_ms, at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: DeviceDisable :exec
UPDATE devices SET active = false, disabled_reason = $2 WHERE id = $1;

-- name: PushPendingCount :one
SELECT count(*) FROM push_deliveries WHERE status = 'pending';
