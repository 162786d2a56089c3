package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/fieldfix/fieldfix/dispatch/pdf"
	"github.com/fieldfix/fieldfix/dispatch/proof"
	"github.com/fieldfix/fieldfix/dispatch/s3blob"
)

// proofSetup applies the business's proof-of-work choices to svc and picks the blob store:
// FIELDFIX_BLOB_URL's S3-compatible bucket, or PostgreSQL. It returns the line the server prints.
func proofSetup(ctx context.Context, getenv func(string) string, svc *proof.Service, log *slog.Logger) (string, error) {
	p := svc.Policy
	p.SignOff = envOr(getenv, "FIELDFIX_SIGNOFF", p.SignOff)
	if !slices.Contains([]string{proof.SignOffOptional, proof.SignOffAny, proof.SignOffSignature, proof.SignOffCode}, p.SignOff) {
		return "", fmt.Errorf("FIELDFIX_SIGNOFF=%q: want none, any, signature or code", p.SignOff)
	}
	p.CodeTTL = durationEnv(getenv, "FIELDFIX_SIGNOFF_CODE_TTL", p.CodeTTL)
	p.MaxFileBytes = int64(intEnv(getenv, "FIELDFIX_ATTACHMENT_MAX_BYTES", int(p.MaxFileBytes)))
	p.MaxVisitFiles = intEnv(getenv, "FIELDFIX_VISIT_MAX_FILES", p.MaxVisitFiles)
	p.MaxVisitBytes = int64(intEnv(getenv, "FIELDFIX_VISIT_MAX_BYTES", int(p.MaxVisitBytes)))
	p.Company = envOr(getenv, "FIELDFIX_COMPANY_NAME", p.Company)
	if p.CodeTTL <= 0 || p.MaxFileBytes <= 0 || p.MaxVisitFiles <= 0 || p.MaxVisitBytes <= 0 {
		return "", fmt.Errorf("proof of work: the code TTL and the attachment caps must be positive")
	}
	svc.Policy = p
	svc.Renderer = pdf.Renderer{}
	s3, err := s3blob.FromEnv(ctx, getenv)
	if err != nil {
		return "", err
	}
	if s3 == nil {
		return "attachments in PostgreSQL; sign-off " + p.SignOff, nil
	}
	svc.Blobs = s3
	host := getenv("FIELDFIX_BLOB_URL")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:] // no keys in the log
	}
	log.Info("attachments in an S3-compatible store", "bucket", host)
	return "attachments in " + host + "; sign-off " + p.SignOff, nil
}
