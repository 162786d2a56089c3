-- Issue 29: a booking's one write (BookingPlace) fires a dozen row triggers; since the technician
-- sync (025) and the checklist (029) it also logged the same change twice. Each trigger below
-- now runs only when it has something to do, and the change log keeps one row per technician,
-- entity and transaction. Nothing a reader sees changes: the sync reads a transaction's changes
-- as a set (techsync's pull collapses repeats), and the skipped calls were ones that returned
-- without writing.

-- The job's place is given by every writer that knows it (BookingPlace does): fill it in only
-- when it is missing, instead of entering the function to find it is not.
DROP TRIGGER jobs_fill_place ON jobs;
CREATE TRIGGER jobs_fill_place BEFORE INSERT ON jobs FOR EACH ROW
    WHEN (NEW.lat IS NULL OR NEW.lng IS NULL OR NEW.duration_minutes IS NULL)
    EXECUTE FUNCTION jobs_fill_place();

-- bump_plan_versions moves plan_version itself, with every job written: the function's
-- "version unchanged" test was false for each of those updates.
DROP TRIGGER technicians_bump_plan_version ON technicians;
CREATE TRIGGER technicians_bump_plan_version BEFORE UPDATE ON technicians FOR EACH ROW
    WHEN (NEW.plan_version = OLD.plan_version)
    EXECUTE FUNCTION technicians_bump_plan_version();

-- A customer's notification (every booking's "received") is nothing a technician syncs.
DROP TRIGGER notifications_technician_changes ON notifications;
CREATE TRIGGER notifications_technician_changes AFTER INSERT ON notifications FOR EACH ROW
    WHEN (NEW.recipient_kind = 'technician')
    EXECUTE FUNCTION notifications_technician_changes();

-- One row per technician, job and transaction: a new booking inserted its job and its offer (two
-- rows saying "job J changed" for the same technician in the same transaction), and with a
-- checklist template a third. Each writer of a job's change first probes for the row (the cursor
-- index's (technician_id, txid) prefix: this transaction's few rows), written out in each
-- function rather than called: a call from PL/pgSQL is one more statement per row.
CREATE OR REPLACE FUNCTION jobs_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.technician_id IS NOT NULL THEN
        INSERT INTO technician_changes (technician_id, entity, entity_id)
        SELECT OLD.technician_id, 'job', OLD.id
        WHERE NOT EXISTS (SELECT FROM technician_changes c WHERE c.technician_id = OLD.technician_id
                          AND c.txid = pg_current_xact_id() AND c.entity = 'job' AND c.entity_id = OLD.id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.technician_id IS NOT NULL
        AND (TG_OP = 'INSERT' OR NEW.technician_id IS DISTINCT FROM OLD.technician_id) THEN
        INSERT INTO technician_changes (technician_id, entity, entity_id)
        SELECT NEW.technician_id, 'job', NEW.id
        WHERE NOT EXISTS (SELECT FROM technician_changes c WHERE c.technician_id = NEW.technician_id
                          AND c.txid = pg_current_xact_id() AND c.entity = 'job' AND c.entity_id = NEW.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION offers_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO technician_changes (technician_id, entity, entity_id)
    SELECT NEW.technician_id, 'job', NEW.job_id
    WHERE NOT EXISTS (SELECT FROM technician_changes c WHERE c.technician_id = NEW.technician_id
                      AND c.txid = pg_current_xact_id() AND c.entity = 'job' AND c.entity_id = NEW.job_id);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION bookings_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.service_type IS NOT DISTINCT FROM OLD.service_type AND NEW.appliance IS NOT DISTINCT FROM OLD.appliance
        AND NEW.problem IS NOT DISTINCT FROM OLD.problem AND NEW.address IS NOT DISTINCT FROM OLD.address
        AND NEW.lat IS NOT DISTINCT FROM OLD.lat AND NEW.lng IS NOT DISTINCT FROM OLD.lng
        AND NEW.tier IS NOT DISTINCT FROM OLD.tier AND NEW.sla_due_at IS NOT DISTINCT FROM OLD.sla_due_at
        AND NEW.status IS NOT DISTINCT FROM OLD.status AND NEW.contact_name IS NOT DISTINCT FROM OLD.contact_name
        AND NEW.contact_phone IS NOT DISTINCT FROM OLD.contact_phone
        AND NEW.warranty_verified IS NOT DISTINCT FROM OLD.warranty_verified THEN
        RETURN NULL; -- the watchdog's at-risk flag, versions: nothing the technician reads
    END IF;
    INSERT INTO technician_changes (technician_id, entity, entity_id)
    SELECT j.technician_id, 'job', j.id FROM jobs j
    WHERE j.booking_id = NEW.id AND j.technician_id IS NOT NULL
      AND j.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site')
      AND NOT EXISTS (SELECT FROM technician_changes c WHERE c.technician_id = j.technician_id
                      AND c.txid = pg_current_xact_id() AND c.entity = 'job' AND c.entity_id = j.id);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION visit_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO technician_changes (technician_id, entity, entity_id)
    SELECT j.technician_id, 'job', j.id FROM jobs j
    WHERE j.id = NEW.job_id AND j.technician_id IS NOT NULL
      AND NOT EXISTS (SELECT FROM technician_changes c WHERE c.technician_id = j.technician_id
                      AND c.txid = pg_current_xact_id() AND c.entity = 'job' AND c.entity_id = j.id);
    RETURN NULL;
END
$$;

-- The change log's time is read only by the daily prune (rows older than 30 days). Rows arrive in
-- time order, so a BRIN index finds them as well, and a booking's change rows no longer each
-- add an entry to a B-tree that only the prune reads.
DROP INDEX technician_changes_at;
CREATE INDEX technician_changes_at ON technician_changes USING brin (at) WITH (autosummarize = on);
