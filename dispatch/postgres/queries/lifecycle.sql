-- name: JobGet :one
SELECT sqlc.embed(j), COALESCE(t.name, '')::text AS technician_name
FROM jobs j LEFT JOIN technicians t ON t.id = j.technician_id
WHERE j.id = $1;

-- name: JobLock :one
SELECT * FROM jobs WHERE id = $1 FOR UPDATE;

-- A job is written from the version it was read at: a copy that another transaction changed
-- meanwhile writes nothing (no row), and the writer is told it lost the race.
-- name: JobSave :one
UPDATE jobs
SET status = $2, technician_id = $3, planned_start = $4, planned_end = $5, pinned = $6, pinned_start = $7,
    offer_expires_at = $8, accepted_at = $9, en_route_at = $10, on_site_at = $11, finished_at = $12,
    outcome = $13, notes = $14, parts_used = $15, updated_at = $16,
    en_route_device_at = sqlc.narg(en_route_device_at), on_site_device_at = sqlc.narg(on_site_device_at),
    finished_device_at = sqlc.narg(finished_device_at), version = version + 1
WHERE id = $1 AND version = sqlc.arg(read_version)::integer
RETURNING version;

-- name: TechnicianJobs :many
SELECT sqlc.embed(j), COALESCE(t.name, '')::text AS technician_name
FROM jobs j JOIN technicians t ON t.id = j.technician_id
WHERE j.technician_id = sqlc.arg(technician_id)::bigint
  AND j.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site')
  AND j.planned_end > sqlc.arg(from_time)::timestamptz AND j.planned_start < sqlc.arg(to_time)::timestamptz
ORDER BY j.planned_start;

-- A technician's visits finished in [from_time, to_time): the agenda keeps the day's done work.
-- name: TechnicianFinishedJobs :many
SELECT sqlc.embed(j), COALESCE(t.name, '')::text AS technician_name
FROM jobs j JOIN technicians t ON t.id = j.technician_id
WHERE j.technician_id = sqlc.arg(technician_id)::bigint
  AND j.status IN ('completed', 'incomplete')
  AND j.finished_at >= sqlc.arg(from_time)::timestamptz AND j.finished_at < sqlc.arg(to_time)::timestamptz
ORDER BY j.finished_at;

-- name: LiveJobsOf :many
SELECT j.id, j.booking_id, j.technician_id, j.status, j.planned_start, j.planned_end, j.pinned, j.pinned_start,
       j.lat, j.lng, j.duration_minutes,
       CASE WHEN j.pickup_location_id IS NULL OR j.picked_up_at IS NOT NULL THEN 'NaN'::float8
            ELSE (SELECT w.lat FROM stock_locations w WHERE w.id = j.pickup_location_id) END::float8 AS via_lat,
       CASE WHEN j.pickup_location_id IS NULL OR j.picked_up_at IS NOT NULL THEN 'NaN'::float8
            ELSE (SELECT w.lng FROM stock_locations w WHERE w.id = j.pickup_location_id) END::float8 AS via_lng
FROM jobs j
WHERE j.technician_id = ANY(sqlc.arg(technician_ids)::bigint[])
  AND j.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site')
  AND j.planned_end > sqlc.arg(from_time)::timestamptz AND j.planned_start < sqlc.arg(to_time)::timestamptz
ORDER BY j.technician_id, j.planned_start;

-- name: TechniciansWithSkills :many
SELECT * FROM technicians WHERE active AND skills @> sqlc.arg(skills)::text[] ORDER BY id;

-- name: TechnicianBySubject :one
SELECT * FROM technicians WHERE subject = $1;

-- name: TechnicianSetPosition :exec
UPDATE technicians SET last_lat = $2, last_lng = $3, last_seen_at = $4 WHERE id = $1;

