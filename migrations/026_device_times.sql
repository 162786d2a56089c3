-- The technician app works offline (issue 24): a status reported late carries the time the phone
-- says it happened. When that time is plausible it is kept beside the server's (which stays in
-- en_route_at, on_site_at, finished_at: when the report reached us), and the SLA and the KPIs
-- read the device's arrival and finish first.
ALTER TABLE jobs ADD COLUMN en_route_device_at timestamptz,
                 ADD COLUMN on_site_device_at  timestamptz,
                 ADD COLUMN finished_device_at timestamptz;

-- Each offline action carries its own idempotency key: the first delivery claims the key
-- (pending), applies the action, then marks it done with its answer; a replay of a done key is
-- answered already_applied. A pending claim older than 30 s (the server died mid-action) may be
-- taken over; the action's own state check then tells whether it had been applied.
CREATE TABLE technician_sync_actions (
    technician_id bigint      NOT NULL REFERENCES technicians (id),
    key           text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    kind          text        NOT NULL,
    request_hash  text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('pending', 'done')),
    answer        jsonb,
    claimed_at    timestamptz NOT NULL,
    done_at       timestamptz,
    PRIMARY KEY (technician_id, key)
);
