-- name: FeedbackInsert :one
INSERT INTO feedback (booking_id, customer_id, csat, nps, comment, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (booking_id) DO NOTHING
RETURNING *;

-- name: FeedbackGet :one
SELECT * FROM feedback WHERE booking_id = $1;

-- No row when the booking has an open complaint of that category already (complaints_one_open).
-- name: ComplaintInsert :one
INSERT INTO complaints (booking_id, customer_id, technician_id, category, description, status, created_at)
VALUES ($1, $2, $3, $4, $5, 'open', $6)
ON CONFLICT (booking_id, category) WHERE status IN ('open', 'acknowledged') DO NOTHING
RETURNING *;

-- name: ComplaintOpenFor :one
SELECT id FROM complaints WHERE booking_id = $1 AND category = $2 AND status IN ('open', 'acknowledged');

-- name: ComplaintLock :one
SELECT * FROM complaints WHERE id = $1 FOR UPDATE;

-- name: ComplaintGet :one
SELECT * FROM complaints WHERE id = $1;

-- name: ComplaintSave :one
UPDATE complaints SET status = $2, resolution = $3, acknowledged_at = $4, resolved_at = $5, version = version + 1
WHERE id = $1
RETURNING *;

-- name: ComplaintList :many
SELECT * FROM complaints
WHERE (sqlc.narg(customer_id)::bigint IS NULL OR customer_id = sqlc.narg(customer_id))
  AND (sqlc.arg(status)::text = '' OR status = sqlc.arg(status))
  AND (sqlc.arg(before)::bigint = 0 OR id < sqlc.arg(before))
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- name: ComplaintsUnacknowledged :many
SELECT * FROM complaints WHERE status = 'open' AND created_at < sqlc.arg(older_than)::timestamptz ORDER BY created_at LIMIT 200;

-- name: PurchaseSetExtendedWarranty :one
UPDATE purchases SET extended_warranty_from = $2, extended_warranty_until = $3 WHERE id = $1
RETURNING *;

-- KPIs over the bookings created in [from, to), grouped by tier, region, technician (the one
-- who made the last visit) or not at all. Arrivals and finishes are the phone's times when it
-- gave plausible ones (a report made offline), else the server's. A ratio or average with nothing to measure (a zero
-- denominator, an empty set) is NaN, which the store turns into JSON null.
-- name: KPIs :many
WITH period AS (
    SELECT b.id, b.tier, b.region, b.created_at, b.sla_due_at, b.status, b.customer_deferred,
           COALESCE(fv.on_site_device_at, fv.on_site_at) AS first_on_site,
           lv.status AS last_status, COALESCE(lv.finished_device_at, lv.finished_at) AS last_finished, lv.visit AS last_visit, lv.technician_id AS last_tech,
           (SELECT count(*) FROM complaints c WHERE c.booking_id = b.id) AS complaints,
           (SELECT COALESCE(sum(EXTRACT(epoch FROM COALESCE(j.finished_device_at, j.finished_at) - COALESCE(j.on_site_device_at, j.on_site_at))), 0) FROM jobs j
             WHERE j.booking_id = b.id AND j.finished_at IS NOT NULL AND j.on_site_at IS NOT NULL) AS handling_s,
           (SELECT count(*) FROM jobs j WHERE j.booking_id = b.id AND j.finished_at IS NOT NULL AND j.on_site_at IS NOT NULL) AS handled_visits,
           f.csat, f.nps,
           -- closed with the customer's sign-off (signature or code), and by the first visit with no
           -- revisit within 30 days: another visit of the booking, or a new booking of the customer
           -- for the same appliance
           EXISTS (SELECT 1 FROM jobs j JOIN signoffs s ON s.job_id = j.id
                   WHERE j.booking_id = b.id AND j.status = 'completed' AND s.method IN ('signature', 'code')) AS signed_off,
           (fv.status = 'completed' AND EXISTS (SELECT 1 FROM signoffs s WHERE s.job_id = fv.id AND s.method IN ('signature', 'code'))
              AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.booking_id = b.id AND r.visit > 1 AND r.created_at < fv.finished_at + interval '30 days')
              AND NOT EXISTS (SELECT 1 FROM bookings nb WHERE nb.customer_id = b.customer_id AND nb.appliance = b.appliance AND nb.id <> b.id
                                AND nb.created_at > fv.finished_at AND nb.created_at < fv.finished_at + interval '30 days')) AS signed_off_first_time,
           -- parts (issue 25): what the booking's visits consumed, at the catalogue's cost when moved;
           -- whether the first visit had a part on board (it consumed one from the van) and whether it
           -- needed one (it consumed one, or ended needing one it did not carry)
           (SELECT COALESCE(sum(m.quantity * m.unit_cost_minor), 0) FROM stock_moves m JOIN jobs j ON j.id = m.job_id
             WHERE j.booking_id = b.id AND m.kind = 'consume' AND m.unit_cost_minor IS NOT NULL) AS parts_cost,
           EXISTS (SELECT 1 FROM stock_moves m WHERE m.job_id = fv.id AND m.kind = 'consume') AS part_on_board,
           (EXISTS (SELECT 1 FROM stock_moves m WHERE m.job_id = fv.id AND m.kind = 'consume')
              OR EXISTS (SELECT 1 FROM part_requests r WHERE r.reported_on_job_id = fv.id)
              OR fv.outcome IN ('needs_part', 'needs_parts')) AS needed_part,
           b.supplier_deferred
    FROM bookings b
    LEFT JOIN jobs fv ON fv.booking_id = b.id AND fv.visit = 1
    LEFT JOIN LATERAL (SELECT j.status, j.finished_at, j.finished_device_at, j.visit, j.technician_id FROM jobs j
                       WHERE j.booking_id = b.id ORDER BY j.visit DESC LIMIT 1) lv ON true
    LEFT JOIN feedback f ON f.booking_id = b.id
    WHERE b.created_at >= sqlc.arg(from_time)::timestamptz AND b.created_at < sqlc.arg(to_time)::timestamptz
), keyed AS (
    SELECT p.*,
           (CASE sqlc.arg(group_by)::text
                WHEN 'tier' THEN p.tier
                WHEN 'region' THEN p.region
                WHEN 'technician' THEN COALESCE(p.last_tech::text, '')
                ELSE 'all' END)::text AS grp,
           (NOT p.customer_deferred AND p.first_on_site IS NOT NULL AND p.first_on_site <= p.sla_due_at) AS met,
           (NOT p.customer_deferred AND p.status <> 'cancelled' AND ((p.first_on_site IS NOT NULL AND p.first_on_site > p.sla_due_at)
                OR (p.first_on_site IS NULL AND p.sla_due_at < sqlc.arg(now_time)::timestamptz))) AS missed
    FROM period p
)
SELECT grp::text AS grp,
       count(*)::bigint AS bookings,
       count(*) FILTER (WHERE status = 'cancelled')::bigint AS cancelled,
       count(*) FILTER (WHERE met)::bigint AS sla_met,
       count(*) FILTER (WHERE missed)::bigint AS sla_missed,
       count(*) FILTER (WHERE customer_deferred AND status <> 'cancelled')::bigint AS sla_customer_deferred,
       COALESCE(((count(*) FILTER (WHERE met))::float8 / NULLIF(count(*) FILTER (WHERE met OR missed), 0))::float8, 'NaN')::float8 AS sla_compliance,
       COALESCE(((percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(epoch FROM first_on_site - created_at)))::float8), 'NaN')::float8 AS response_p50_s,
       COALESCE(((percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(epoch FROM first_on_site - created_at)))::float8), 'NaN')::float8 AS response_p90_s,
       COALESCE(((avg(EXTRACT(epoch FROM last_finished - created_at)) FILTER (WHERE last_status = 'completed'))::float8), 'NaN')::float8 AS resolution_avg_s,
       count(*) FILTER (WHERE last_status = 'completed')::bigint AS completed,
       COALESCE(((count(*) FILTER (WHERE last_status = 'completed' AND last_visit = 1))::float8 / NULLIF(count(*) FILTER (WHERE last_status = 'completed'), 0))::float8, 'NaN')::float8 AS first_time_fix_rate,
       count(*) FILTER (WHERE signed_off)::bigint AS signed_off,
       count(*) FILTER (WHERE signed_off_first_time)::bigint AS signed_off_fixed_first_time,
       COALESCE(((count(*) FILTER (WHERE signed_off_first_time))::float8 / NULLIF(count(*) FILTER (WHERE signed_off), 0))::float8, 'NaN')::float8 AS signed_off_first_time_fix_rate,
       COALESCE(((avg(csat))::float8), 'NaN')::float8 AS csat_avg,
       count(nps)::bigint AS feedback_count,
       COALESCE(((100.0 * (count(*) FILTER (WHERE nps >= 9) - count(*) FILTER (WHERE nps <= 6)))::float8 / NULLIF(count(nps), 0))::float8, 'NaN')::float8 AS nps,
       sum(complaints)::bigint AS complaints,
       COALESCE(((sum(complaints))::float8 / NULLIF(count(*) FILTER (WHERE last_status = 'completed'), 0))::float8, 'NaN')::float8 AS complaint_rate,
       COALESCE(((sum(handling_s))::float8 / NULLIF(sum(handled_visits), 0))::float8, 'NaN')::float8 AS handling_avg_s,
       count(*) FILTER (WHERE supplier_deferred AND status <> 'cancelled')::bigint AS sla_supplier_deferred,
       sum(parts_cost)::bigint AS parts_cost_minor,
       COALESCE(((sum(parts_cost))::float8 / NULLIF(sum(handled_visits), 0))::float8, 'NaN')::float8 AS parts_cost_per_visit_minor,
       count(*) FILTER (WHERE needed_part)::bigint AS first_visits_needing_part,
       count(*) FILTER (WHERE part_on_board)::bigint AS first_visits_part_on_board,
       COALESCE(((count(*) FILTER (WHERE part_on_board AND last_status = 'completed' AND last_visit = 1))::float8
                 / NULLIF(count(*) FILTER (WHERE part_on_board), 0))::float8, 'NaN')::float8 AS first_time_fix_rate_part_on_board,
       COALESCE(((count(*) FILTER (WHERE needed_part AND NOT part_on_board AND last_status = 'completed' AND last_visit = 1))::float8
                 / NULLIF(count(*) FILTER (WHERE needed_part AND NOT part_on_board), 0))::float8, 'NaN')::float8 AS first_time_fix_rate_part_missing
