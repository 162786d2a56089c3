-- Enqueue a notification for every active device of its recipient (the outbox write).
-- name: PushEnqueue :execrows
INSERT INTO push_deliveries (notification_id, device_id, token, status, next_attempt_at, created_at, updated_at)
SELECT n.id, d.id, d.token, 'pending', sqlc.arg(now_time)::timestamptz, sqlc.arg(now_time)::timestamptz, sqlc.arg(now_time)::timestamptz
FROM notifications n
JOIN devices d ON d.owner_kind = n.recipient_kind AND d.owner_subject = n.recipient_subject AND d.active
WHERE n.id = sqlc.arg(notification_id)::bigint
ON CONFLICT (notification_id, device_id) DO NOTHING;

-- Lease due deliveries to a worker: others skip them until it settles or releases each, or
-- is gone (PushWorkersGone), when its leases are freed.
-- name: PushClaim :many
UPDATE push_deliveries p SET leased_by = sqlc.arg(worker)::bigint, updated_at = sqlc.arg(now_time)::timestamptz
WHERE p.id IN (
    SELECT id FROM push_deliveries
    WHERE status = 'pending' AND leased_by IS NULL AND next_attempt_at <= sqlc.arg(now_time)::timestamptz
    ORDER BY next_attempt_at, id
    LIMIT sqlc.arg(max_rows)
    FOR UPDATE SKIP LOCKED)
RETURNING p.id, p.notification_id, p.device_id, p.token, p.attempts, p.unreachable;

-- name: PushNotifications :many
SELECT * FROM notifications WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- Settle one attempt. The lease is let go only by the worker that holds it: a worker that was
-- taken for gone and settles late must not free a lease another worker took since.
-- name: PushSettle :exec
UPDATE push_deliveries
SET status = sqlc.arg(status), attempts = attempts + 1,
    unreachable = unreachable + CASE WHEN sqlc.arg(was_unreachable)::boolean THEN 1 ELSE 0 END,
    next_attempt_at = sqlc.arg(next_attempt_at), message_name = sqlc.arg(message_name), last_error = sqlc.arg(last_error),
    updated_at = sqlc.arg(updated_at),
    leased_by = CASE WHEN leased_by = sqlc.arg(worker)::bigint THEN NULL ELSE leased_by END
WHERE id = sqlc.arg(id);

-- name: PushAttemptInsert :exec
INSERT INTO push_attempts (delivery_id, attempt, outcome, code, http_status, retry_after_ms, error, started_at, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- Give leased deliveries back unsent (FCM went away before their turn): due as they were.
-- name: PushRelease :exec
UPDATE push_deliveries SET leased_by = NULL
WHERE id = ANY(sqlc.arg(ids)::bigint[]) AND leased_by = sqlc.arg(worker)::bigint;

-- name: PushWorkerJoin :one
INSERT INTO push_workers (name, lock_key, started_at, heartbeat_at)
VALUES ($1, $2, clock_timestamp(), clock_timestamp())
RETURNING id;

-- name: PushWorkerBeat :execrows
UPDATE push_workers SET heartbeat_at = clock_timestamp() WHERE id = $1;

-- Workers that are gone: PostgreSQL ended the session that holds their lock (the transaction
-- lock is then free to take: it is released when the reaping transaction ends), or they have not
-- beaten for longer than silent_ms (their host is lost but its session still looks open).
-- name: PushWorkersGone :many
SELECT w.id, w.name FROM push_workers w
WHERE w.id <> sqlc.arg(self)::bigint
  AND (w.heartbeat_at < clock_timestamp() - sqlc.arg(silent_ms)::bigint * interval '1 millisecond'
       OR pg_try_advisory_xact_lock(w.lock_key))
FOR UPDATE OF w SKIP LOCKED;

-- name: PushLeasesFree :execrows
UPDATE push_deliveries SET leased_by = NULL WHERE leased_by = ANY(sqlc.arg(workers)::bigint[]);

-- name: PushWorkersDelete :exec
DELETE FROM push_workers WHERE id = ANY(sqlc.arg(workers)::bigint[]);

-- name: DeviceDisable :exec
UPDATE devices SET active = false, disabled_reason = $2 WHERE id = $1;

-- name: PushPendingCount :one
SELECT count(*) FROM push_deliveries WHERE status = 'pending';
