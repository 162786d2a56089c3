-- Parts (issue 25), stock: warehouses (with an address) and one van per technician; the moves
-- between them as an append-only ledger; each location's balance of each part kept by the
-- ledger's trigger in the move's transaction, where a CHECK makes negative stock impossible.

CREATE TABLE stock_locations (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('warehouse', 'van')),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address       text NOT NULL DEFAULT '',
    lat           double precision,
    lng           double precision,
    technician_id bigint UNIQUE REFERENCES technicians (id),  -- a van's technician: one van each
    created_at    timestamptz NOT NULL,
    CHECK ((kind = 'van') = (technician_id IS NOT NULL)),
    CHECK (kind = 'van' OR (address <> '' AND lat IS NOT NULL AND lng IS NOT NULL))
);

-- What a location holds of a part: on hand (the sum of its moves), reserved for jobs assigned to
-- its technician, and in transit to it (ordered, not arrived). Written only by the triggers below
-- and by reservations and part requests, in their transactions.
CREATE TABLE stock_balances (
    location_id     bigint  NOT NULL REFERENCES stock_locations (id),
    sku             text    NOT NULL REFERENCES parts (sku),
    on_hand         integer NOT NULL DEFAULT 0,
    reserved        integer NOT NULL DEFAULT 0,
    in_transit      integer NOT NULL DEFAULT 0,
    low_threshold   integer CHECK (low_threshold >= 0),   -- a dispatcher is told once when on_hand falls below it
    low_notified_at timestamptz,                          -- told; cleared when the stock is back at the threshold
    PRIMARY KEY (location_id, sku),
    CONSTRAINT stock_never_negative CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand AND in_transit >= 0)
);
CREATE INDEX stock_balances_sku ON stock_balances (sku) WHERE on_hand > 0;

-- The ledger: receive (into a location from a supplier), transfer (between locations), consume
-- (on a visit), return_defective (out of a location, back to the supplier).
CREATE TABLE stock_moves (
    id               bigserial PRIMARY KEY,
    kind             text    NOT NULL CHECK (kind IN ('receive', 'transfer', 'consume', 'return_defective')),
    sku              text    NOT NULL REFERENCES parts (sku),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    from_location    bigint REFERENCES stock_locations (id),
    to_location      bigint REFERENCES stock_locations (id),
    job_id           bigint REFERENCES jobs (id),
    serial           text CHECK (length(serial) BETWEEN 1 AND 100),
    unit_price_minor bigint,   -- consumed on a paid visit: the catalogue's price when used
    unit_cost_minor  bigint,   -- the catalogue's cost when moved
    note             text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    actor_sub        text NOT NULL,
    actor_role       text NOT NULL,
    at               timestamptz NOT NULL,
    CHECK (CASE kind WHEN 'receive'  THEN from_location IS NULL AND to_location IS NOT NULL
                     WHEN 'transfer' THEN from_location IS NOT NULL AND to_location IS NOT NULL AND from_location <> to_location
                     ELSE from_location IS NOT NULL AND to_location IS NULL END),
    CHECK (kind <> 'consume' OR job_id IS NOT NULL)
);
CREATE INDEX stock_moves_job ON stock_moves (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX stock_moves_location ON stock_moves (from_location, at);
CREATE INDEX stock_moves_to_location ON stock_moves (to_location, at);

-- Each move changes the balances of its locations in its own transaction; a move that would
-- take a location below zero (or below what is reserved there) fails stock_never_negative.
CREATE FUNCTION stock_move_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.from_location IS NOT NULL THEN
        UPDATE stock_balances SET on_hand = on_hand - NEW.quantity WHERE location_id = NEW.from_location AND sku = NEW.sku;
        IF NOT FOUND THEN -- nothing there: the row fails stock_never_negative as a short one would
            INSERT INTO stock_balances (location_id, sku, on_hand) VALUES (NEW.from_location, NEW.sku, -NEW.quantity);
        END IF;
    END IF;
    IF NEW.to_location IS NOT NULL THEN
        INSERT INTO stock_balances AS b (location_id, sku, on_hand) VALUES (NEW.to_location, NEW.sku, NEW.quantity)
        ON CONFLICT (location_id, sku) DO UPDATE SET on_hand = b.on_hand + NEW.quantity;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stock_moves_apply AFTER INSERT ON stock_moves FOR EACH ROW EXECUTE FUNCTION stock_move_apply();

-- The ledger is append-only: a wrong move is corrected by another move.
CREATE FUNCTION stock_moves_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stock moves are never changed or deleted: record a correcting move' USING ERRCODE = '55000';
END $$;
CREATE TRIGGER stock_moves_append_only BEFORE UPDATE OR DELETE ON stock_moves FOR EACH ROW EXECUTE FUNCTION stock_moves_immutable();
