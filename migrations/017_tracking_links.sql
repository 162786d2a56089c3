-- A customer's tracking link (/t/{token}): one per booking, random and unguessable, no login.
-- It expires some days after the last message that carried it (each message extends it), and
-- opens the visit's state, window, technician and ETA, with rescheduling and cancelling.
CREATE TABLE tracking_links (
    token      text PRIMARY KEY CHECK (length(token) >= 22),
    booking_id bigint NOT NULL UNIQUE REFERENCES bookings (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at)
);
