-- name: IdempotencyGet :one
SELECT * FROM idempotency_keys WHERE subject = $1 AND key = $2;

-- name: BookingGet :one
SELECT sqlc.embed(b), c.subject AS customer_subject
FROM bookings b JOIN customers c ON c.id = b.customer_id
WHERE b.id = $1;

-- name: BookingGetForUpdate :one
SELECT sqlc.embed(b), c.subject AS customer_subject
FROM bookings b JOIN customers c ON c.id = b.customer_id
WHERE b.id = $1
FOR UPDATE OF b;

-- name: BookingList :many
SELECT sqlc.embed(b), c.subject AS customer_subject
FROM bookings b JOIN customers c ON c.id = b.customer_id
WHERE (sqlc.narg(customer_id)::bigint IS NULL OR b.customer_id = sqlc.narg(customer_id))
  AND (sqlc.arg(status)::text = '' OR b.status = sqlc.arg(status))
  AND (sqlc.arg(tier)::text = '' OR b.tier = sqlc.arg(tier))
  AND (sqlc.narg(at_risk)::boolean IS NULL OR b.at_risk = sqlc.narg(at_risk))
  AND (sqlc.arg(region)::text = '' OR b.region = sqlc.arg(region))
  AND (sqlc.arg(before)::bigint = 0 OR b.id < sqlc.arg(before))
ORDER BY b.id DESC
LIMIT sqlc.arg(max_rows);

-- name: BookingUpdate :one
UPDATE bookings
SET status = $2, preferred_windows = $3, cancel_reason = $4, updated_at = $5, at_risk = $6, customer_deferred = $7, version = version + 1
WHERE id = $1
RETURNING version;

-- name: JobInsert :one
INSERT INTO jobs (booking_id, visit, status, technician_id, planned_start, planned_end, pinned, offer_expires_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: JobsByBookings :many
SELECT sqlc.embed(j), COALESCE(t.name, '')::text AS technician_name
FROM jobs j LEFT JOIN technicians t ON t.id = j.technician_id
WHERE j.booking_id = ANY(sqlc.arg(booking_ids)::bigint[])
ORDER BY j.booking_id, j.visit;


-- The technician's word on an unverified warranty: confirmed (the tier stands), or not (the
-- booking becomes paid, with the paid due time).
-- name: BookingSetTier :exec
UPDATE bookings
SET tier = $2, sla_due_at = $3, customer_deferred = $4, warranty_verified = $5, updated_at = $6, version = version + 1
WHERE id = $1;

-- name: BookingSetStatus :exec
UPDATE bookings SET status = $2, updated_at = $3, version = version + 1 WHERE id = $1 AND status <> $2;

