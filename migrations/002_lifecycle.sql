-- The dispatch lifecycle: offers, devices, the in-app inbox, and visit details.

-- A job planned for a technician but not yet offered (beyond the offer horizon) holds its time too.
ALTER TABLE jobs DROP CONSTRAINT jobs_no_overlap;
ALTER TABLE jobs ADD CONSTRAINT jobs_no_overlap EXCLUDE USING gist (
    technician_id WITH =,
    tstzrange(planned_start, planned_end) WITH &&
) WHERE (technician_id IS NOT NULL AND status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site'));

ALTER TABLE jobs ADD COLUMN pinned_start boolean NOT NULL DEFAULT false;
ALTER TABLE bookings ADD COLUMN at_risk boolean NOT NULL DEFAULT false;

CREATE TABLE offers (
    id            bigserial PRIMARY KEY,
    job_id        bigint      NOT NULL REFERENCES jobs (id),
    technician_id bigint      NOT NULL REFERENCES technicians (id),
    status        text        NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'expired', 'withdrawn')),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    responded_at  timestamptz,
    reason        text        NOT NULL DEFAULT ''
);
-- A job has at most one open offer.
CREATE UNIQUE INDEX offers_one_open ON offers (job_id) WHERE status = 'open';
CREATE INDEX offers_open_expiry ON offers (expires_at) WHERE status = 'open';
CREATE INDEX offers_job ON offers (job_id, technician_id);

CREATE TABLE devices (
    id              bigserial PRIMARY KEY,
    owner_kind      text        NOT NULL CHECK (owner_kind IN ('technician', 'customer', 'dispatcher')),
    owner_subject   text        NOT NULL,
    token           text        NOT NULL UNIQUE,
    platform        text        NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    app_version     text        NOT NULL DEFAULT '',
    active          boolean     NOT NULL DEFAULT true,
    disabled_reason text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL
);
CREATE INDEX devices_owner ON devices (owner_kind, owner_subject) WHERE active;

-- Every notification, pushed or not: the in-app inbox.
CREATE TABLE notifications (
    id                bigserial PRIMARY KEY,
    recipient_kind    text        NOT NULL,
    recipient_subject text        NOT NULL,
    kind              text        NOT NULL,
    job_id            bigint,
    booking_id        bigint,
    title             text        NOT NULL,
    body              text        NOT NULL,
    data              jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL
);
CREATE INDEX notifications_recipient ON notifications (recipient_kind, recipient_subject, id);

CREATE INDEX audit_events_at ON audit_events (at, id);
