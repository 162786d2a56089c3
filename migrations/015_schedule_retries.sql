-- A tick that fails is tried again (with backoff) until it runs or the next tick supersedes it,
-- by one replica at a time: a tick whose last try failed, or whose claim ran out (its replica
-- died mid-run: a run is cancelled when its claim ends, so none can still be going), may be
-- claimed again; one that ran never is. A tick no replica could run in time is recorded as
-- missed. Daily jobs run a tick missed while no replica was up late, when one starts.
ALTER TABLE schedule_runs ADD COLUMN status text NOT NULL DEFAULT 'ok'
    CHECK (status IN ('running', 'ok', 'failed', 'missed'));
ALTER TABLE schedule_runs ADD COLUMN attempts integer NOT NULL DEFAULT 1;
ALTER TABLE schedule_runs ADD COLUMN claimed_until timestamptz;
UPDATE schedule_runs SET status = CASE WHEN finished_at IS NULL THEN 'running' WHEN outcome = 'ok' THEN 'ok' ELSE 'failed' END;
ALTER TABLE schedule_runs ALTER COLUMN status SET DEFAULT 'running';
