-- Proof of work (issue 23): a visit gets its checklist when it is planned, as the issue asks: the
-- first time the job has a technician (created assigned, or assigned later), the active template
-- of its booking's service type and appliance (else the service type's catch-all) is copied to it
-- in the planning's transaction, so a template changed between planning and the visit does not
-- change what the technician was planned to do. With no template then, nothing is stored: the
-- visit gets the template made by the time it is first needed, or an empty checklist
-- (dispatch/proof, checklistOf).
CREATE FUNCTION job_checklist_when_planned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_checklists (job_id, template_id, items, answers, updated_at)
    SELECT NEW.id, t.id, t.items, '{}', NEW.updated_at
    FROM bookings b
    JOIN checklist_templates t ON t.active AND t.service_type = b.service_type AND t.appliance IN (b.appliance, '')
    WHERE b.id = NEW.booking_id
    ORDER BY t.appliance DESC
    LIMIT 1
    ON CONFLICT (job_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_checklist_on_insert AFTER INSERT ON jobs
    FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL)
    EXECUTE FUNCTION job_checklist_when_planned();
CREATE TRIGGER jobs_checklist_on_assign AFTER UPDATE OF technician_id ON jobs
    FOR EACH ROW WHEN (OLD.technician_id IS NULL AND NEW.technician_id IS NOT NULL)
    EXECUTE FUNCTION job_checklist_when_planned();
