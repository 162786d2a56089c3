-- One spelling per idea (issue 21): the live feed names a change's statuses as the audit does
-- (from_status, to_status), and carries the reason, where it had from and to.
CREATE OR REPLACE VIEW audit_feed AS
SELECT id, json_build_object(
        'id', id, 'at', at, 'entity', entity, 'entity_id', entity_id, 'action', action,
        'from_status', from_status, 'to_status', to_status, 'reason', reason, 'booking_id', data->'booking_id',
        'technician_id', data->'technician_id')::text AS event
FROM audit_events;
