-- Proof of work: checklist templates, a visit's checklist, attachments, blobs, sign-offs.

-- name: ChecklistTemplateInsert :one
INSERT INTO checklist_templates (name, service_type, appliance, items, active, created_at, updated_at)
VALUES ($1, $2, $3, $4, true, sqlc.arg(now)::timestamptz, sqlc.arg(now)::timestamptz)
RETURNING *;

-- name: ChecklistTemplateGet :one
SELECT * FROM checklist_templates WHERE id = $1;

-- name: ChecklistTemplateLock :one
SELECT * FROM checklist_templates WHERE id = $1 FOR UPDATE;

-- name: ChecklistTemplateSave :one
UPDATE checklist_templates SET name = $2, items = $3, active = $4, updated_at = $5, version = version + 1
WHERE id = $1
RETURNING *;

-- name: ChecklistTemplateList :many
SELECT * FROM checklist_templates ORDER BY service_type, appliance, id;

-- The active template for a visit: the appliance's own, else the service type's catch-all ('').
-- name: ChecklistTemplateFor :one
SELECT * FROM checklist_templates
WHERE active AND service_type = $1 AND appliance IN ($2, '')
ORDER BY appliance DESC
LIMIT 1;

-- name: JobChecklistGet :one
SELECT * FROM job_checklists WHERE job_id = $1;

-- A visit gets its checklist once: a second writer (a race) keeps the first one's.
-- name: JobChecklistCreate :exec
INSERT INTO job_checklists (job_id, template_id, items, answers, updated_at)
VALUES ($1, $2, $3, '{}', $4)
ON CONFLICT (job_id) DO NOTHING;

-- name: JobChecklistSave :one
UPDATE job_checklists SET answers = $2, updated_at = $3, version = version + 1
WHERE job_id = $1
RETURNING *;

-- name: BlobPut :exec
INSERT INTO blobs (key, content_type, content) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET content_type = EXCLUDED.content_type, content = EXCLUDED.content; -- an upload sent again replaces its bytes

-- name: BlobGet :one
SELECT content_type, content FROM blobs WHERE key = $1;

-- name: BlobDelete :exec
DELETE FROM blobs WHERE key = $1;

-- name: AttachmentInsert :one
INSERT INTO attachments (job_id, kind, content_type, size_bytes, sha256, blob_key, thumb_key, filename, width, height,
                         taken_at, lat, lng, uploaded_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING *;

-- name: AttachmentGet :one
SELECT * FROM attachments WHERE id = $1;

-- name: AttachmentsOf :many
SELECT * FROM attachments WHERE job_id = $1 ORDER BY id;

-- name: AttachmentUsage :one
SELECT count(*)::integer AS files, COALESCE(sum(size_bytes), 0)::bigint AS bytes
FROM attachments WHERE job_id = $1 AND kind <> 'signature';

-- name: SignoffGet :one
SELECT * FROM signoffs WHERE job_id = $1;

-- name: SignoffInsert :one
INSERT INTO signoffs (job_id, method, signer_name, strokes, signature_attachment_id, refusal_reason, complaint_id,
                      technician_sub, signed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (job_id) DO NOTHING
RETURNING *;

-- The sign-off on the job's own row (no plan moves: the plan version trigger ignores it).
-- name: JobSignedOff :exec
UPDATE jobs SET signoff_method = $2, signed_off_at = $3 WHERE id = $1;

-- name: AcceptanceCodeGet :one
SELECT * FROM acceptance_codes WHERE job_id = $1 FOR UPDATE;

-- name: AcceptanceCodeUpsert :exec
INSERT INTO acceptance_codes (job_id, code_hash, expires_at, attempts, sends, sent_at)
VALUES ($1, $2, $3, 0, 1, $4)
ON CONFLICT (job_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, expires_at = EXCLUDED.expires_at, attempts = 0,
    sends = acceptance_codes.sends + 1, sent_at = EXCLUDED.sent_at;

-- name: AcceptanceCodeTried :exec
UPDATE acceptance_codes SET attempts = attempts + 1 WHERE job_id = $1;

-- Refused sign-offs in [from, to), newest first, with the complaint each opened.
-- name: RefusedSignoffs :many
SELECT s.job_id, j.booking_id, s.refusal_reason, s.complaint_id, s.technician_sub, s.signed_at,
       COALESCE(t.name, '')::text AS technician_name
FROM signoffs s JOIN jobs j ON j.id = s.job_id LEFT JOIN technicians t ON t.id = j.technician_id
WHERE s.method = 'refused' AND s.signed_at >= sqlc.arg(from_time)::timestamptz AND s.signed_at < sqlc.arg(to_time)::timestamptz
ORDER BY s.signed_at DESC
LIMIT 500;

-- First-time fix by sign-off: visits finished completed in [from, to) and signed off (signature or
-- code), and of those, how many were not followed within 30 days by a revisit: another visit of the
-- same booking, or a new booking of the same customer for the same appliance.
-- name: SignedOffFirstTimeFix :one
SELECT count(*)::integer AS signed_off,
       count(*) FILTER (WHERE NOT EXISTS (
           SELECT 1 FROM jobs r WHERE r.booking_id = j.booking_id AND r.visit > j.visit
             AND r.created_at < j.finished_at + interval '30 days')
         AND NOT EXISTS (
           SELECT 1 FROM bookings nb WHERE nb.customer_id = b.customer_id AND nb.appliance = b.appliance AND nb.id <> b.id
             AND nb.created_at > j.finished_at AND nb.created_at < j.finished_at + interval '30 days'))::integer AS fixed_first_time,
       (SELECT count(*) FROM signoffs x WHERE x.method = 'refused'
          AND x.signed_at >= sqlc.arg(from_time)::timestamptz AND x.signed_at < sqlc.arg(to_time)::timestamptz)::integer AS refused
FROM jobs j JOIN signoffs s ON s.job_id = j.id JOIN bookings b ON b.id = j.booking_id
WHERE s.method IN ('signature', 'code') AND j.status = 'completed'
  AND j.finished_at >= sqlc.arg(from_time)::timestamptz AND j.finished_at < sqlc.arg(to_time)::timestamptz;

-- name: UploadInsert :one
INSERT INTO attachment_uploads (job_id, kind, filename, declared_type, staging_key, token_hash, uploaded_by, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: UploadGet :one
SELECT * FROM attachment_uploads WHERE id = $1;

-- name: UploadLock :one
SELECT * FROM attachment_uploads WHERE id = $1 FOR UPDATE;

-- name: UploadByToken :one
SELECT * FROM attachment_uploads WHERE token_hash = $1;

-- name: UploadConfirmed :exec
UPDATE attachment_uploads SET attachment_id = $2 WHERE id = $1;

-- name: JobPartPrices :many
-- What a paid visit charged for each part it consumed (the catalogue's price when consumed), in
-- the business's currency.
SELECT m.sku, max(m.unit_price_minor)::bigint AS unit_price_minor, s.currency
FROM stock_moves m, money_settings s
WHERE m.job_id = $1 AND m.kind = 'consume' AND m.unit_price_minor IS NOT NULL AND s.business = 'main'
GROUP BY m.sku, s.currency;
