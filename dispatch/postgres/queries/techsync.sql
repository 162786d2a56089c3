-- The technician app's sync (dispatch/techsync). Transaction ids are xid8, carried as bigint.

-- The oldest transaction still running at this statement's snapshot: every one below it has ended.
-- name: SyncWatermark :one
SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS watermark;

-- name: SyncChanges :many
SELECT (txid::text)::bigint AS txid, entity, entity_id FROM technician_changes
WHERE technician_id = sqlc.arg(technician_id)::bigint
  AND txid >= (sqlc.arg(after)::bigint::text)::xid8 AND txid < (sqlc.arg(before)::bigint::text)::xid8
ORDER BY txid, id
LIMIT sqlc.arg(max_rows);

-- The jobs of a technician's world in [from_time, to_time), and their open offers.
-- name: SyncWorldJobIDs :many
SELECT j.id FROM jobs j
WHERE j.technician_id = sqlc.arg(technician_id)::bigint
  AND (j.status IN ('en_route', 'on_site')
       OR (j.status IN ('unassigned', 'offered', 'accepted')
           AND j.planned_start < sqlc.arg(to_time)::timestamptz AND j.planned_end > sqlc.arg(from_time)::timestamptz)
       OR (j.status IN ('completed', 'incomplete') AND j.finished_at >= sqlc.arg(from_time)::timestamptz))
UNION
SELECT o.job_id FROM offers o WHERE o.technician_id = sqlc.arg(technician_id)::bigint AND o.status = 'open'
ORDER BY 1;

-- Jobs as a technician's app holds them: the booking, the latest offer to the technician, the
-- checklist (the visit's, else the template it would get), the photos; known says whether the
-- job was ever in the technician's world.
-- name: SyncVisits :many
SELECT sqlc.embed(j), sqlc.embed(b),
       COALESCE((SELECT jsonb_build_object('id', o.id, 'technician_id', o.technician_id, 'status', o.status,
                                           'created_at', o.created_at, 'expires_at', o.expires_at,
                                           'responded_at', o.responded_at, 'reason', o.reason)
                 FROM offers o WHERE o.job_id = j.id AND o.technician_id = sqlc.arg(technician_id)::bigint
                 ORDER BY o.id DESC LIMIT 1), 'null')::jsonb AS offer,
       COALESCE((SELECT jsonb_build_object('template_id', c.template_id, 'items', c.items, 'answers', c.answers, 'version', c.version)
                 FROM job_checklists c WHERE c.job_id = j.id),
                (SELECT jsonb_build_object('template_id', t.id, 'items', t.items, 'answers', '{}'::jsonb, 'version', 0)
                 FROM checklist_templates t
                 WHERE t.active AND t.service_type = b.service_type AND t.appliance IN (b.appliance, '')
                 ORDER BY t.appliance DESC LIMIT 1), 'null')::jsonb AS checklist,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'kind', a.kind, 'sha256', a.sha256,
                                                     'content_type', a.content_type, 'created_at', a.created_at) ORDER BY a.id)
                 FROM attachments a WHERE a.job_id = j.id AND a.kind <> 'signature'), '[]')::jsonb AS attachments,
       (j.technician_id IS NOT DISTINCT FROM sqlc.arg(technician_id)::bigint
        OR EXISTS (SELECT 1 FROM offers o WHERE o.job_id = j.id AND o.technician_id = sqlc.arg(technician_id)::bigint)
        OR EXISTS (SELECT 1 FROM technician_changes c WHERE c.technician_id = sqlc.arg(technician_id)::bigint
                   AND c.entity = 'job' AND c.entity_id = j.id))::boolean AS known
FROM jobs j JOIN bookings b ON b.id = j.booking_id
WHERE j.id = ANY(sqlc.arg(ids)::bigint[])
ORDER BY j.planned_start NULLS LAST, j.id;

-- name: SyncNotifications :many
SELECT * FROM notifications
WHERE id = ANY(sqlc.arg(ids)::bigint[]) AND recipient_kind = 'technician' AND recipient_subject = sqlc.arg(subject)::text
ORDER BY id;

-- A first pull's notifications: those whose change the next pull would bring are left to it.
-- name: SyncRecentNotifications :many
SELECT n.* FROM notifications n
WHERE n.recipient_kind = 'technician' AND n.recipient_subject = sqlc.arg(subject)::text
  AND n.created_at >= sqlc.arg(since)::timestamptz
  AND NOT EXISTS (SELECT 1 FROM technician_changes c
                  WHERE c.technician_id = sqlc.arg(technician_id)::bigint AND c.entity = 'notification' AND c.entity_id = n.id
                    AND c.txid >= (sqlc.arg(watermark)::bigint::text)::xid8)
