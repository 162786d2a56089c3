package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

type uploadRequest struct {
	Kind        string `json:"kind"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
}

type uploadTicketDTO struct {
	UploadID   int64     `json:"upload_id"`
	Method     string    `json:"method"`
	UploadURL  string    `json:"upload_url"`
	ExpiresAt  time.Time `json:"expires_at"`
	MaxBytes   int64     `json:"max_bytes"`
	ConfirmURL string    `json:"confirm_url"`
}

// startUpload is the first step of a two-step upload: where to PUT the bytes.
func (h proofHandlers) startUpload(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req uploadRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.Services.Proof.StartUpload(c.Request().Context(), actor(c), id, req.Kind, req.Filename, req.ContentType)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, uploadTicketDTO{UploadID: t.Upload.ID, Method: "PUT", UploadURL: t.URL, ExpiresAt: t.Upload.ExpiresAt,
		MaxBytes: h.Services.Proof.Policy.MaxFileBytes, ConfirmURL: fmt.Sprintf("/v1/jobs/%d/attachments/uploads/%d/confirm", id, t.Upload.ID)})
}

// receiveUpload takes the bytes of a two-step upload on the API's own URL (the PostgreSQL blob
// store): the URL's token is the credential, as a presigned PUT's signature is.
func (h proofHandlers) receiveUpload(c echo.Context) error {
	p := h.Services.Proof.Policy
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, p.MaxFileBytes+1)
	n, err := h.Services.Proof.ReceiveUpload(r.Context(), c.Param("token"), r.Body)
	if err != nil {
		return uploadErr(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"received_bytes": n})
}

// confirmUpload is the second step: the bytes sent are checked and become the visit's attachment.
func (h proofHandlers) confirmUpload(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	uid, err := pathID(c, "uid")
	if err != nil {
		return err
	}
	a, err := h.Services.Proof.ConfirmUpload(c.Request().Context(), actor(c), id, uid)
	if err != nil {
		return err
	}
	out, err := h.attachmentOut(c, a)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}
