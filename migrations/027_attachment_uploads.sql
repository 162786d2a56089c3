-- Two-step uploads: the technician's app asks for an upload URL (a presigned PUT on the S3 store,
-- or the API's own PUT /v1/uploads/{token} with PostgreSQL), sends the bytes there, then confirms;
-- only the confirmation checks them and records the attachment. The bytes wait under staging_key.
CREATE TABLE attachment_uploads (
    id            bigserial PRIMARY KEY,
    job_id        bigint      NOT NULL REFERENCES jobs (id),
    kind          text        NOT NULL,
    filename      text        NOT NULL DEFAULT '',
    declared_type text        NOT NULL DEFAULT '', -- the type the app says it sends; the content must agree
    staging_key   text        NOT NULL UNIQUE,
    token_hash    text UNIQUE,            -- SHA-256 of the API's own upload URL token; null with a presigned PUT
    uploaded_by   text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    attachment_id bigint REFERENCES attachments (id), -- set by the confirmation
    created_at    timestamptz NOT NULL
);
CREATE INDEX attachment_uploads_job ON attachment_uploads (job_id);
