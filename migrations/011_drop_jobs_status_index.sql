-- jobs_status_idx (status alone) is the index a stale planner picks for "this technician's live
-- jobs": statistics taken while the live statuses were rare (a fresh database, a bulk load, or
-- autovacuum off or behind) say one row matches, and the route read then walked every live job
-- of every technician, filtering on technician_id: 1.6 s instead of 17 ms for ten routes with
-- 63,000 live jobs, until bookings queued for minutes (docs/benchmarks.md, "Long runs").
-- A status is too coarse to be worth an index of its own: the per-technician reads have
-- jobs_live_by_technician, the scans of all live jobs (watchdog, re-optimisation) its partial
-- predicate too, and the lifecycle's look for planned jobs entering the offer horizon gets the
-- narrow index below. One index fewer also lightens every job write.
DROP INDEX IF EXISTS jobs_status_idx;
CREATE INDEX jobs_to_offer ON jobs (planned_start) WHERE status = 'unassigned' AND technician_id IS NOT NULL;
