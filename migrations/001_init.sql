-- FieldFix schema: customers and their purchases, technicians, bookings, jobs, audit.
-- Extensions live in public so that per-schema test databases share them.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

CREATE TABLE customers (
    id         bigserial PRIMARY KEY,
    subject    text        NOT NULL UNIQUE,
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE purchases (
    id                      bigserial PRIMARY KEY,
    customer_id             bigint      NOT NULL REFERENCES customers (id),
    category                text        NOT NULL,
    brand                   text        NOT NULL DEFAULT '',
    model                   text        NOT NULL DEFAULT '',
    serial                  text        NOT NULL DEFAULT '',
    purchased_at            date        NOT NULL,
    delivered_at            date,
    warranty_months         integer     NOT NULL CHECK (warranty_months BETWEEN 0 AND 240),
    extended_warranty_until date,
    created_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (delivered_at IS NULL OR delivered_at >= purchased_at)
);
CREATE INDEX purchases_customer_idx ON purchases (customer_id);

CREATE TABLE technicians (
    id            bigserial PRIMARY KEY,
    subject       text UNIQUE,
    name          text             NOT NULL,
    skills        text[]           NOT NULL,
    home_lat      double precision NOT NULL,
    home_lng      double precision NOT NULL,
    time_zone     text             NOT NULL,
    weekly_shifts jsonb            NOT NULL DEFAULT '[]',
    service_area  text[]           NOT NULL DEFAULT '{}',
    active        boolean          NOT NULL DEFAULT true,
    last_lat      double precision,
    last_lng      double precision,
    last_seen_at  timestamptz,
    version       integer          NOT NULL DEFAULT 1,
    created_at    timestamptz      NOT NULL DEFAULT now(),
    updated_at    timestamptz      NOT NULL DEFAULT now()
);

CREATE TABLE technician_time_off (
    id            bigserial PRIMARY KEY,
    technician_id bigint      NOT NULL REFERENCES technicians (id),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    reason        text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX technician_time_off_tech_idx ON technician_time_off (technician_id, starts_at);

CREATE TABLE bookings (
    id                bigserial PRIMARY KEY,
    customer_id       bigint           NOT NULL REFERENCES customers (id),
    purchase_id       bigint REFERENCES purchases (id),
    service_type      text             NOT NULL,
    appliance         text             NOT NULL,
    problem           text             NOT NULL,
    address           text             NOT NULL,
    lat               double precision NOT NULL,
    lng               double precision NOT NULL,
    channel           text             NOT NULL,
    return_kind       text             NOT NULL DEFAULT '',
    tier              text             NOT NULL CHECK (tier IN ('warranty', 'paid')),
    status            text             NOT NULL,
    sla_due_at        timestamptz      NOT NULL,
    required_skills   text[]           NOT NULL,
    duration_minutes  integer          NOT NULL CHECK (duration_minutes > 0),
    preferred_windows jsonb            NOT NULL DEFAULT '[]',
    cancel_reason     text             NOT NULL DEFAULT '',
    version           integer          NOT NULL DEFAULT 1,
    created_at        timestamptz      NOT NULL,
    updated_at        timestamptz      NOT NULL
);
CREATE INDEX bookings_customer_idx ON bookings (customer_id, id);
CREATE INDEX bookings_status_idx ON bookings (status, id);

CREATE TABLE jobs (
    id               bigserial PRIMARY KEY,
    booking_id       bigint      NOT NULL REFERENCES bookings (id),
    visit            integer     NOT NULL DEFAULT 1,
    status           text        NOT NULL,
    technician_id    bigint REFERENCES technicians (id),
    planned_start    timestamptz,
    planned_end      timestamptz,
    pinned           boolean     NOT NULL DEFAULT false,
    offer_expires_at timestamptz,
    accepted_at      timestamptz,
    en_route_at      timestamptz,
    on_site_at       timestamptz,
    finished_at      timestamptz,
    outcome          text        NOT NULL DEFAULT '',
    notes            text        NOT NULL DEFAULT '',
    parts_used       jsonb       NOT NULL DEFAULT '[]',
    version          integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (booking_id, visit),
    CHECK (planned_end IS NULL OR planned_end > planned_start),
    -- No double booking: a technician's live jobs never overlap in time.
    CONSTRAINT jobs_no_overlap EXCLUDE USING gist (
        technician_id WITH =,
        tstzrange(planned_start, planned_end) WITH &&
    ) WHERE (technician_id IS NOT NULL AND status IN ('offered', 'accepted', 'en_route', 'on_site'))
);
CREATE INDEX jobs_technician_idx ON jobs (technician_id, planned_start);
CREATE INDEX jobs_status_idx ON jobs (status);

CREATE TABLE idempotency_keys (
    subject      text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    booking_id   bigint REFERENCES bookings (id), -- set once the booking is written; the key is claimed first
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, key)
);

CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_sub   text        NOT NULL,
    actor_role  text        NOT NULL,
    entity      text        NOT NULL,
    entity_id   bigint      NOT NULL,
    action      text        NOT NULL,
    from_status text        NOT NULL DEFAULT '',
    to_status   text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    data        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_entity_idx ON audit_events (entity, entity_id, id);
