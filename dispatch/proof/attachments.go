package proof

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // decoded for thumbnails
	"io"
	"mime"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/image/draw"

	"github.com/fieldfix/fieldfix/dispatch"
)

// AttachmentKinds a technician uploads (a signature PNG is kept as an attachment of kind signature).
var AttachmentKinds = []string{"before", "after", "serial_plate", "part", "other"}

// Limits of images: pixels decoded for a thumbnail, and the thumbnail's longest side.
const (
	MaxPixels = 50_000_000
	ThumbSide = 320
)

// Attachment is a photo or file of a visit; its bytes are in the blob store.
type Attachment struct {
	ID            int64
	JobID         int64
	Kind          string
	ContentType   string
	Size          int64
	SHA256        string
	BlobKey       string
	ThumbKey      *string // JPEG thumbnail of a photo (JPEG, PNG, HEIC); none for a PDF
	Filename      string
	Width, Height *int
	TakenAt       *time.Time // EXIF DateTimeOriginal
	Lat, Lng      *float64   // EXIF GPS
	UploadedBy    string
	CreatedAt     time.Time
}

// fileType is what the bytes are, by their content.
type fileType struct {
	ContentType string
	Ext         string
}

// sniff tells a file's type by its first bytes: JPEG, PNG, HEIC/HEIF or PDF, nothing else. A
// declared type (the upload's Content-Type) that says otherwise is a lie and refused.
func sniff(b []byte, declared string) (fileType, error) {
	var f fileType
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		f = fileType{"image/jpeg", ".jpg"}
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		f = fileType{"image/png", ".png"}
	case bytes.HasPrefix(b, []byte("%PDF-")):
		f = fileType{"application/pdf", ".pdf"}
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && slices.Contains([]string{"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"}, string(b[8:12])):
		f = fileType{"image/heic", ".heic"}
	default:
		return fileType{}, &dispatch.Error{Kind: dispatch.KindInvalid, Code: "unsupported_media_type", Field: "file",
			Message: "only JPEG, PNG, HEIC and PDF files are taken (by their content)"}
	}
	if declared != "" && declared != "application/octet-stream" {
		mt, _, err := mime.ParseMediaType(declared)
		same := mt == f.ContentType || (f.ContentType == "image/jpeg" && mt == "image/jpg") || (f.ContentType == "image/heic" && mt == "image/heif")
		if err != nil || !same {
			return fileType{}, &dispatch.Error{Kind: dispatch.KindInvalid, Code: "content_type_mismatch", Field: "file",
				Message: fmt.Sprintf("the file says it is %s but its content is %s", declared, f.ContentType)}
		}
	}
	return f, nil
}

// pendingBlob is an upload checked and its bytes (and thumbnail) put in the blob store, not yet
// recorded: recorded in a transaction, or dropped.
type pendingBlob struct {
	Type          fileType
	Size          int64
	SHA256        string
	Key, ThumbKey string
	Width, Height *int
	Meta          photoMeta
}

func randomKey(jobPart string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return jobPart + hex.EncodeToString(b)
}

// prepare checks data of type f (an image must decode), reads its EXIF, makes its thumbnail and
// puts both in the blob store.
func (s *Service) prepare(ctx context.Context, jobID int64, data []byte, f fileType) (*pendingBlob, error) {
	sum := sha256.Sum256(data)
	p := &pendingBlob{Type: f, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Key: randomKey(fmt.Sprintf("jobs/%d/", jobID)) + f.Ext}
	var thumb []byte
	switch f.ContentType {
	case "image/jpeg", "image/png":
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, dispatch.Invalid("file", "unreadable_image", "the image cannot be read: %v", err)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
			return nil, dispatch.Invalid("file", "image_too_large", "an image has at most %d pixels", MaxPixels)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, dispatch.Invalid("file", "unreadable_image", "the image cannot be read: %v", err)
		}
		p.Width, p.Height = &cfg.Width, &cfg.Height
		if f.ContentType == "image/jpeg" {
			p.Meta = jpegEXIF(data)
		}
		if thumb, err = thumbnail(img); err != nil {
			return nil, err
		}
	case "image/heic":
		var err error
		if p.Width, p.Height, p.Meta, thumb, err = heicMeta(ctx, data); err != nil {
			return nil, err
		}
	case "application/pdf":
		if !bytes.Contains(data[max(0, len(data)-1024):], []byte("%%EOF")) {
			return nil, dispatch.Invalid("file", "unreadable_pdf", "the PDF is cut short (no %%%%EOF)")
		}
	}
	if err := s.Blobs.Put(ctx, p.Key, f.ContentType, data); err != nil {
		return nil, err
	}
	if thumb != nil {
		p.ThumbKey = strings.TrimSuffix(p.Key, f.Ext) + ".thumb.jpg"
		if err := s.Blobs.Put(ctx, p.ThumbKey, "image/jpeg", thumb); err != nil {
			s.dropBlobs(ctx, p)
			return nil, err
		}
	}
	return p, nil
}

