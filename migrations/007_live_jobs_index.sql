-- Route reads (every booking's insertion) want a technician's live jobs in start order; without
-- this the planner sometimes chose the exclusion constraint's GiST index and filtered hundreds of
-- finished jobs away.
CREATE INDEX jobs_live_by_technician ON jobs (technician_id, planned_start)
    WHERE status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site');
