-- Time off can be read back and withdrawn (issue 21): each period remembers the jobs it moved off
-- its technician, so that withdrawing it plans those that can still move back.
ALTER TABLE technician_time_off ADD COLUMN moved_job_ids bigint[] NOT NULL DEFAULT '{}';