// thumbnail scales img down to fit ThumbSide, on white, as a JPEG.
func thumbnail(img image.Image) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch {
	case w <= ThumbSide && h <= ThumbSide: // small already (a camera's own thumbnail): not blown up
	case w > h:
		w, h = ThumbSide, max(1, h*ThumbSide/w)
	default:
		w, h = max(1, w*ThumbSide/h), ThumbSide
	}
	// A camera's photo is shrunk in two steps: sampled down to twice the thumbnail (cheap: one
	// read per output pixel), then filtered to size; filtering all of 12 MP would cost a second.
	src, sb := img, b
	if b.Dx() > 4*w {
		mid := image.NewRGBA(image.Rect(0, 0, 2*w, 2*h))
		draw.Draw(mid, mid.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), img, b, draw.Over, nil)
		src, sb = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, sb, draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 75}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// dropBlobs removes a pending upload's bytes (its record was not written).
func (s *Service) dropBlobs(ctx context.Context, p *pendingBlob) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range []string{p.Key, p.ThumbKey} {
		if k == "" {
			continue
		}
		if err := s.Blobs.Delete(ctx, k); err != nil {
			s.Log.Warn("blob left behind", "key", k, "err", err)
		}
	}
}

// attach records pending upload p as visit v's attachment of kind, in st's transaction.
func (s *Service) attach(ctx context.Context, st Store, a dispatch.Actor, v visit, kind, filename string, p *pendingBlob, now time.Time) (Attachment, error) {
	at := Attachment{JobID: v.Job.ID, Kind: kind, ContentType: p.Type.ContentType, Size: p.Size, SHA256: p.SHA256, BlobKey: p.Key,
		Filename: filename, Width: p.Width, Height: p.Height, TakenAt: p.Meta.TakenAt, Lat: p.Meta.Lat, Lng: p.Meta.Lng,
		UploadedBy: a.Subject, CreatedAt: now}
	if p.ThumbKey != "" {
		at.ThumbKey = &p.ThumbKey
	}
	out, err := st.AddAttachment(ctx, at)
	if err != nil {
		return Attachment{}, err
	}
	return out, st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: v.Job.ID,
		Action: "attachment_added", Data: map[string]any{"booking_id": v.Booking.ID, "attachment_id": out.ID, "kind": kind,
			"content_type": at.ContentType, "size_bytes": at.Size}})
}

// cleanFilename keeps a file's base name; a name that is no name is none.
func cleanFilename(filename string) (string, error) {
	filename = path.Base(strings.ReplaceAll(filename, "\\", "/"))
	if filename == "." || filename == "/" || !utf8.ValidString(filename) || strings.ContainsRune(filename, 0) {
		filename = ""
	}
	if utf8.RuneCountInString(filename) > 200 {
		return "", dispatch.Invalid("file", "too_long", "the file name is at most 200 characters")
	}
	return filename, nil
}

// Upload adds a photo or file to visit jobID (its technician, while the visit is in hand): read
// from r up to the size cap, typed by its content, its EXIF kept, a thumbnail made; the visit's
// caps are checked with its row locked, so two uploads racing for the last place get one each
// at most. A refused upload leaves nothing behind.
func (s *Service) Upload(ctx context.Context, a dispatch.Actor, jobID int64, kind, filename, declared string, r io.Reader) (Attachment, error) {
	if a.Role != dispatch.RoleTechnician {
		return Attachment{}, dispatch.Forbidden("only the visit's technician adds photos and files")
	}
	if !slices.Contains(AttachmentKinds, kind) {
		return Attachment{}, dispatch.Invalid("kind", "invalid_kind", "kind must be one of %s", strings.Join(AttachmentKinds, ", "))
	}
	filename, err := cleanFilename(filename)
	if err != nil {
		return Attachment{}, err
	}
	// The visit first: a stranger's job is refused before its bytes are read.
	v, err := visitFor(ctx, s.Store, a, jobID, false)
	if err != nil {
		return Attachment{}, err
	}
	if err := working(v.Job); err != nil {
		return Attachment{}, err
	}
	data, err := s.readCapped(r)
	if err != nil {
		return Attachment{}, err
	}
	return s.keep(ctx, a, jobID, kind, filename, declared, data, nil)
}

