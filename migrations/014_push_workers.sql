-- Push leases belong to a worker, not to a clock. Each push worker registers a row here and
-- holds a session-level advisory lock on its lock_key for as long as it lives, on the connection
-- it beats on. A worker is gone when PostgreSQL has ended that session (the process died, its
-- connection was cut: the lock is free at once) or when it has not beaten for longer than the
-- lease (a host lost with its session still open); another worker then frees its leases. A dead
-- worker's pushes are taken over in seconds instead of after a fixed two-minute lease.
CREATE TABLE push_workers (
    id           bigserial   PRIMARY KEY,
    name         text        NOT NULL,          -- the replica (host-pid), for the operator
    lock_key     bigint      NOT NULL UNIQUE,   -- random: advisory locks are per database, schemas share them
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL           -- the database's clock, so replicas' clocks do not matter
);

-- A delivery being sent is leased by its worker; next_attempt_at is only ever when it is due.
ALTER TABLE push_deliveries ADD COLUMN leased_by bigint REFERENCES push_workers (id);
-- Attempts that never reached FCM (connection refused, dial timeout): they do not count
-- towards giving up, since the push was never refused.
ALTER TABLE push_deliveries ADD COLUMN unreachable integer NOT NULL DEFAULT 0;
DROP INDEX push_deliveries_due;
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE status = 'pending' AND leased_by IS NULL;
CREATE INDEX push_deliveries_leased ON push_deliveries (leased_by) WHERE leased_by IS NOT NULL;

-- Every attempt keeps its cause (FCM's message, or the network error when FCM never answered)
-- and when it began, so that a slow failure shows.
ALTER TABLE push_attempts ADD COLUMN error text NOT NULL DEFAULT '';
ALTER TABLE push_attempts ADD COLUMN started_at timestamptz;
