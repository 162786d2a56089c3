-- Proof of work (issue 23): checklists, photos and files, the customer's sign-off.

-- A checklist template per service type and appliance ('' = any appliance of that service type);
-- one active template per pair. Items are kept as JSON (key, label, kind, required, unit, range).
CREATE TABLE checklist_templates (
    id           bigserial PRIMARY KEY,
    name         text        NOT NULL,
    service_type text        NOT NULL,
    appliance    text        NOT NULL DEFAULT '',
    items        jsonb       NOT NULL,
    active       boolean     NOT NULL DEFAULT true,
    version      integer     NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX checklist_templates_one_active ON checklist_templates (service_type, appliance) WHERE active;

-- A visit's checklist: the template's items as they were when the visit got them, and the answers
-- (item key → value). A template changed later does not move a visit's checklist.
CREATE TABLE job_checklists (
    job_id      bigint PRIMARY KEY REFERENCES jobs (id),
    template_id bigint REFERENCES checklist_templates (id),
    items       jsonb       NOT NULL,
    answers     jsonb       NOT NULL DEFAULT '{}',
    version     integer     NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL
);

-- The bytes of attachments when PostgreSQL is the blob store (FIELDFIX_BLOB_URL unset).
CREATE TABLE blobs (
    key          text PRIMARY KEY,
    content_type text        NOT NULL,
    content      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Photos and files of a visit; the bytes are in the blob store under blob_key (and thumb_key).
CREATE TABLE attachments (
    id           bigserial PRIMARY KEY,
    job_id       bigint      NOT NULL REFERENCES jobs (id),
    kind         text        NOT NULL CHECK (kind IN ('before', 'after', 'serial_plate', 'part', 'other', 'signature')),
    content_type text        NOT NULL,
    size_bytes   bigint      NOT NULL CHECK (size_bytes > 0),
    sha256       text        NOT NULL,
    blob_key     text        NOT NULL UNIQUE,
    thumb_key    text,
    filename     text        NOT NULL DEFAULT '',
    width        integer,
    height       integer,
    taken_at     timestamptz,
    lat          double precision,
    lng          double precision,
    uploaded_by  text        NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX attachments_job ON attachments (job_id, id);

-- The customer's word on a visit: signed (a drawn signature), accepted (the acceptance code typed
-- by the technician) or refused (with the reason, which opened a complaint). Once per visit.
CREATE TABLE signoffs (
    job_id                  bigint PRIMARY KEY REFERENCES jobs (id),
    method                  text        NOT NULL CHECK (method IN ('signature', 'code', 'refused')),
    signer_name             text        NOT NULL DEFAULT '',
    strokes                 jsonb,
    signature_attachment_id bigint REFERENCES attachments (id),
    refusal_reason          text        NOT NULL DEFAULT '',
    complaint_id            bigint REFERENCES complaints (id),
    technician_sub          text        NOT NULL,
    signed_at               timestamptz NOT NULL
);
CREATE INDEX signoffs_refused ON signoffs (signed_at) WHERE method = 'refused';
-- How and when the visit was signed off is part of the visit (the job answers it).
ALTER TABLE jobs ADD COLUMN signoff_method text, ADD COLUMN signed_off_at timestamptz;

-- The one-time acceptance code of a visit, as a salted hash: sent to the customer at on_site,
-- typed by the technician; it expires, allows 5 tries, and may be sent again a few times.
CREATE TABLE acceptance_codes (
    job_id     bigint PRIMARY KEY REFERENCES jobs (id),
    code_hash  text        NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    sends      integer     NOT NULL DEFAULT 1,
    sent_at    timestamptz NOT NULL
);
