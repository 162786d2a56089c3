-- name: AuditInsert :exec
INSERT INTO audit_events (at, actor_sub, actor_role, entity, entity_id, action, from_status, to_status, reason, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);
