-- After-sales: extended warranties, regions for reporting, feedback, complaints.
ALTER TABLE purchases ADD COLUMN extended_warranty_from date;
ALTER TABLE bookings ADD COLUMN region text NOT NULL DEFAULT '';
CREATE INDEX bookings_created_idx ON bookings (created_at);

-- Feedback is given once per booking: the primary key says so.
CREATE TABLE feedback (
    booking_id  bigint PRIMARY KEY REFERENCES bookings (id),
    customer_id bigint      NOT NULL REFERENCES customers (id),
    csat        integer     NOT NULL CHECK (csat BETWEEN 1 AND 5),
    nps         integer     NOT NULL CHECK (nps BETWEEN 0 AND 10),
    comment     text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE TABLE complaints (
    id              bigserial PRIMARY KEY,
    booking_id      bigint      NOT NULL REFERENCES bookings (id),
    customer_id     bigint      NOT NULL REFERENCES customers (id),
    technician_id   bigint REFERENCES technicians (id),
    category        text        NOT NULL,
    description     text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    resolution      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    version         integer     NOT NULL DEFAULT 1
);
CREATE INDEX complaints_booking_idx ON complaints (booking_id);
CREATE INDEX complaints_open_idx ON complaints (created_at) WHERE status = 'open';
