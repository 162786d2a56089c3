-- Parts (issue 25), the catalogue: every spare part by SKU, with the appliance categories and
-- models it fits, its unit price (what a paid repair charges) and cost (what a warranty claim
-- asks), and whether each unit carries a serial number that a visit must report.
CREATE TABLE parts (
    sku              text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    name             text    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    categories       text[]  NOT NULL DEFAULT '{}',
    models           text[]  NOT NULL DEFAULT '{}',
    unit_price_minor bigint  NOT NULL CHECK (unit_price_minor BETWEEN 0 AND 100000000000),
    cost_minor       bigint CHECK (cost_minor BETWEEN 0 AND 100000000000),
    serial_tracked   boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- The parts that fit a category (a booking's appliance), for the technician's and dispatcher's pick.
CREATE INDEX parts_categories ON parts USING gin (categories);
