-- The technician app (issue 24): one-time sign-in links, and pruning the sync's tables.
-- A dispatcher makes a link for a technician (POST /v1/technicians/{id}/signin-links) and sends
-- it by whatever reaches the phone (a text, a message); opening it signs the app in
-- (POST /v1/technician-signin), once. Only the code's SHA-256 is kept: the database never holds
-- a usable link. A new link for the technician revokes their earlier unused ones, so a link sent
-- to a lost phone dies with the next one.
CREATE TABLE technician_signin_links (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    technician_id bigint      NOT NULL REFERENCES technicians (id) ON DELETE CASCADE,
    code_sha256   text        NOT NULL UNIQUE,
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    revoked_at    timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX technician_signin_links_open ON technician_signin_links (technician_id)
    WHERE used_at IS NULL AND revoked_at IS NULL;

-- The sync's change log, action keys and spent sign-in links are pruned after 30 days (the
-- sync-prune schedule). A cursor below the newest transaction pruned may have lost rows: a pull
-- from it answers 410 cursor_expired, and the phone pulls its world afresh.
CREATE TABLE technician_sync_horizon (
    only_row     boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_below bigint      NOT NULL,
    pruned_at    timestamptz NOT NULL
);
CREATE INDEX technician_sync_actions_age ON technician_sync_actions (claimed_at);
