-- name: TickClaim :one
INSERT INTO schedule_runs (name, tick, replica, started_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (name, tick) DO NOTHING
RETURNING true AS claimed;

-- name: TickFinish :exec
UPDATE schedule_runs SET finished_at = $3, outcome = $4, summary = $5 WHERE name = $1 AND tick = $2;

-- name: ScheduleRuns :many
SELECT * FROM schedule_runs WHERE name = $1 ORDER BY tick DESC LIMIT sqlc.arg(max_rows);

-- Bookings whose first visit has not started and which are at risk now: no technician with less
-- than the margin to their due time, planned after it, or their technician late for the start.
-- name: AtRiskJobs :many
SELECT sqlc.embed(j), b.sla_due_at, b.at_risk
FROM jobs j JOIN bookings b ON b.id = j.booking_id
WHERE j.visit = 1
  AND j.status IN ('unassigned', 'offered', 'accepted')
  AND b.status IN ('open', 'scheduled')
  AND ((j.technician_id IS NULL AND b.sla_due_at < sqlc.arg(risk_before)::timestamptz)
       OR j.planned_start > b.sla_due_at
       OR (j.technician_id IS NOT NULL AND j.planned_start < sqlc.arg(late_before)::timestamptz))
ORDER BY b.sla_due_at
LIMIT 500;

-- name: BookingSetAtRisk :one
UPDATE bookings SET at_risk = $2 WHERE id = $1 AND at_risk <> $2 RETURNING id;

-- name: BookingsClearAtRisk :many
UPDATE bookings SET at_risk = false
WHERE at_risk AND NOT (id = ANY(sqlc.arg(still)::bigint[]))
RETURNING id;

-- A breach is recorded once: the first run after the due time without an arrival sets breached_at.
-- name: BookingsBreach :many
UPDATE bookings b SET breached_at = sqlc.arg(now_time)::timestamptz
WHERE b.breached_at IS NULL AND b.sla_due_at < sqlc.arg(now_time)::timestamptz AND b.status <> 'cancelled'
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.booking_id = b.id AND j.visit = 1
                  AND j.on_site_at IS NOT NULL AND j.on_site_at <= b.sla_due_at)
RETURNING b.id, b.sla_due_at, b.tier;

-- name: FollowUpsDue :many
SELECT b.id FROM bookings b
WHERE b.status = 'completed' AND b.followup_sent_at IS NULL
  AND EXISTS (SELECT 1 FROM jobs j WHERE j.booking_id = b.id AND j.status = 'completed' AND j.finished_at <= sqlc.arg(done_before)::timestamptz)
ORDER BY b.id
LIMIT 500;

-- name: FollowUpClaim :one
UPDATE bookings SET followup_sent_at = $2 WHERE id = $1 AND followup_sent_at IS NULL RETURNING id;

-- name: DevicesDisableStale :execrows
UPDATE devices SET active = false, disabled_reason = 'stale' WHERE active AND last_seen_at < $1;

-- name: DispatcherSubjects :many
SELECT DISTINCT owner_subject FROM devices WHERE owner_kind = 'dispatcher' AND active ORDER BY owner_subject;

-- name: KPIDailyUpsert :exec
INSERT INTO kpi_daily (day, group_by, grp, figures, computed_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (day, group_by, grp) DO UPDATE SET figures = EXCLUDED.figures, computed_at = EXCLUDED.computed_at;

-- name: KPIDaily :many
SELECT * FROM kpi_daily WHERE group_by = $1 AND day >= $2 AND day < $3 ORDER BY day, grp;

-- name: OpenRegions :many
SELECT DISTINCT region FROM bookings WHERE status IN ('open', 'scheduled') ORDER BY region;
