-- Parts (issue 25): the common faults of each appliance category and the parts they usually need,
-- kept by the admin. A booking whose problem mentions a fault of its appliance suggests its parts
-- for the visit (GET /v1/jobs/{id}/parts); the dispatcher or the technician decides.

CREATE TABLE part_faults (
    id         bigserial PRIMARY KEY,
    category   text    NOT NULL,                                         -- the appliance (dispatch.Appliances)
    fault      text    NOT NULL CHECK (length(fault) BETWEEN 1 AND 200), -- words a problem mentions, any language, matched ignoring case
    sku        text    NOT NULL REFERENCES parts (sku),
    quantity   integer NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL,
    UNIQUE (category, fault, sku)
);
