-- Parts (issue 25), a visit's parts: the parts a job requires (set by a dispatcher or the
-- technician), reserved in the van of the technician it is assigned to in the assignment's
-- transaction and released when it leaves them; the part requests an incomplete visit opens, and
-- the return visit they hold back until the part arrives.

CREATE TABLE job_parts (
    job_id   bigint  NOT NULL REFERENCES jobs (id),
    sku      text    NOT NULL REFERENCES parts (sku),
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    PRIMARY KEY (job_id, sku)
);

-- What a job holds of its technician's van; the balances' reserved is their sum (triggers).
CREATE TABLE stock_reservations (
    job_id      bigint  NOT NULL REFERENCES jobs (id),
    location_id bigint  NOT NULL REFERENCES stock_locations (id),
    sku         text    NOT NULL REFERENCES parts (sku),
    quantity    integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (job_id, sku)
);
CREATE INDEX stock_reservations_location ON stock_reservations (location_id, sku);

CREATE FUNCTION stock_reservation_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE stock_balances SET reserved = reserved - OLD.quantity WHERE location_id = OLD.location_id AND sku = OLD.sku;
        RETURN OLD;
    END IF;
    UPDATE stock_balances SET reserved = reserved + NEW.quantity WHERE location_id = NEW.location_id AND sku = NEW.sku;
    IF NOT FOUND THEN -- the van never held the part: fails stock_never_negative (reserved above on hand)
        INSERT INTO stock_balances (location_id, sku, reserved) VALUES (NEW.location_id, NEW.sku, NEW.quantity);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stock_reservations_apply AFTER INSERT OR DELETE ON stock_reservations
    FOR EACH ROW EXECUTE FUNCTION stock_reservation_apply();

-- job_parts_reserve moves job's reservations to where the job now is: released from wherever they
-- were, and taken in its technician's van (made when missing) while it is assigned and not
-- started; a visit under way (en route, on site) keeps what it holds until it ends. A van without
-- them fails with SQLSTATE 40001 and the constraint parts_reservation: the planner's read of the
-- stock was overtaken (another job took the last unit), and the assignment is planned again.
CREATE FUNCTION job_parts_reserve(job bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    j   jobs;
    van bigint;
BEGIN
    SELECT * INTO j FROM jobs WHERE id = job;
    IF j.status IN ('en_route', 'on_site') THEN
        RETURN;
    END IF;
    DELETE FROM stock_reservations WHERE job_id = job;
    IF j.technician_id IS NULL OR j.status NOT IN ('unassigned', 'offered', 'accepted')
       OR NOT EXISTS (SELECT 1 FROM job_parts WHERE job_id = job) THEN
        RETURN;
    END IF;
    INSERT INTO stock_locations (kind, name, technician_id, created_at)
    SELECT 'van', 'Van of ' || t.name, t.id, now() FROM technicians t WHERE t.id = j.technician_id
    ON CONFLICT (technician_id) DO NOTHING;
    SELECT id INTO van FROM stock_locations WHERE technician_id = j.technician_id;
    BEGIN
        INSERT INTO stock_reservations (job_id, location_id, sku, quantity)
        SELECT job, van, sku, quantity FROM job_parts WHERE job_id = job;
    EXCEPTION WHEN check_violation THEN
        RAISE EXCEPTION 'the van of technician % does not hold the parts job % requires', j.technician_id, job
            USING ERRCODE = '40001', CONSTRAINT = 'parts_reservation';
    END;
END $$;

-- Every change of a job's technician or status (assignment, re-dispatch, optimisation, override,
-- completion) moves its reservations in the same transaction.
CREATE FUNCTION jobs_parts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM job_parts WHERE job_id = NEW.id) OR EXISTS (SELECT 1 FROM stock_reservations WHERE job_id = NEW.id) THEN
        PERFORM job_parts_reserve(NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_parts_follow AFTER UPDATE OF technician_id, status ON jobs
    FOR EACH ROW WHEN (OLD.technician_id IS DISTINCT FROM NEW.technician_id OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION jobs_parts_follow();

-- A return visit is not planned before its part arrives.
ALTER TABLE jobs ADD COLUMN not_before timestamptz;
-- The return visit could not be kept inside the SLA because the part came late (KPIs count it apart).
ALTER TABLE bookings ADD COLUMN supplier_deferred boolean NOT NULL DEFAULT false;

-- A part an incomplete visit needs: from a warehouse, or ordered from the supplier, on its way to
-- the van of the technician of the return visit.
CREATE TABLE part_requests (
    id               bigserial PRIMARY KEY,
    booking_id       bigint  NOT NULL REFERENCES bookings (id),
    job_id           bigint  NOT NULL REFERENCES jobs (id),      -- the visit that will fit it (an incomplete visit's return visit)
    reported_on_job_id bigint REFERENCES jobs (id),              -- the incomplete visit that found it missing
    sku              text    NOT NULL REFERENCES parts (sku),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    state            text    NOT NULL CHECK (state IN ('requested', 'ordered', 'arrived', 'fitted', 'cancelled')),
    source           text    NOT NULL CHECK (source IN ('warehouse', 'supplier')),
    from_location    bigint REFERENCES stock_locations (id),    -- the warehouse it comes from
    to_location      bigint  NOT NULL REFERENCES stock_locations (id), -- where it arrives (a van)
    expected_at      timestamptz NOT NULL,
    arrived_at       timestamptz,
    supplier_ref     text NOT NULL DEFAULT '' CHECK (length(supplier_ref) <= 200),
    created_by_sub   text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          integer NOT NULL DEFAULT 1,
    CHECK ((source = 'warehouse') = (from_location IS NOT NULL))
);
CREATE INDEX part_requests_open ON part_requests (state, expected_at) WHERE state IN ('requested', 'ordered');
CREATE INDEX part_requests_booking ON part_requests (booking_id);
CREATE INDEX part_requests_job ON part_requests (job_id);
