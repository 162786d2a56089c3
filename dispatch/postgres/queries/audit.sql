-- A transaction's audit events are written together when it ends, in one statement, and
-- announced on fieldfix_events as JSON arrays of up to 20 events in id order, delivered only if
-- the transaction commits: the console's live feed follows the audit trail. One NOTIFY per
-- transaction instead of one per event: each is queued for and delivered to every listening
-- session, under PostgreSQL's global notify lock that the committing transaction holds.
-- name: AuditInsertAll :exec
WITH ins AS (
    INSERT INTO audit_events (at, actor_sub, actor_role, entity, entity_id, action, from_status, to_status, reason, data)
    SELECT (e.v->>'at')::timestamptz, e.v->>'actor_sub', e.v->>'actor_role', e.v->>'entity', (e.v->>'entity_id')::bigint,
           e.v->>'action', e.v->>'from_status', e.v->>'to_status', e.v->>'reason', e.v->'data'
    FROM jsonb_array_elements(@events::jsonb) WITH ORDINALITY AS e(v, n)
    ORDER BY e.n
    RETURNING id, at, entity, entity_id, action, from_status, to_status, data
), ev AS (
    SELECT ins.id, (row_number() OVER (ORDER BY ins.id) - 1) / 20 AS chunk, json_build_object(
        'id', ins.id, 'at', ins.at, 'entity', ins.entity, 'entity_id', ins.entity_id, 'action', ins.action,
        'from', ins.from_status, 'to', ins.to_status, 'booking_id', ins.data->'booking_id',
        'technician_id', ins.data->'technician_id') AS obj
    FROM ins
)
SELECT pg_notify('fieldfix_events:' || current_schema(), json_agg(ev.obj ORDER BY ev.id)::text)
FROM ev
GROUP BY ev.chunk
ORDER BY ev.chunk;
