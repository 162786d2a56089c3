package proof

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// PendingUpload is the first step of a two-step upload: where its bytes wait (StagingKey) until
// the technician confirms them.
type PendingUpload struct {
	ID           int64
	JobID        int64
	Kind         string
	Filename     string
	DeclaredType string
	StagingKey   string
	TokenHash    *string // the API's own upload URL (no presigned PUT): SHA-256 of its token
	UploadedBy   string
	ExpiresAt    time.Time
	AttachmentID *int64 // once confirmed
	CreatedAt    time.Time
}

// Uploads are the two-step uploads waiting for their bytes or their confirmation.
type Uploads interface {
	AddUpload(ctx context.Context, u PendingUpload) (PendingUpload, error)
	// GetUpload reads an upload; with lock its row is locked until the transaction ends.
	GetUpload(ctx context.Context, id int64, lock bool) (PendingUpload, error)
	UploadByToken(ctx context.Context, tokenHash string) (PendingUpload, error)
	UploadConfirmed(ctx context.Context, id, attachmentID int64) error
}

// UploadTicket tells the app where to send an upload's bytes: a presigned PUT of the S3 store
// (absolute), or the API's own PUT /v1/uploads/{token} (a path).
type UploadTicket struct {
	Upload PendingUpload
	URL    string
}

// UploadPath is the API's own upload URL for token.
func UploadPath(token string) string { return "/v1/uploads/" + token }

// StartUpload opens a two-step upload to visit jobID (its technician, while the visit is in
// hand): the bytes go to the returned URL within Policy.URLTTL, then ConfirmUpload checks and
// records them. declared, when given, is the type the file must turn out to be.
func (s *Service) StartUpload(ctx context.Context, a dispatch.Actor, jobID int64, kind, filename, declared string) (UploadTicket, error) {
	if a.Role != dispatch.RoleTechnician {
		return UploadTicket{}, dispatch.Forbidden("only the visit's technician adds photos and files")
	}
	if !slices.Contains(AttachmentKinds, kind) {
		return UploadTicket{}, dispatch.Invalid("kind", "invalid_kind", "kind must be one of %s", strings.Join(AttachmentKinds, ", "))
	}
	filename, err := cleanFilename(filename)
	if err != nil {
		return UploadTicket{}, err
	}
	if declared != "" {
		if _, _, err := mime.ParseMediaType(declared); err != nil {
			return UploadTicket{}, dispatch.Invalid("content_type", "invalid_content_type", "content_type is not a media type")
		}
	}
	v, err := visitFor(ctx, s.Store, a, jobID, false)
	if err != nil {
		return UploadTicket{}, err
	}
	if err := working(v.Job); err != nil {
		return UploadTicket{}, err
	}
	now := s.Now()
	u := PendingUpload{JobID: jobID, Kind: kind, Filename: filename, DeclaredType: declared, StagingKey: randomKey(fmt.Sprintf("uploads/jobs/%d/", jobID)),
		UploadedBy: a.Subject, ExpiresAt: now.Add(s.Policy.URLTTL), CreatedAt: now}
	url, err := s.Blobs.PutURL(ctx, u.StagingKey, s.Policy.URLTTL)
	if err != nil {
		return UploadTicket{}, err
	}
	if url == "" { // no presigned PUT (PostgreSQL): the API takes the bytes, on a token good for as long
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		token := hex.EncodeToString(b)
		h := dispatch.SecretHash(token)
		u.TokenHash, url = &h, UploadPath(token)
	}
	if u, err = s.Store.AddUpload(ctx, u); err != nil {
		return UploadTicket{}, err
	}
	return UploadTicket{Upload: u, URL: url}, nil
}

// ReceiveUpload takes the bytes sent to the API's own upload URL: up to the size cap, before
// the URL expires, and before the upload is confirmed. Sent again, they replace the first.
func (s *Service) ReceiveUpload(ctx context.Context, token string, r io.Reader) (int64, error) {
	u, err := s.Store.UploadByToken(ctx, dispatch.SecretHash(token))
	if err != nil {
		return 0, err
	}
	if u.AttachmentID != nil {
		return 0, dispatch.Conflict("upload_confirmed", "this upload was confirmed as attachment %d", *u.AttachmentID)
	}
	if s.Now().After(u.ExpiresAt) {
		return 0, dispatch.Conflict("upload_expired", "the upload URL expired at %s: ask for another", u.ExpiresAt.Format(time.RFC3339))
	}
	data, err := s.readCapped(r)
	if err != nil {
		return 0, err
	}
	return int64(len(data)), s.Blobs.Put(ctx, u.StagingKey, "application/octet-stream", data)
}

// ConfirmUpload checks the bytes sent for upload id of visit jobID, as Upload checks a file sent
// at once (size cap, type by content, the visit's caps), records the attachment and marks the
// upload confirmed in one transaction: two confirmations race to one attachment, the other is
// 409 upload_confirmed. The upload must be confirmed within Policy.URLTTL after its URL expired.
// Whether taken or refused, the staged bytes are then removed.
func (s *Service) ConfirmUpload(ctx context.Context, a dispatch.Actor, jobID, id int64) (Attachment, error) {
	if a.Role != dispatch.RoleTechnician {
		return Attachment{}, dispatch.Forbidden("only the visit's technician adds photos and files")
	}
	v, err := visitFor(ctx, s.Store, a, jobID, false)
	if err != nil {
		return Attachment{}, err
	}
	u, err := s.Store.GetUpload(ctx, id, false)
	if err != nil || u.JobID != jobID || u.UploadedBy != a.Subject {
		return Attachment{}, dispatch.NotFound("upload", id)
	}
	if u.AttachmentID != nil {
		return Attachment{}, dispatch.Conflict("upload_confirmed", "this upload was confirmed as attachment %d", *u.AttachmentID)
	}
	if s.Now().After(u.ExpiresAt.Add(s.Policy.URLTTL)) {
		s.dropStaged(ctx, u.StagingKey)
		return Attachment{}, dispatch.Conflict("upload_expired", "the upload expired at %s: upload the file again", u.ExpiresAt.Format(time.RFC3339))
	}
	if err := working(v.Job); err != nil {
		return Attachment{}, err
	}
	rc, err := s.Blobs.Open(ctx, u.StagingKey)
	if errors.Is(err, dispatch.ErrNotFound) {
		return Attachment{}, dispatch.Conflict("upload_missing", "nothing has been sent to the upload URL yet")
	}
	if err != nil {
		return Attachment{}, err
	}
	data, err := s.readCapped(rc)
	rc.Close()
	if err == nil {
		var out Attachment
		out, err = s.keep(ctx, a, jobID, u.Kind, u.Filename, u.DeclaredType, data, func(st Store, out Attachment) error {
			u, err := st.GetUpload(ctx, id, true)
			if err != nil {
				return err
			}
			if u.AttachmentID != nil {
				return dispatch.Conflict("upload_confirmed", "this upload was confirmed as attachment %d", *u.AttachmentID)
			}
			return st.UploadConfirmed(ctx, id, out.ID)
		})
		if err == nil {
			s.dropStaged(ctx, u.StagingKey)
			return out, nil
		}
	}
	var de *dispatch.Error
	if errors.As(err, &de) && de.Code != "upload_confirmed" && de.Kind != dispatch.KindInternal {
		s.dropStaged(ctx, u.StagingKey) // refused: the app sends the file again on a new upload
	}
	return Attachment{}, err
}

func (s *Service) dropStaged(ctx context.Context, key string) {
	if err := s.Blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.Log.Warn("staged upload left behind", "key", key, "err", err)
	}
}
