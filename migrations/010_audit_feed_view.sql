-- The live feed's shape of an audit event, in one place: the feed's two reads (past its cursor,
-- and the ids it skipped) select from this view. PostgreSQL inlines it, so each read is still an
-- index scan of audit_events by id, and builds the JSON only for the rows it returns.
CREATE VIEW audit_feed AS
SELECT id, json_build_object(
        'id', id, 'at', at, 'entity', entity, 'entity_id', entity_id, 'action', action,
        'from', from_status, 'to', to_status, 'booking_id', data->'booking_id',
        'technician_id', data->'technician_id')::text AS event
FROM audit_events;
