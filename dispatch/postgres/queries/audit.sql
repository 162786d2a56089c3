-- Every audited change is also announced on fieldfix_events, delivered only if the
-- transaction commits: the console's live feed follows the audit trail.
-- name: AuditInsert :exec
WITH ins AS (
    INSERT INTO audit_events (at, actor_sub, actor_role, entity, entity_id, action, from_status, to_status, reason, data)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    RETURNING id, at, entity, entity_id, action, from_status, to_status, data
)
SELECT pg_notify('fieldfix_events:' || current_schema(), json_build_object(
    'id', ins.id, 'at', ins.at, 'entity', ins.entity, 'entity_id', ins.entity_id, 'action', ins.action,
    'from', ins.from_status, 'to', ins.to_status, 'booking_id', ins.data->'booking_id',
    'technician_id', ins.data->'technician_id')::text)
FROM ins;
