-- Each replica keeps the candidates' plans (technician, live jobs, time off) in memory and reads
-- per booking only those whose plan_version moved since it read them: a booking then reads a
-- technician or two, not some 30 routes of hundreds of rows. plan_version moves with every change
-- that can alter a plan, in the changing transaction, whoever makes it (any replica, dispatcher,
-- optimiser, lifecycle, psql): the jobs and time-off triggers bump it, and any other update of the
-- technician row (skills, shifts, area, position ping) bumps it too.
ALTER TABLE technicians ADD COLUMN plan_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION technicians_bump_plan_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.plan_version = OLD.plan_version AND NEW IS DISTINCT FROM OLD THEN
        NEW.plan_version := OLD.plan_version + 1;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER technicians_bump_plan_version BEFORE UPDATE ON technicians
    FOR EACH ROW EXECUTE FUNCTION technicians_bump_plan_version();

-- bump_plan_versions moves the plan_version of one or two technicians (a job moved between
-- them), the lower id first, so that two transactions moving jobs between the same pair lock alike.
CREATE FUNCTION bump_plan_versions(a bigint, b bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF a IS NOT NULL AND b IS NOT NULL AND a <> b THEN
        UPDATE technicians SET plan_version = plan_version + 1 WHERE id = least(a, b);
        UPDATE technicians SET plan_version = plan_version + 1 WHERE id = greatest(a, b);
    ELSIF coalesce(a, b) IS NOT NULL THEN
        UPDATE technicians SET plan_version = plan_version + 1 WHERE id = coalesce(a, b);
    END IF;
END
$$;

CREATE FUNCTION jobs_bump_plan_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.technician_id IS NOT DISTINCT FROM OLD.technician_id
        AND NEW.status = OLD.status AND NEW.planned_start IS NOT DISTINCT FROM OLD.planned_start
        AND NEW.planned_end IS NOT DISTINCT FROM OLD.planned_end AND NEW.pinned = OLD.pinned
        AND NEW.pinned_start = OLD.pinned_start AND NEW.lat = OLD.lat AND NEW.lng = OLD.lng
        AND NEW.duration_minutes = OLD.duration_minutes THEN
        RETURN NULL; -- notes, parts, timestamps: the plan is the same
    END IF;
    PERFORM bump_plan_versions(CASE WHEN TG_OP <> 'INSERT' THEN OLD.technician_id END,
                               CASE WHEN TG_OP <> 'DELETE' THEN NEW.technician_id END);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_bump_plan_version AFTER INSERT OR UPDATE OR DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_bump_plan_version();

CREATE FUNCTION time_off_bump_plan_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_plan_versions(CASE WHEN TG_OP <> 'INSERT' THEN OLD.technician_id END,
                               CASE WHEN TG_OP <> 'DELETE' THEN NEW.technician_id END);
    RETURN NULL;
END
$$;

CREATE TRIGGER time_off_bump_plan_version AFTER INSERT OR UPDATE OR DELETE ON technician_time_off
    FOR EACH ROW EXECUTE FUNCTION time_off_bump_plan_version();