FROM keyed
GROUP BY grp
ORDER BY grp;

-- Utilisation: time on site over scheduled shift time in [from, to), per technician.
-- name: Utilisation :many
WITH days AS (
    -- Calendar days are UTC days, whatever the session's time zone.
    SELECT d::date AS day FROM generate_series(sqlc.arg(from_time)::timestamptz AT TIME ZONE 'UTC',
        (sqlc.arg(to_time)::timestamptz AT TIME ZONE 'UTC') - interval '1 second', interval '1 day') d
), shift_s AS (
    SELECT t.id AS technician_id, COALESCE(sum(EXTRACT(epoch FROM (s->>'end')::time - (s->>'start')::time)), 0)::float8 AS shift_seconds
    FROM technicians t
    CROSS JOIN days
    CROSS JOIN LATERAL jsonb_array_elements(t.weekly_shifts) s
    WHERE lower(to_char(days.day, 'dy')) = s->>'day'
    GROUP BY t.id
), site_s AS (
    SELECT j.technician_id, COALESCE(sum(EXTRACT(epoch FROM COALESCE(j.finished_device_at, j.finished_at) - COALESCE(j.on_site_device_at, j.on_site_at))), 0)::float8 AS onsite_seconds
    FROM jobs j
    WHERE COALESCE(j.on_site_device_at, j.on_site_at) >= sqlc.arg(from_time)::timestamptz
      AND COALESCE(j.on_site_device_at, j.on_site_at) < sqlc.arg(to_time)::timestamptz AND j.finished_at IS NOT NULL
    GROUP BY j.technician_id
)
SELECT sh.technician_id, sh.shift_seconds, COALESCE(si.onsite_seconds, 0)::float8 AS onsite_seconds
FROM shift_s sh LEFT JOIN site_s si ON si.technician_id = sh.technician_id
ORDER BY sh.technician_id;