// readCapped reads a file up to the size cap: one over it, or none, is refused.
func (s *Service) readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, s.Policy.MaxFileBytes+1))
	if err != nil {
		return nil, dispatch.Invalid("file", "upload_interrupted", "the upload was cut short: %v", err)
	}
	if int64(len(data)) > s.Policy.MaxFileBytes {
		return nil, &dispatch.Error{Kind: dispatch.KindInvalid, Code: "file_too_large", Field: "file",
			Message: fmt.Sprintf("a file is at most %d bytes", s.Policy.MaxFileBytes)}
	}
	if len(data) == 0 {
		return nil, dispatch.Invalid("file", "empty_file", "the file is empty")
	}
	return data, nil
}

// keep types data by its content, puts it (and its thumbnail) in the blob store and records it
// as visit jobID's attachment under the visit's caps, with the job's row locked; also, in that
// transaction, whatever then does (a two-step upload marks itself confirmed). Refused, it
// leaves no bytes behind.
func (s *Service) keep(ctx context.Context, a dispatch.Actor, jobID int64, kind, filename, declared string, data []byte,
	then func(st Store, out Attachment) error) (Attachment, error) {
	f, err := sniff(data, declared)
	if err != nil {
		return Attachment{}, err
	}
	p, err := s.prepare(ctx, jobID, data, f)
	if err != nil {
		return Attachment{}, err
	}
	var out Attachment
	err = s.Store.Tx(ctx, func(st Store) error {
		v, err := visitFor(ctx, st, a, jobID, true)
		if err != nil {
			return err
		}
		if err := working(v.Job); err != nil {
			return err
		}
		files, bytes, err := st.AttachmentUsage(ctx, jobID)
		if err != nil {
			return err
		}
		if files+1 > s.Policy.MaxVisitFiles || bytes+p.Size > s.Policy.MaxVisitBytes {
			return dispatch.Conflict("visit_attachment_limit", "a visit keeps at most %d files and %d bytes; it has %d files and %d bytes",
				s.Policy.MaxVisitFiles, s.Policy.MaxVisitBytes, files, bytes)
		}
		if out, err = s.attach(ctx, st, a, v, kind, filename, p, s.Now()); err != nil {
			return err
		}
		if then != nil {
			return then(st, out)
		}
		return nil
	})
	if err != nil {
		s.dropBlobs(ctx, p)
	}
	return out, err
}

// VisitAttachments lists a visit's photos and files (its technician, staff, the booking's customer).
func (s *Service) VisitAttachments(ctx context.Context, a dispatch.Actor, jobID int64) ([]Attachment, error) {
	if _, err := visitFor(ctx, s.Store, a, jobID, false); err != nil {
		return nil, err
	}
	return s.Store.ListAttachments(ctx, jobID)
}

// Content is where an attachment's bytes (or its thumbnail) are: a presigned URL of the blob
// store, or else the bytes to serve.
type Content struct {
	URL         string
	ContentType string
	Body        io.ReadCloser
}

// AttachmentContent opens attachment id of visit jobID (thumb: its thumbnail).
func (s *Service) AttachmentContent(ctx context.Context, a dispatch.Actor, jobID, id int64, thumb bool) (Content, error) {
	if _, err := visitFor(ctx, s.Store, a, jobID, false); err != nil {
		return Content{}, err
	}
	at, err := s.Store.GetAttachment(ctx, id)
	if err != nil {
		return Content{}, err
	}
	if at.JobID != jobID {
		return Content{}, dispatch.NotFound("attachment", id)
	}
	key, ct := at.BlobKey, at.ContentType
	if thumb {
		if at.ThumbKey == nil {
			return Content{}, &dispatch.Error{Kind: dispatch.KindNotFound, Code: "thumbnail_not_found", Message: fmt.Sprintf("attachment %d (%s) has no thumbnail", id, ct)}
		}
		key, ct = *at.ThumbKey, "image/jpeg"
	}
	u, err := s.Blobs.URL(ctx, key, s.Policy.URLTTL)
	if err != nil || u != "" {
		return Content{URL: u, ContentType: ct}, err
	}
	body, err := s.Blobs.Open(ctx, key)
	return Content{ContentType: ct, Body: body}, err
}

// URLs are presigned GETs of an attachment and its thumbnail, "" where the store has none.
func (s *Service) URLs(ctx context.Context, at Attachment) (content, thumb string, err error) {
	if content, err = s.Blobs.URL(ctx, at.BlobKey, s.Policy.URLTTL); err != nil || content == "" || at.ThumbKey == nil {
		return content, "", err
	}
	thumb, err = s.Blobs.URL(ctx, *at.ThumbKey, s.Policy.URLTTL)
	return content, thumb, err
}
