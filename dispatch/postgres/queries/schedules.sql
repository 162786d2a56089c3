-- A tick is claimed by inserting its row, or by taking over one whose last try failed, that was
-- missed, or whose claim ran out (or that this replica holds: its finish was not recorded). One
-- replica at a time runs a tick; a tick that ran is never run again. Returns the attempt number.
-- name: TickClaim :one
INSERT INTO schedule_runs AS r (name, tick, replica, started_at, claimed_until, status, attempts)
VALUES (sqlc.arg(name), sqlc.arg(tick), sqlc.arg(replica), sqlc.arg(now_time), sqlc.arg(claimed_until)::timestamptz, 'running', 1)
ON CONFLICT (name, tick) DO UPDATE
SET replica = EXCLUDED.replica, started_at = EXCLUDED.started_at, claimed_until = EXCLUDED.claimed_until,
    status = 'running', attempts = r.attempts + 1, finished_at = NULL, outcome = ''
WHERE r.status IN ('failed', 'missed')
   OR (r.status = 'running' AND (r.replica = EXCLUDED.replica OR r.claimed_until IS NULL OR r.claimed_until < EXCLUDED.started_at))
RETURNING r.attempts;

-- name: TickStatus :one
SELECT status FROM schedule_runs WHERE name = $1 AND tick = $2;

-- Only the replica that holds the claim records how it ended.
-- name: TickFinish :execrows
UPDATE schedule_runs SET finished_at = sqlc.arg(finished_at), status = sqlc.arg(status), outcome = sqlc.arg(outcome), summary = sqlc.arg(summary)
WHERE name = sqlc.arg(name) AND tick = sqlc.arg(tick) AND replica = sqlc.arg(replica) AND status = 'running';

-- A tick given up (the next one superseded it) is recorded as missed unless it ran or is being
-- run; true when this call recorded it, so one replica counts it.
-- name: TickMiss :one
INSERT INTO schedule_runs AS r (name, tick, replica, started_at, finished_at, status, attempts, outcome)
VALUES (sqlc.arg(name), sqlc.arg(tick), sqlc.arg(replica), sqlc.arg(now_time), sqlc.arg(now_time), 'missed', 0, sqlc.arg(outcome))
ON CONFLICT (name, tick) DO UPDATE
SET status = 'missed', finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome
WHERE r.status = 'failed' OR (r.status = 'running' AND (r.claimed_until IS NULL OR r.claimed_until < EXCLUDED.started_at))
RETURNING true AS missed;

-- The first tick a schedule recorded: ticks before it were not missed, the schedule did not run yet.
-- name: TickFirst :one
SELECT tick FROM schedule_runs WHERE name = $1 ORDER BY tick LIMIT 1;

-- Ticks since a time that need no catching up: they ran, or are being run under a live claim.
-- name: TicksDone :many
SELECT tick FROM schedule_runs
WHERE name = sqlc.arg(name) AND tick > sqlc.arg(since)
  AND (status = 'ok' OR (status = 'running' AND claimed_until >= sqlc.arg(now_time)))
ORDER BY tick;

-- name: ScheduleRuns :many
SELECT * FROM schedule_runs WHERE name = $1 ORDER BY tick DESC LIMIT sqlc.arg(max_rows);

-- Bookings whose first visit has not started and which are at risk now: no technician with less
-- than the margin to their due time, planned after it, or their technician late for the start.
-- A booking whose customer chose windows after the due time is late by their choice: only a late
-- technician puts it at risk.
-- name: AtRiskJobs :many
SELECT sqlc.embed(j), b.sla_due_at, b.at_risk
FROM jobs j JOIN bookings b ON b.id = j.booking_id
WHERE j.visit = 1
  AND j.status IN ('unassigned', 'offered', 'accepted')
  AND b.status IN ('open', 'scheduled')
  AND ((j.technician_id IS NULL AND b.sla_due_at < sqlc.arg(risk_before)::timestamptz AND NOT b.customer_deferred)
       OR (j.planned_start > b.sla_due_at AND NOT b.customer_deferred)
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
                  AND j.on_site_at IS NOT NULL AND COALESCE(j.on_site_device_at, j.on_site_at) <= b.sla_due_at)
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
