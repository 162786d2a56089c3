-- Who the technician meets at the door: the name and phone the booking gives for the visit
-- (the customer's account holds neither). Empty when not given.
ALTER TABLE bookings
    ADD COLUMN contact_name  text NOT NULL DEFAULT '',
    ADD COLUMN contact_phone text NOT NULL DEFAULT '';