-- name: OfferInsert :one
INSERT INTO offers (job_id, technician_id, status, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: OfferOpen :one
SELECT * FROM offers WHERE job_id = $1 AND status = 'open';

-- name: OfferSave :exec
UPDATE offers SET status = $2, responded_at = $3, reason = $4 WHERE id = $1;

-- name: OffersExpired :many
SELECT * FROM offers WHERE status = 'open' AND expires_at <= $1
ORDER BY expires_at
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: RefusedTechnicians :many
SELECT DISTINCT technician_id FROM offers
WHERE job_id = $1 AND status IN ('declined', 'expired');

-- The technicians a re-optimisation took the job from: it is never offered to them again by one.
-- name: ReoptimizedFrom :many
SELECT DISTINCT technician_id FROM offers
WHERE job_id = $1 AND status = 'withdrawn' AND reason = 're-optimised';

-- name: JobsToOffer :many
SELECT id FROM jobs
WHERE status = 'unassigned' AND technician_id IS NOT NULL AND planned_start < sqlc.arg(horizon)::timestamptz
ORDER BY planned_start
LIMIT sqlc.arg(max_rows);

-- A token seen before is refreshed for its owner, and moves to another only when it is no longer
-- active (FCM disabled it, or it went stale): an active token of someone else writes nothing and
-- returns no row.
-- name: DeviceUpsert :one
INSERT INTO devices (owner_kind, owner_subject, token, platform, app_version, active, created_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, true, $6, $6)
ON CONFLICT (token) DO UPDATE
SET owner_kind = EXCLUDED.owner_kind, owner_subject = EXCLUDED.owner_subject, platform = EXCLUDED.platform,
    app_version = EXCLUDED.app_version, active = true, disabled_reason = '', last_seen_at = EXCLUDED.last_seen_at
WHERE NOT devices.active OR (devices.owner_kind = EXCLUDED.owner_kind AND devices.owner_subject = EXCLUDED.owner_subject)
RETURNING *;

-- name: DeviceDelete :execrows
DELETE FROM devices WHERE owner_kind = $1 AND owner_subject = $2 AND token = $3;

-- name: DevicesActive :many
SELECT * FROM devices WHERE owner_kind = $1 AND owner_subject = $2 AND active ORDER BY id;

-- name: NotificationInsert :one
INSERT INTO notifications (recipient_kind, recipient_subject, kind, job_id, booking_id, title, body, data, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id;

-- name: NotificationList :many
SELECT * FROM notifications
WHERE recipient_kind = $1 AND recipient_subject = $2 AND (sqlc.arg(before)::bigint = 0 OR id < sqlc.arg(before))
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- name: TimeOffInsert :one
INSERT INTO technician_time_off (technician_id, starts_at, ends_at, reason) VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: TimeOffSetMoved :exec
UPDATE technician_time_off SET moved_job_ids = sqlc.arg(job_ids)::bigint[] WHERE id = $1;

-- name: TimeOffOfTechnician :many
SELECT * FROM technician_time_off WHERE technician_id = $1 AND ends_at > sqlc.arg(ends_after) ORDER BY starts_at, id;

-- name: TimeOffDelete :one
DELETE FROM technician_time_off WHERE id = $1 AND technician_id = $2 RETURNING *;

-- name: TimeOffBetween :many
SELECT * FROM technician_time_off
WHERE technician_id = ANY(sqlc.arg(technician_ids)::bigint[]) AND ends_at > sqlc.arg(from_time) AND starts_at < sqlc.arg(to_time)
ORDER BY technician_id, starts_at;

-- name: AuditList :many
SELECT * FROM audit_events
WHERE (sqlc.arg(entity)::text = '' OR entity = sqlc.arg(entity))
  AND (sqlc.arg(entity_id)::bigint = 0 OR entity_id = sqlc.arg(entity_id))
  AND (sqlc.arg(actor)::text = '' OR actor_sub = sqlc.arg(actor))
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR at >= sqlc.narg(from_time))
  AND (sqlc.narg(to_time)::timestamptz IS NULL OR at < sqlc.narg(to_time))
  AND (sqlc.arg(before)::bigint = 0 OR id < sqlc.arg(before))
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- A job without a technician carries why: the reason code of its latest "unassigned" event
-- (the planner's; a dispatcher's hand: unassigned_by_dispatcher; none: not_planned).
-- name: BookingsOpenJobs :many
SELECT sqlc.embed(j), b.sla_due_at, b.tier, b.lat, b.lng, b.appliance, b.address, b.region, b.customer_deferred, b.contact_name, b.required_skills,
       COALESCE(r.code, CASE WHEN j.technician_id IS NULL THEN 'not_planned' ELSE '' END)::text AS unassigned_code,
       COALESCE(r.reason, '')::text AS unassigned_reason
FROM jobs j JOIN bookings b ON b.id = j.booking_id
LEFT JOIN LATERAL (
    SELECT COALESCE(a.data->>'reason_code',
                    CASE WHEN a.actor_role IN ('dispatcher', 'admin') THEN 'unassigned_by_dispatcher' ELSE 'planning_failed' END) AS code,
           a.reason
    FROM audit_events a
    WHERE j.technician_id IS NULL AND a.entity = 'job' AND a.entity_id = j.id AND a.action = 'unassigned'
    ORDER BY a.id DESC LIMIT 1) r ON true
WHERE j.status IN ('unassigned', 'offered', 'accepted', 'en_route')
  AND (j.technician_id IS NULL OR b.sla_due_at < sqlc.arg(risk_before) OR j.planned_start > b.sla_due_at)
ORDER BY b.sla_due_at
LIMIT 500;

-- Jobs the optimiser may move: planned or offered (not accepted, not started), not pinned,
-- starting after the freeze time; and the unassigned ones. Optionally one region.
-- name: MovableJobs :many
SELECT j.id FROM jobs j JOIN bookings b ON b.id = j.booking_id
WHERE j.status IN ('unassigned', 'offered') AND NOT j.pinned
  AND (j.technician_id IS NULL OR j.planned_start > sqlc.arg(frozen_until)::timestamptz)
  -- a visit with a pick-up to make stays where the online planner put it (its detour is its own)
  AND (j.pickup_location_id IS NULL OR j.picked_up_at IS NOT NULL OR j.technician_id IS NULL)
  AND b.status IN ('open', 'scheduled')
  AND (sqlc.arg(region)::text = '' OR b.region = sqlc.arg(region))
ORDER BY b.sla_due_at, j.id
LIMIT 2000;

-- name: NextOfferExpiry :one
SELECT COALESCE(min(expires_at), '9999-12-31T00:00:00Z')::timestamptz AS next FROM offers WHERE status = 'open';

-- The planning cache's refresh: of the technicians ids, those whose plan_version differs from the
-- version the replica holds (known, same order, -1 when it holds none), each with its live jobs
-- ending after from_time (however far ahead) and its time off ending after off_from, as arrays in
-- start order, one element per job (or time off). One statement, so one snapshot: the plan is as
-- of the version it comes with.
-- Each LATERAL aggregate is one scan of an index for one technician: joined plainly, the planner
-- may hash the whole jobs table for a technician or two.
-- name: ChangedPlans :many
SELECT sqlc.embed(t),
       s.job_ids::bigint[] AS job_ids, s.booking_ids::bigint[] AS booking_ids, s.statuses::text[] AS statuses,
       s.starts::timestamptz[] AS starts, s.ends::timestamptz[] AS ends, s.pinned::boolean[] AS pinned,
       s.pinned_start::boolean[] AS pinned_start, s.lats::float8[] AS lats, s.lngs::float8[] AS lngs,
       s.minutes::integer[] AS minutes, s.via_lats::float8[] AS via_lats, s.via_lngs::float8[] AS via_lngs,
       o.off_starts::timestamptz[] AS off_starts, o.off_ends::timestamptz[] AS off_ends
FROM technicians t
CROSS JOIN LATERAL (
    SELECT COALESCE(array_agg(j.id ORDER BY j.planned_start, j.id), '{}') AS job_ids,
           COALESCE(array_agg(j.booking_id ORDER BY j.planned_start, j.id), '{}') AS booking_ids,
           COALESCE(array_agg(j.status ORDER BY j.planned_start, j.id), '{}') AS statuses,
           COALESCE(array_agg(j.planned_start ORDER BY j.planned_start, j.id), '{}') AS starts,
           COALESCE(array_agg(j.planned_end ORDER BY j.planned_start, j.id), '{}') AS ends,
           COALESCE(array_agg(j.pinned ORDER BY j.planned_start, j.id), '{}') AS pinned,
           COALESCE(array_agg(j.pinned_start ORDER BY j.planned_start, j.id), '{}') AS pinned_start,
           COALESCE(array_agg(j.lat ORDER BY j.planned_start, j.id), '{}') AS lats,
           COALESCE(array_agg(j.lng ORDER BY j.planned_start, j.id), '{}') AS lngs,
           COALESCE(array_agg(j.duration_minutes ORDER BY j.planned_start, j.id), '{}') AS minutes,
           -- a pick-up not yet made: the warehouse passed before the visit (NaN: none)
           COALESCE(array_agg(CASE WHEN j.pickup_location_id IS NULL OR j.picked_up_at IS NOT NULL THEN 'NaN'::float8
               ELSE (SELECT w.lat FROM stock_locations w WHERE w.id = j.pickup_location_id) END ORDER BY j.planned_start, j.id), '{}') AS via_lats,
           COALESCE(array_agg(CASE WHEN j.pickup_location_id IS NULL OR j.picked_up_at IS NOT NULL THEN 'NaN'::float8
               ELSE (SELECT w.lng FROM stock_locations w WHERE w.id = j.pickup_location_id) END ORDER BY j.planned_start, j.id), '{}') AS via_lngs
    FROM jobs j
    WHERE j.technician_id = t.id AND j.status IN ('unassigned', 'offered', 'accepted', 'en_route', 'on_site')
      AND j.planned_end > sqlc.arg(from_time)::timestamptz
) s
CROSS JOIN LATERAL (
    SELECT COALESCE(array_agg(x.starts_at ORDER BY x.starts_at), '{}') AS off_starts,
           COALESCE(array_agg(x.ends_at ORDER BY x.starts_at), '{}') AS off_ends
    FROM technician_time_off x
    WHERE x.technician_id = t.id AND x.ends_at > sqlc.arg(off_from)::timestamptz
) o
WHERE t.id = ANY(sqlc.arg(ids)::bigint[])
  AND t.plan_version <> (sqlc.arg(known)::bigint[])[array_position(sqlc.arg(ids)::bigint[], t.id)]
ORDER BY t.id;

-- name: PlanVersions :many
SELECT id, plan_version FROM technicians WHERE id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY id;

-- Locked in id order, as every writer that takes two technicians takes them: the plans of a
-- re-optimisation's technicians cannot move until its transaction ends.
-- name: PlanVersionsLock :many
SELECT id, plan_version FROM technicians WHERE id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY id FOR NO KEY UPDATE;

-- name: TrackingLinkIssue :one
-- The booking's tracking link: the one it has (lasting at least until expires_at), else token.
INSERT INTO tracking_links (token, booking_id, created_at, expires_at)
VALUES (@new_token::text, @booking_id, @created_at, @expires_at)
ON CONFLICT (booking_id) DO UPDATE SET expires_at = GREATEST(tracking_links.expires_at, EXCLUDED.expires_at)
RETURNING token;

-- name: TrackingLinkGet :one
SELECT booking_id, expires_at FROM tracking_links WHERE tracking_links.token = @link_token::text;
