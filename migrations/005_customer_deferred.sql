-- A booking whose customer chose windows that all start after the SLA due time: its SLA is
-- reported apart (met, missed, customer-deferred).
ALTER TABLE bookings ADD COLUMN customer_deferred boolean NOT NULL DEFAULT false;
