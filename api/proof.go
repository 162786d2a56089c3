package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/proof"
)

type checklistItemDTO struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Kind     string   `json:"kind"`
	Required bool     `json:"required"`
	Unit     string   `json:"unit,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
}

type templateRequest struct {
	Name        string             `json:"name"`
	ServiceType string             `json:"service_type"`
	Appliance   string             `json:"appliance"`
	Items       []checklistItemDTO `json:"items"`
}

type templatePatch struct {
	Name   *string            `json:"name"`
	Items  []checklistItemDTO `json:"items"`
	Active *bool              `json:"active"`
}

type templateDTO struct {
	ID          int64              `json:"id"`
	Name        string             `json:"name"`
	ServiceType string             `json:"service_type"`
	Appliance   string             `json:"appliance"`
	Items       []checklistItemDTO `json:"items"`
	Active      bool               `json:"active"`
	Version     int                `json:"version"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

func itemsIn(in []checklistItemDTO) []proof.Item {
	if in == nil {
		return nil
	}
	out := make([]proof.Item, len(in))
	for i, it := range in {
		out[i] = proof.Item(it)
	}
	return out
}

func itemsOut(in []proof.Item) []checklistItemDTO {
	out := make([]checklistItemDTO, len(in))
	for i, it := range in {
		out[i] = checklistItemDTO(it)
	}
	return out
}

