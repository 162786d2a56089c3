-- The push outbox: one row per (notification, device), written in the transaction of the change
-- that causes the notification, and delivered by the push worker. Attempts are kept per device.
CREATE TABLE push_deliveries (
    id              bigserial PRIMARY KEY,
    notification_id bigint      NOT NULL REFERENCES notifications (id),
    device_id       bigint      NOT NULL REFERENCES devices (id),
    token           text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'token_invalid', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    message_name    text        NOT NULL DEFAULT '',
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (notification_id, device_id)
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE push_attempts (
    id             bigserial PRIMARY KEY,
    delivery_id    bigint      NOT NULL REFERENCES push_deliveries (id),
    attempt        integer     NOT NULL,
    outcome        text        NOT NULL,
    code           text        NOT NULL DEFAULT '',
    http_status    integer     NOT NULL DEFAULT 0,
    retry_after_ms bigint      NOT NULL DEFAULT 0,
    at             timestamptz NOT NULL
);
CREATE INDEX push_attempts_delivery ON push_attempts (delivery_id);
