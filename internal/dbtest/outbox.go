package dbtest

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// QueuePushes writes n pushes due now into the outbox as dispatch.Outbox would: n technicians'
// phones (subjects prefix1..prefixN), a notification to each, and its delivery.
func QueuePushes(ctx context.Context, pool *pgxpool.Pool, n int, prefix string) error {
	_, err := pool.Exec(ctx, `
		WITH d AS (
			INSERT INTO devices (owner_kind, owner_subject, token, platform, created_at, last_seen_at)
			SELECT 'technician', $2 || g, 'token-' || $2 || g, 'android', now(), now() FROM generate_series(1, $1::int) g
			RETURNING id, owner_subject, token),
		n AS (
			INSERT INTO notifications (recipient_kind, recipient_subject, kind, job_id, booking_id, title, body, data, created_at)
			SELECT 'technician', d.owner_subject, 'change', d.id, d.id, 'Job moved', 'Your 14:00 visit is now at 15:00.', '{}', now() FROM d
			RETURNING id, recipient_subject)
		INSERT INTO push_deliveries (notification_id, device_id, token, status, next_attempt_at, created_at, updated_at)
		SELECT n.id, d.id, d.token, 'pending', now(), now(), now() FROM n JOIN d ON d.owner_subject = n.recipient_subject`, n, prefix)
	return err
}
