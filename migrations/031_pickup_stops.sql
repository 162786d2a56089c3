-- Parts (issue 25), a pick-up stop in the live route: when no van holds a job's parts but a
-- warehouse does, the planner sends a technician past that warehouse before the visit. The job
-- names the warehouse; its parts are reserved there (not in the van) until the technician picks
-- them up, which moves them to the van in one transaction (job_pick_up).

ALTER TABLE jobs
    ADD COLUMN pickup_location_id bigint REFERENCES stock_locations (id), -- the warehouse passed first
    ADD COLUMN picked_up_at timestamptz;                                   -- when the parts were collected

-- job_parts_reserve, as in 024, but a job with a pick-up not yet made holds its parts at the
-- warehouse. A location without them fails with SQLSTATE 40001 and the constraint
-- parts_reservation: the planner's read of the stock was overtaken, and it plans again.
CREATE OR REPLACE FUNCTION job_parts_reserve(job bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    j     jobs;
    place bigint;
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
    IF j.pickup_location_id IS NOT NULL AND j.picked_up_at IS NULL THEN
        place := j.pickup_location_id;
    ELSE
        INSERT INTO stock_locations (kind, name, technician_id, created_at)
        SELECT 'van', 'Van of ' || t.name, t.id, now() FROM technicians t WHERE t.id = j.technician_id
        ON CONFLICT (technician_id) DO NOTHING;
        SELECT id INTO place FROM stock_locations WHERE technician_id = j.technician_id;
    END IF;
    BEGIN
        INSERT INTO stock_reservations (job_id, location_id, sku, quantity)
        SELECT job, place, sku, quantity FROM job_parts WHERE job_id = job;
    EXCEPTION WHEN check_violation THEN
        RAISE EXCEPTION 'stock location % does not hold the parts job % requires', place, job
            USING ERRCODE = '40001', CONSTRAINT = 'parts_reservation';
    END;
END $$;

DROP TRIGGER jobs_parts_follow ON jobs;
CREATE TRIGGER jobs_parts_follow AFTER UPDATE OF technician_id, status, pickup_location_id ON jobs
    FOR EACH ROW WHEN (OLD.technician_id IS DISTINCT FROM NEW.technician_id OR OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.pickup_location_id IS DISTINCT FROM NEW.pickup_location_id)
    EXECUTE FUNCTION jobs_parts_follow();

-- job_pick_up: the technician collects job's parts at its warehouse. Its reservation there is
-- released, each part moves to the van (transfer, in the ledger), and the van holds them for the
-- job from then on, under way or not. Returns false when there was nothing to pick up.
CREATE FUNCTION job_pick_up(job bigint, actor_sub text, actor_role text, at timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    j   jobs;
    van bigint;
BEGIN
    SELECT * INTO j FROM jobs WHERE id = job FOR UPDATE;
    IF j.pickup_location_id IS NULL OR j.picked_up_at IS NOT NULL OR j.technician_id IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO stock_locations (kind, name, technician_id, created_at)
    SELECT 'van', 'Van of ' || t.name, t.id, at FROM technicians t WHERE t.id = j.technician_id
    ON CONFLICT (technician_id) DO NOTHING;
    SELECT id INTO van FROM stock_locations WHERE technician_id = j.technician_id;
    DELETE FROM stock_reservations WHERE job_id = job;
    INSERT INTO stock_moves (kind, sku, quantity, from_location, to_location, job_id, unit_cost_minor, note, actor_sub, actor_role, at)
    SELECT 'transfer', n.sku, n.quantity, j.pickup_location_id, van, job, p.cost_minor, 'picked up for the visit', actor_sub, actor_role, at
    FROM job_parts n JOIN parts p ON p.sku = n.sku WHERE n.job_id = job ORDER BY n.sku;
    UPDATE jobs SET picked_up_at = at WHERE id = job;
    INSERT INTO stock_reservations (job_id, location_id, sku, quantity)
    SELECT job, van, sku, quantity FROM job_parts WHERE job_id = job;
    RETURN true;
END $$;

-- A pick-up named, dropped or made changes the route (a stop appears or goes): the plan's version
-- moves, as for any other change of the plan (009).
CREATE OR REPLACE FUNCTION jobs_bump_plan_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.technician_id IS NOT DISTINCT FROM OLD.technician_id
        AND NEW.status = OLD.status AND NEW.planned_start IS NOT DISTINCT FROM OLD.planned_start
        AND NEW.planned_end IS NOT DISTINCT FROM OLD.planned_end AND NEW.pinned = OLD.pinned
        AND NEW.pinned_start = OLD.pinned_start AND NEW.lat = OLD.lat AND NEW.lng = OLD.lng
        AND NEW.duration_minutes = OLD.duration_minutes
        AND NEW.pickup_location_id IS NOT DISTINCT FROM OLD.pickup_location_id
        AND NEW.picked_up_at IS NOT DISTINCT FROM OLD.picked_up_at THEN
        RETURN NULL; -- notes, parts, timestamps: the plan is the same
    END IF;
    PERFORM bump_plan_versions(CASE WHEN TG_OP <> 'INSERT' THEN OLD.technician_id END,
                               CASE WHEN TG_OP <> 'DELETE' THEN NEW.technician_id END);
    RETURN NULL;
END
$$;
