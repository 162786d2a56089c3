package postgres

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/postgres/internal/db"
	"github.com/fieldfix/fieldfix/dispatch/proof"
)

// ---- two-step uploads ----

func uploadFrom(r db.AttachmentUpload) proof.PendingUpload {
	return proof.PendingUpload{ID: r.ID, JobID: r.JobID, Kind: r.Kind, Filename: r.Filename, DeclaredType: r.DeclaredType, StagingKey: r.StagingKey,
		TokenHash: r.TokenHash, UploadedBy: r.UploadedBy, ExpiresAt: r.ExpiresAt.UTC(), AttachmentID: r.AttachmentID, CreatedAt: r.CreatedAt.UTC()}
}

func (s proofStore) AddUpload(ctx context.Context, u proof.PendingUpload) (proof.PendingUpload, error) {
	r, err := s.q.UploadInsert(ctx, db.UploadInsertParams{JobID: u.JobID, Kind: u.Kind, Filename: u.Filename, DeclaredType: u.DeclaredType,
		StagingKey: u.StagingKey, TokenHash: u.TokenHash, UploadedBy: u.UploadedBy, ExpiresAt: u.ExpiresAt, CreatedAt: u.CreatedAt})
	if err != nil {
		return proof.PendingUpload{}, mapErr(err)
	}
	return uploadFrom(r), nil
}

func (s proofStore) GetUpload(ctx context.Context, id int64, lock bool) (proof.PendingUpload, error) {
	get := s.q.UploadGet
	if lock {
		get = s.q.UploadLock
	}
	r, err := get(ctx, id)
	if err != nil {
		return proof.PendingUpload{}, notFound(err, "upload", id)
	}
	return uploadFrom(r), nil
}

func (s proofStore) UploadByToken(ctx context.Context, tokenHash string) (proof.PendingUpload, error) {
	r, err := s.q.UploadByToken(ctx, &tokenHash)
	if err != nil {
		return proof.PendingUpload{}, notFound(err, "upload", "of this URL")
	}
	return uploadFrom(r), nil
}

func (s proofStore) UploadConfirmed(ctx context.Context, id, attachmentID int64) error {
	return mapErr(s.q.UploadConfirmed(ctx, id, &attachmentID))
}

// PutURL is "": PostgreSQL has no presigned PUTs (the API takes the bytes).
func (Blobs) PutURL(context.Context, string, time.Duration) (string, error) { return "", nil }