ORDER BY n.id DESC
LIMIT sqlc.arg(max_rows);

-- name: SyncTimeOff :many
SELECT * FROM technician_time_off WHERE technician_id = $1 AND id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY starts_at, id;

-- name: SyncTimeOffBetween :many
SELECT * FROM technician_time_off
WHERE technician_id = $1 AND ends_at > sqlc.arg(from_time)::timestamptz AND starts_at < sqlc.arg(to_time)::timestamptz
ORDER BY starts_at, id;

-- A key is claimed when new, or taken over when its claim is pending and older than 30 s (the
-- request that claimed it died); no row: it is taken.
-- name: SyncActClaim :one
INSERT INTO technician_sync_actions (technician_id, key, kind, request_hash, state, claimed_at)
VALUES ($1, $2, $3, $4, 'pending', sqlc.arg(now)::timestamptz)
ON CONFLICT (technician_id, key) DO UPDATE SET claimed_at = EXCLUDED.claimed_at
WHERE technician_sync_actions.state = 'pending' AND technician_sync_actions.request_hash = EXCLUDED.request_hash
  AND technician_sync_actions.claimed_at < EXCLUDED.claimed_at - interval '30 seconds'
RETURNING key;

-- name: SyncActGet :one
SELECT * FROM technician_sync_actions WHERE technician_id = $1 AND key = $2;

-- name: SyncActFinish :exec
UPDATE technician_sync_actions SET state = 'done', answer = $3, done_at = sqlc.arg(now)::timestamptz
WHERE technician_id = $1 AND key = $2;

-- name: SyncActRelease :exec
DELETE FROM technician_sync_actions WHERE technician_id = $1 AND key = $2 AND state = 'pending';

-- A new sign-in link revokes the technician's earlier unused ones.
-- name: SigninLinksRevoke :exec
UPDATE technician_signin_links SET revoked_at = sqlc.arg(now)::timestamptz
WHERE technician_id = $1 AND used_at IS NULL AND revoked_at IS NULL;

-- name: SigninLinkCreate :exec
INSERT INTO technician_signin_links (technician_id, code_sha256, created_by, created_at, expires_at)
VALUES ($1, $2, $3, sqlc.arg(now)::timestamptz, sqlc.arg(expires_at)::timestamptz);

-- Redeeming is one statement: of two phones opening the link at once, one gets the row.
-- name: SigninLinkRedeem :one
UPDATE technician_signin_links SET used_at = sqlc.arg(now)::timestamptz
WHERE code_sha256 = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > sqlc.arg(now)::timestamptz
RETURNING technician_id;

-- name: SigninLinkGet :one
SELECT * FROM technician_signin_links WHERE code_sha256 = $1;

-- Below this transaction id the change log may have been pruned (0: never).
-- name: SyncHorizon :one
SELECT coalesce((SELECT pruned_below FROM technician_sync_horizon), 0)::bigint AS pruned_below;

-- A change row's time is the database's (now() at its transaction), so its age is too: a server
-- on a simulated clock (fieldfix sim) prunes by the real one.
-- name: SyncPruneChanges :one
WITH gone AS (DELETE FROM technician_changes WHERE at < now() - make_interval(secs => sqlc.arg(keep_seconds)::float8) RETURNING txid)
SELECT count(*)::bigint AS pruned, coalesce(max((txid::text)::bigint) + 1, 0)::bigint AS below FROM gone;

-- name: SyncSetHorizon :exec
INSERT INTO technician_sync_horizon (pruned_below, pruned_at) VALUES (sqlc.arg(below)::bigint, sqlc.arg(now)::timestamptz)
ON CONFLICT (only_row) DO UPDATE SET pruned_below = GREATEST(technician_sync_horizon.pruned_below, EXCLUDED.pruned_below),
                                     pruned_at = EXCLUDED.pruned_at;

-- name: SyncPruneActions :execrows
DELETE FROM technician_sync_actions WHERE claimed_at < sqlc.arg(cutoff)::timestamptz;

-- name: SigninLinksPrune :execrows
DELETE FROM technician_signin_links WHERE expires_at < sqlc.arg(cutoff)::timestamptz;
