// Package s3blob keeps attachments' bytes in an S3-compatible object store through minio-go
// (AWS S3, MinIO, Ceph, R2...), for fleets whose photos outgrow the database; clients fetch the
// bytes with presigned GETs, so they never pass through the API.
package s3blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/proof"
)

// Store is a bucket of an S3-compatible store.
type Store struct {
	c      *minio.Client
	bucket string
}

var _ proof.Blobs = (*Store)(nil)

// Open connects to the bucket FIELDFIX_BLOB_URL names, creating it when missing:
//
//	s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket[?region=eu-west-3]   (TLS)
//	s3+http://ACCESS_KEY:SECRET_KEY@host:port/bucket                   (plain HTTP, a local MinIO)
//
// Without keys in the URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are used.
func Open(ctx context.Context, raw string) (*Store, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("FIELDFIX_BLOB_URL: %w", err)
	}
	if u.Scheme != "s3" && u.Scheme != "s3+http" {
		return nil, fmt.Errorf("FIELDFIX_BLOB_URL: scheme %q: want s3:// or s3+http://", u.Scheme)
	}
	bucket := strings.Trim(u.Path, "/")
	if u.Host == "" || bucket == "" || strings.Contains(bucket, "/") {
		return nil, fmt.Errorf("FIELDFIX_BLOB_URL: want s3://[key:secret@]host/bucket")
	}
	creds := credentials.NewEnvAWS()
	if u.User != nil {
		secret, _ := u.User.Password()
		creds = credentials.NewStaticV4(u.User.Username(), secret, "")
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: creds, Secure: u.Scheme == "s3", Region: u.Query().Get("region"),
		BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, fmt.Errorf("FIELDFIX_BLOB_URL: %w", err)
	}
	s := &Store{c: c, bucket: bucket}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", u.Host, err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: u.Query().Get("region")}); err != nil {
			return nil, fmt.Errorf("blob store: create bucket %s: %w", bucket, err)
		}
	}
	return s, nil
}

// FromEnv is the store FIELDFIX_BLOB_URL names, or nil when it is unset (PostgreSQL keeps the bytes).
func FromEnv(ctx context.Context, getenv func(string) string) (*Store, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	raw := getenv("FIELDFIX_BLOB_URL")
	if raw == "" {
		return nil, nil
	}
	return Open(ctx, raw)
}

func (s *Store) Put(ctx context.Context, key, contentType string, data []byte) error {
	_, err := s.c.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: contentType})
	return err
}

func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	if _, err := o.Stat(); err != nil {
		o.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" { // nothing put there (yet): a two-step upload not sent
			return nil, dispatch.NotFound("blob", key)
		}
		return nil, err
	}
	return o, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	return s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
}

// PutURL is a presigned PUT of key, good for ttl: the app sends a two-step upload's bytes there.
func (s *Store) PutURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := s.c.PresignedPutObject(ctx, s.bucket, key, ttl)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// URL is a presigned GET of key, good for ttl.
func (s *Store) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := s.c.PresignedGetObject(ctx, s.bucket, key, ttl, url.Values{})
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
