-- The technician app's sync (issue 24): every change to a technician's world (their jobs and
-- offers, the bookings behind them, a visit's checklist and photos, their notifications and time
-- off) adds a row here, by trigger, in the transaction that makes the change, whoever makes it.
-- GET /v1/technicians/me/sync reads the rows of transactions that ended between two watermarks
-- (pg_snapshot_xmin): a transaction id below the watermark has committed or aborted, so nothing
-- can still appear below it, and each row falls in exactly one window. See docs/technician-app.md.
CREATE TABLE technician_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    technician_id bigint      NOT NULL,
    entity        text        NOT NULL CHECK (entity IN ('job', 'notification', 'time_off')),
    entity_id     bigint      NOT NULL,
    txid          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX technician_changes_cursor ON technician_changes (technician_id, txid);
CREATE INDEX technician_changes_at ON technician_changes (at);

-- A job moved between technicians is a change for both: the one who lost it reads a removal.
CREATE FUNCTION jobs_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.technician_id IS NOT NULL THEN
        INSERT INTO technician_changes (technician_id, entity, entity_id) VALUES (OLD.technician_id, 'job', OLD.id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.technician_id IS NOT NULL
        AND (TG_OP = 'INSERT' OR NEW.technician_id IS DISTINCT FROM OLD.technician_id) THEN
        INSERT INTO technician_changes (technician_id, entity, entity_id) VALUES (NEW.technician_id, 'job', NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_technician_changes AFTER INSERT OR UPDATE OR DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_technician_changes();

-- An offer made, answered, expired or withdrawn changes the offered technician's view of the job.
CREATE FUNCTION offers_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO technician_changes (technician_id, entity, entity_id) VALUES (NEW.technician_id, 'job', NEW.job_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER offers_technician_changes AFTER INSERT OR UPDATE ON offers
    FOR EACH ROW EXECUTE FUNCTION offers_technician_changes();

-- The booking behind a live job (address, contact, problem, tier) is part of the job's view.
CREATE FUNCTION bookings_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
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
      AND j.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site');
    RETURN NULL;
END
$$;
CREATE TRIGGER bookings_technician_changes AFTER UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_technician_changes();

-- A visit's checklist and photos are part of the job's view.
CREATE FUNCTION visit_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO technician_changes (technician_id, entity, entity_id)
    SELECT j.technician_id, 'job', j.id FROM jobs j WHERE j.id = NEW.job_id AND j.technician_id IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER job_checklists_technician_changes AFTER INSERT OR UPDATE ON job_checklists
    FOR EACH ROW EXECUTE FUNCTION visit_technician_changes();
CREATE TRIGGER attachments_technician_changes AFTER INSERT ON attachments
    FOR EACH ROW EXECUTE FUNCTION visit_technician_changes();

CREATE FUNCTION notifications_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.recipient_kind = 'technician' THEN
        INSERT INTO technician_changes (technician_id, entity, entity_id)
        SELECT t.id, 'notification', NEW.id FROM technicians t WHERE t.subject = NEW.recipient_subject;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER notifications_technician_changes AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_technician_changes();

CREATE FUNCTION time_off_technician_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO technician_changes (technician_id, entity, entity_id) VALUES (OLD.technician_id, 'time_off', OLD.id);
    ELSE
        INSERT INTO technician_changes (technician_id, entity, entity_id) VALUES (NEW.technician_id, 'time_off', NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER time_off_technician_changes AFTER INSERT OR UPDATE OR DELETE ON technician_time_off
    FOR EACH ROW EXECUTE FUNCTION time_off_technician_changes();