func templateOut(t proof.Template) templateDTO {
	return templateDTO{ID: t.ID, Name: t.Name, ServiceType: t.ServiceType, Appliance: t.Appliance, Items: itemsOut(t.Items), Active: t.Active,
		Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (h proofHandlers) createTemplate(c echo.Context) error {
	var req templateRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.Services.Proof.CreateTemplate(c.Request().Context(), actor(c), proof.Template{Name: req.Name, ServiceType: req.ServiceType,
		Appliance: req.Appliance, Items: itemsIn(req.Items)})
	if err != nil {
		return err
	}
	setETag(c, t.Version)
	return c.JSON(http.StatusCreated, templateOut(t))
}

func (h proofHandlers) listTemplates(c echo.Context) error {
	ts, err := h.Services.Proof.Templates(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	items := make([]templateDTO, len(ts))
	for i, t := range ts {
		items[i] = templateOut(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (h proofHandlers) getTemplate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	t, err := h.Services.Proof.Template(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	setETag(c, t.Version)
	return c.JSON(http.StatusOK, templateOut(t))
}

func (h proofHandlers) updateTemplate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req templatePatch
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := h.Services.Proof.UpdateTemplate(c.Request().Context(), actor(c), id, v, proof.TemplatePatch{Name: req.Name, Items: itemsIn(req.Items), Active: req.Active})
	if err != nil {
		return err
	}
	setETag(c, t.Version)
	return c.JSON(http.StatusOK, templateOut(t))
}

type checklistDTO struct {
	JobID      int64              `json:"job_id"`
	TemplateID *int64             `json:"template_id"`
	Items      []checklistItemDTO `json:"items"`
	Answers    map[string]any     `json:"answers"`
	Missing    []string           `json:"missing"`
	Complete   bool               `json:"complete"`
	Version    int                `json:"version"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

func checklistOut(x proof.Checklist) checklistDTO {
	missing := x.Missing()
	return checklistDTO{JobID: x.JobID, TemplateID: x.TemplateID, Items: itemsOut(x.Items), Answers: x.Answers, Missing: missing,
		Complete: len(missing) == 0, Version: x.Version, UpdatedAt: x.UpdatedAt}
}

func (h proofHandlers) getChecklist(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	x, err := h.Services.Proof.VisitChecklist(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, checklistOut(x))
}

type checklistAnswers struct {
	Answers map[string]any `json:"answers"`
}

func (h proofHandlers) putChecklist(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req checklistAnswers
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Answers == nil {
		return dispatch.Invalid("answers", "missing_field", "answers is required: an object of item key → answer")
	}
	x, err := h.Services.Proof.FillChecklist(c.Request().Context(), actor(c), id, req.Answers)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, checklistOut(x))
}

type attachmentDTO struct {
	ID           int64        `json:"id"`
	JobID        int64        `json:"job_id"`
	Kind         string       `json:"kind"`
	ContentType  string       `json:"content_type"`
	SizeBytes    int64        `json:"size_bytes"`
	SHA256       string       `json:"sha256"`
	Filename     string       `json:"filename,omitempty"`
	Width        *int         `json:"width"`
	Height       *int         `json:"height"`
	TakenAt      *time.Time   `json:"taken_at"`
	Location     *locationDTO `json:"location"`
	URL          string       `json:"url"`
	ThumbnailURL *string      `json:"thumbnail_url"`
	UploadedBy   string       `json:"uploaded_by"`
	CreatedAt    time.Time    `json:"created_at"`
}

// attachmentOut is a's answer: presigned URLs of the blob store, or the API's own.
func (h proofHandlers) attachmentOut(c echo.Context, a proof.Attachment) (attachmentDTO, error) {
	out := attachmentDTO{ID: a.ID, JobID: a.JobID, Kind: a.Kind, ContentType: a.ContentType, SizeBytes: a.Size, SHA256: a.SHA256, Filename: a.Filename,
		Width: a.Width, Height: a.Height, TakenAt: a.TakenAt, UploadedBy: a.UploadedBy, CreatedAt: a.CreatedAt}
	if a.Lat != nil && a.Lng != nil {
		out.Location = &locationDTO{Lat: a.Lat, Lng: a.Lng}
	}
	content, thumb, err := h.Services.Proof.URLs(c.Request().Context(), a)
	if err != nil {
		return out, err
	}
	base := fmt.Sprintf("/v1/jobs/%d/attachments/%d", a.JobID, a.ID)
	if out.URL = content; content == "" {
		out.URL = base + "/content"
	}
	if a.ThumbKey != nil {
		if thumb == "" {
			thumb = base + "/thumbnail"
		}
		out.ThumbnailURL = &thumb
	}
	return out, nil
}

// upload takes multipart/form-data: a field kind (or ?kind=) and the file in a part named file,
// streamed to the service, which reads it up to the size cap.
func (h proofHandlers) upload(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p := h.Services.Proof.Policy
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, p.MaxFileBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return problem(http.StatusUnsupportedMediaType, "unsupported_media_type", "send multipart/form-data with a field kind and a part named file")
	}
	kind := c.QueryParam("kind")
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return dispatch.Invalid("file", "missing_field", "the form has no part named file")
		}
		if err != nil {
			return uploadErr(err)
		}
		switch part.FormName() {
		case "kind":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			kind = string(b)
			continue
		case "file":
		default:
			continue
		}
		a, err := h.Services.Proof.Upload(r.Context(), actor(c), id, kind, part.FileName(), part.Header.Get("Content-Type"), partReader{part})
		if err != nil {
			return uploadErr(err)
		}
		out, err := h.attachmentOut(c, a)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, out)
	}
}

// partReader reads a part, its body cut at the request's limit told as too large.
type partReader struct{ p *multipart.Part }

func (r partReader) Read(b []byte) (int, error) { return r.p.Read(b) }

func uploadErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem(http.StatusRequestEntityTooLarge, "file_too_large", "the upload is over the size cap")
	}
	var de *dispatch.Error
	if errors.As(err, &de) && de.Code == "upload_interrupted" && errors.As(de.Err, &mbe) {
		return problem(http.StatusRequestEntityTooLarge, "file_too_large", "the upload is over the size cap")
	}
	if errors.As(err, &de) {
		return err
	}
	return problem(http.StatusBadRequest, "invalid_multipart", "the multipart body cannot be read: "+err.Error())
}

func (h proofHandlers) listAttachments(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	as, err := h.Services.Proof.VisitAttachments(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	items := make([]attachmentDTO, 0, len(as))
	for _, a := range as {
		out, err := h.attachmentOut(c, a)
		if err != nil {
			return err
		}
		items = append(items, out)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// content serves an attachment's bytes, or redirects to the blob store's presigned GET.
func (h proofHandlers) content(thumb bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		aid, err := pathID(c, "aid")
		if err != nil {
			return err
		}
		x, err := h.Services.Proof.AttachmentContent(c.Request().Context(), actor(c), id, aid, thumb)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "private, max-age=300")
		if x.URL != "" {
			return c.Redirect(http.StatusFound, x.URL)
		}
		defer x.Body.Close()
		if x.ContentType == "application/pdf" { // an uploaded document is downloaded, not opened in the API's origin
			c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="attachment-%d.pdf"`, aid))
		}
		return c.Stream(http.StatusOK, x.ContentType, x.Body)
	}
}

type signOffRequest struct {
	Method     string         `json:"method"`
	SignerName string         `json:"signer_name"`
	Strokes    [][][2]float64 `json:"strokes"`
	PNGBase64  string         `json:"png_base64"`
	Code       string         `json:"code"`
	Reason     string         `json:"reason"`
}

type signOffDTO struct {
	JobID         int64          `json:"job_id"`
	Method        string         `json:"method"`
	SignerName    string         `json:"signer_name,omitempty"`
	Strokes       [][][2]float64 `json:"strokes,omitempty"`
	SignatureURL  *string        `json:"signature_url"`
	RefusalReason string         `json:"refusal_reason,omitempty"`
	ComplaintID   *int64         `json:"complaint_id"`
	Technician    string         `json:"technician_sub"`
	SignedAt      time.Time      `json:"signed_at"`
}

func signOffOut(s proof.SignOff) signOffDTO {
	out := signOffDTO{JobID: s.JobID, Method: s.Method, SignerName: s.SignerName, Strokes: s.Strokes, RefusalReason: s.RefusalReason,
		ComplaintID: s.ComplaintID, Technician: s.TechnicianSub, SignedAt: s.SignedAt}
	if s.SignatureID != nil {
		u := fmt.Sprintf("/v1/jobs/%d/attachments/%d/content", s.JobID, *s.SignatureID)
		out.SignatureURL = &u
	}
	return out
}

func (h proofHandlers) signOff(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req signOffRequest
	if _, err := decodeJSON(c, &req); err != nil {
		return err
	}
	r := proof.SignOffRequest{Method: req.Method, SignerName: req.SignerName, Strokes: req.Strokes, Code: req.Code, Reason: req.Reason}
	if req.PNGBase64 != "" {
		if r.PNG, err = base64.StdEncoding.DecodeString(req.PNGBase64); err != nil {
			return dispatch.Invalid("png_base64", "invalid_signature", "png_base64 is not base64")
		}
	}
	s, err := h.Services.Proof.SignOff(c.Request().Context(), actor(c), id, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, signOffOut(s))
}

func (h proofHandlers) getSignOff(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	s, err := h.Services.Proof.VisitSignOff(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, signOffOut(s))
}

func (h proofHandlers) resendCode(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	exp, err := h.Services.Proof.ResendCode(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"job_id": id, "expires_at": exp, "tries": proof.CodeTries})
}