-- A new booking written whole by one statement, which is its own transaction: the idempotency
-- key (when there is one), the booking, its one job (planned or not), the technician's open offer,
-- their notification and its pushes (the outbox), and the audit events. The ids are drawn here, so
-- the key is written pointing at its booking; when the key is taken already (a concurrent request
-- with it waits for the first to end), nothing is written and booking_id comes back 0. The job's
-- insert may fail on jobs_no_overlap, which undoes the whole statement.
-- Given plan_version, the job was placed on the technician's plan at that version: the
-- technician's row is locked (as the plan-version trigger would lock it at the end) and, when the
-- version has moved, nothing is written and plan_fresh comes back false, so the booking is planned
-- again. The lock is taken before the key is claimed, so a stale plan claims no key.
-- The audit events come as a JSON array like AuditInsertAll's, without ids: an event on the
-- "booking" is this booking's, any other this job's, whose data also gets the booking id. The
-- notification's data gets the deep link to the job: job_link_prefix and the job's id.
-- name: BookingPlace :one
WITH ids AS MATERIALIZED (
    SELECT nextval('bookings_id_seq') AS booking_id, nextval('jobs_id_seq') AS job_id
), fresh AS MATERIALIZED (
    SELECT sqlc.narg(plan_version)::bigint IS NULL OR EXISTS (
        SELECT FROM technicians
        WHERE id = sqlc.narg(technician_id)::bigint AND plan_version = sqlc.narg(plan_version)::bigint
        FOR NO KEY UPDATE
    ) AS ok
), claim AS (
    INSERT INTO idempotency_keys (subject, key, request_hash, booking_id)
    SELECT sqlc.narg(idempotency_subject)::text, sqlc.narg(idempotency_key)::text, @request_hash::text, ids.booking_id
    FROM ids, fresh
    WHERE sqlc.narg(idempotency_key)::text IS NOT NULL AND fresh.ok
    ON CONFLICT (subject, key) DO NOTHING
    RETURNING booking_id
), ok AS MATERIALIZED (
    SELECT ids.booking_id, ids.job_id FROM ids, fresh
    WHERE fresh.ok AND (sqlc.narg(idempotency_key)::text IS NULL OR EXISTS (SELECT FROM claim))
), b AS (
    INSERT INTO bookings (id, customer_id, purchase_id, service_type, appliance, problem, address, lat, lng,
                          channel, return_kind, tier, status, sla_due_at, required_skills, duration_minutes,
                          preferred_windows, created_at, updated_at, region, customer_deferred, warranty_verified,
                          contact_name, contact_phone)
    SELECT ok.booking_id, @customer_id, @purchase_id, @service_type, @appliance, @problem, @address, @lat, @lng,
           @channel, @return_kind, @tier, @status, @sla_due_at, @required_skills, @duration_minutes,
           @preferred_windows, @created_at, @updated_at, @region, @customer_deferred, sqlc.narg(warranty_verified)::boolean,
           @contact_name::text, @contact_phone::text
    FROM ok
), j AS (
    -- The job's place and length are given here: the fill trigger cannot see the booking this
    -- same statement inserts.
    INSERT INTO jobs (id, booking_id, visit, status, technician_id, planned_start, planned_end, pinned, offer_expires_at,
                      created_at, updated_at, lat, lng, duration_minutes)
    SELECT ok.job_id, ok.booking_id, 1, @job_status::text, sqlc.narg(technician_id)::bigint, sqlc.narg(planned_start)::timestamptz,
           sqlc.narg(planned_end)::timestamptz, false, sqlc.narg(offer_expires_at)::timestamptz,
           @created_at, @updated_at, @lat, @lng, @duration_minutes
    FROM ok
), o AS (
    INSERT INTO offers (job_id, technician_id, status, created_at, expires_at)
    SELECT ok.job_id, sqlc.narg(technician_id)::bigint, 'open', @created_at, sqlc.narg(offer_expires_at)::timestamptz
    FROM ok
    WHERE @offered::boolean
), n AS (
    INSERT INTO notifications (recipient_kind, recipient_subject, kind, job_id, booking_id, title, body, data, created_at)
    SELECT 'technician', sqlc.narg(notify_subject)::text, 'offer', ok.job_id, ok.booking_id, @notify_title::text, @notify_body::text,
           @notify_data::jsonb || jsonb_build_object('deep_link', @job_link_prefix::text || ok.job_id), @created_at
    FROM ok
    WHERE sqlc.narg(notify_subject)::text IS NOT NULL
    RETURNING id, recipient_kind, recipient_subject
), tl AS (
    INSERT INTO tracking_links (token, booking_id, created_at, expires_at)
    SELECT @tracking_token::text, ok.booking_id, @created_at, @tracking_expires_at::timestamptz
    FROM ok
), nc AS (
    -- the customer's "booking received", with the tracking link
    INSERT INTO notifications (recipient_kind, recipient_subject, kind, job_id, booking_id, title, body, data, created_at)
    SELECT 'customer', sqlc.narg(received_subject)::text, 'received', ok.job_id, ok.booking_id, @received_title::text, @received_body::text,
           @received_data::jsonb || jsonb_build_object('deep_link', 'fieldfix://bookings/' || ok.booking_id), @created_at
    FROM ok
    WHERE sqlc.narg(received_subject)::text IS NOT NULL
    RETURNING id, recipient_kind, recipient_subject
), p AS (
    INSERT INTO push_deliveries (notification_id, device_id, token, status, next_attempt_at, created_at, updated_at)
    SELECT n.id, d.id, d.token, 'pending', @created_at, @created_at, @created_at
    FROM (SELECT * FROM n UNION ALL SELECT * FROM nc) n
    JOIN devices d ON d.owner_kind = n.recipient_kind AND d.owner_subject = n.recipient_subject AND d.active
    WHERE @push::boolean
), a AS (
    INSERT INTO audit_events (at, actor_sub, actor_role, entity, entity_id, action, from_status, to_status, reason, data)
    SELECT (e.v->>'at')::timestamptz, e.v->>'actor_sub', e.v->>'actor_role', e.v->>'entity',
           CASE e.v->>'entity' WHEN 'booking' THEN ok.booking_id ELSE ok.job_id END,
           e.v->>'action', e.v->>'from_status', e.v->>'to_status', e.v->>'reason',
           CASE e.v->>'entity' WHEN 'booking' THEN e.v->'data' ELSE e.v->'data' || jsonb_build_object('booking_id', ok.booking_id) END
    FROM ok, jsonb_array_elements(@events::jsonb) WITH ORDINALITY AS e(v, n)
    ORDER BY e.n
)
-- booking_id 0: nothing written; notification_id 0: none.
SELECT COALESCE(ok.booking_id, 0)::bigint AS booking_id, COALESCE(ok.job_id, 0)::bigint AS job_id,
       COALESCE((SELECT n.id FROM n), 0)::bigint AS notification_id, COALESCE((SELECT nc.id FROM nc), 0)::bigint AS received_id,
       COALESCE(fresh.ok, false)::boolean AS plan_fresh
FROM fresh LEFT JOIN ok ON true;
