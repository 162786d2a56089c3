-- Every booking's insertion reads the live jobs of some 30 technicians (hundreds of rows once
-- routes are full) with their place and length. They lived on the booking, so each read joined
-- every row to bookings; the job now carries them, filled from its booking when inserted (a
-- booking's address and duration never change after it is made).
ALTER TABLE jobs ADD COLUMN lat double precision, ADD COLUMN lng double precision, ADD COLUMN duration_minutes integer;

UPDATE jobs j SET lat = b.lat, lng = b.lng, duration_minutes = b.duration_minutes
FROM bookings b WHERE b.id = j.booking_id;

CREATE FUNCTION jobs_fill_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.lat IS NULL OR NEW.lng IS NULL OR NEW.duration_minutes IS NULL THEN
        SELECT b.lat, b.lng, b.duration_minutes INTO NEW.lat, NEW.lng, NEW.duration_minutes
        FROM bookings b WHERE b.id = NEW.booking_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER jobs_fill_place BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_fill_place();

ALTER TABLE jobs ALTER COLUMN lat SET NOT NULL, ALTER COLUMN lng SET NOT NULL, ALTER COLUMN duration_minutes SET NOT NULL;
