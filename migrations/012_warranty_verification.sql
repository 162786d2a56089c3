-- A warranty is decided from records the customer cannot write alone. A purchase the customer
-- registers is unverified until a technician sees the proof of purchase on site; one the shop
-- registers (staff, an import of sales records) is verified. Purchases already stored cannot say
-- who registered them: they start unverified, so their next warranty visit checks the proof.
ALTER TABLE purchases ADD COLUMN verified boolean NOT NULL DEFAULT false;

-- A warranty booking on an unverified purchase is provisional: warranty_verified false until the
-- technician confirms the proof on site (true), or the visit ends without it and the booking
-- becomes paid (tier paid, warranty_verified stays false). NULL: no warranty is claimed (paid), or
-- the booking was made before this column.
ALTER TABLE bookings ADD COLUMN warranty_verified boolean;
