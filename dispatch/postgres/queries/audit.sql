-- A transaction's audit events are written together when it ends, in one statement. The live
-- feed polls them (AuditFeed): a NOTIFY here would take PostgreSQL's global notify lock at every
-- commit and hold it through the WAL flush, one committing transaction at a time.
-- name: AuditInsertAll :exec
INSERT INTO audit_events (at, actor_sub, actor_role, entity, entity_id, action, from_status, to_status, reason, data)
SELECT (e.v->>'at')::timestamptz, e.v->>'actor_sub', e.v->>'actor_role', e.v->>'entity', (e.v->>'entity_id')::bigint,
       e.v->>'action', e.v->>'from_status', e.v->>'to_status', e.v->>'reason', e.v->'data'
FROM jsonb_array_elements(@events::jsonb) WITH ORDINALITY AS e(v, n)
ORDER BY e.n;

-- The live feed's poll: events after the cursor, as the feed's JSON objects (the view).
-- name: AuditFeed :many
SELECT id, event FROM audit_feed
WHERE id > sqlc.arg(after)::bigint
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- The ids the feed skipped (holes: a transaction that took an id earlier may commit later).
-- name: AuditFeedIDs :many
SELECT id, event FROM audit_feed
WHERE id = ANY(sqlc.arg(ids)::bigint[])
ORDER BY id;

-- name: AuditLastID :one
SELECT coalesce(max(id), 0)::bigint FROM audit_events;
