-- One issue's schema (issue 21: every user's day, coherent).
--
-- Time off can be read back and withdrawn: each period remembers the jobs it moved off its
-- technician, so that withdrawing it plans those that can still move back.
ALTER TABLE technician_time_off ADD COLUMN moved_job_ids bigint[] NOT NULL DEFAULT '{}';

-- One spelling per idea: the live feed names a change's statuses as the audit does
-- (from_status, to_status), and carries the reason, where it had from and to.
CREATE OR REPLACE VIEW audit_feed AS
SELECT id, json_build_object(
        'id', id, 'at', at, 'entity', entity, 'entity_id', entity_id, 'action', action,
        'from_status', from_status, 'to_status', to_status, 'reason', reason, 'booking_id', data->'booking_id',
        'technician_id', data->'technician_id')::text AS event
FROM audit_events;
