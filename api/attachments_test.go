package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/s3blob"
)

// photo is a w × h JPEG of noise (so that it compresses badly, like a real photo), with an EXIF
// block saying it was taken at 2026-11-20 10:15:00 +01:00 at 45.7640 N, 4.8357 E when exif is set.
func photo(w, h int, exif bool) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	b := buf.Bytes()
	if !exif {
		return b
	}
	app1 := append([]byte("Exif\x00\x00"), exifTIFF()...)
	seg := append([]byte{0xFF, 0xE1, byte((len(app1) + 2) >> 8), byte(len(app1) + 2)}, app1...)
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

// exifTIFF is a little-endian TIFF block: IFD0 pointing at an Exif IFD (DateTimeOriginal,
// OffsetTimeOriginal) and a GPS IFD.
func exifTIFF() []byte {
	le := binary.LittleEndian
	var t []byte
	u16 := func(v uint16) { t = le.AppendUint16(t, v) }
	u32 := func(v uint32) { t = le.AppendUint32(t, v) }
	entry := func(tag, typ uint16, count, value uint32) { u16(tag); u16(typ); u32(count); u32(value) }
	t = append(t, 'I', 'I', 42, 0)
	u32(8)
	// IFD0 at 8: 2 entries → ends at 8+2+24+4 = 38.
	u16(2)
	entry(0x8769, 4, 1, 38)  // Exif IFD at 38
	entry(0x8825, 4, 1, 100) // GPS IFD at 100
	u32(0)
	// Exif IFD at 38: 2 entries → 38+2+24+4 = 68; strings at 68 (20 bytes) and 88 (7 bytes).
	u16(2)
	entry(0x9003, 2, 20, 68)
	entry(0x9011, 2, 7, 88)
	u32(0)
	t = append(t, "2026:11:20 10:15:00\x00"...)
	t = append(t, "+01:00\x00"...)
	for len(t) < 100 {
		t = append(t, 0)
	}
	// GPS IFD at 100: 4 entries → 100+2+48+4 = 154; rationals at 154 and 178.
	u16(4)
	entry(1, 2, 2, uint32('N'))
	entry(2, 5, 3, 154)
	entry(3, 2, 2, uint32('E'))
	entry(4, 5, 3, 178)
	u32(0)
	for _, v := range []uint32{45, 1, 45, 1, 504, 10, 4, 1, 50, 1, 852, 100} { // 45°45'50.4" N, 4°50'8.52" E
		u32(v)
	}
	return t
}

func pngImage(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w {
		img.Set(i, i%h, color.NRGBA{200, 0, 0, 255})
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// upload posts data as the multipart part "file" (with contentType, when given) and a kind field.
func (b *testBundle) upload(token string, jobID int64, kind, filename, contentType string, data []byte) response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", kind)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(data)
	_ = mw.Close()
	return b.do("POST", fmt.Sprintf("/v1/jobs/%d/attachments", jobID), token, body.Bytes(), "Content-Type", mw.FormDataContentType())
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// get fetches url (an API path with token, or a presigned URL without).
func (b *testBundle) get(url, token string) response {
	b.t.Helper()
	if strings.HasPrefix(url, "/") {
		return b.do("GET", url, token, nil)
	}
	res, err := http.Get(url)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// checkUploads drives the upload rules on one visit; the blob store is whatever b's is.
func checkUploads(t *testing.T, b *testBundle, presigned bool) {
	b.svc.Proof.Policy.MaxFileBytes = 3 << 20
	b.svc.Proof.Policy.MaxVisitFiles = 5
	id := b.visitOnSite("tech-u", "cust-u")
	tech := b.token(dispatch.RoleTechnician, "tech-u")
	pic := photo(800, 600, true)
	r := b.upload(tech, id, "before", "IMG_0001.jpg", "image/jpeg", pic)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	a := r.json(t)
	if a["content_type"] != "image/jpeg" || a["width"] != 800.0 || a["height"] != 600.0 || a["sha256"] != sha(pic) || a["filename"] != "IMG_0001.jpg" {
		t.Fatalf("attachment %v", a)
	}
	if a["taken_at"] != "2026-11-20T09:15:00Z" {
		t.Errorf("taken_at %v, want the EXIF time in UTC", a["taken_at"])
	}
	if loc, _ := a["location"].(map[string]any); loc == nil || fmt.Sprintf("%.4f,%.4f", loc["lat"], loc["lng"]) != "45.7640,4.8357" {
		t.Errorf("location %v, want the EXIF GPS 45.7640,4.8357", a["location"])
	}
	url, thumbURL := a["url"].(string), a["thumbnail_url"].(string)
	if presigned != strings.Contains(url, "X-Amz-Signature=") || presigned != strings.Contains(thumbURL, "X-Amz-Signature=") {
		t.Fatalf("urls %s %s (presigned: %v)", url, thumbURL, presigned)
	}
	if got := b.get(url, tech); got.Status != 200 || sha(got.Body) != sha(pic) {
		t.Fatalf("content: %d, %d bytes", got.Status, len(got.Body))
	}
	th := b.get(thumbURL, tech)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(th.Body))
	if th.Status != 200 || err != nil || format != "jpeg" || cfg.Width != 320 || cfg.Height != 240 {
		t.Fatalf("thumbnail: %d %v %s %dx%d", th.Status, err, format, cfg.Width, cfg.Height)
	}
	// The API's content route redirects to the presigned GET, or serves the bytes.
	res := b.do("GET", fmt.Sprintf("/v1/jobs/%d/attachments/%v/content", id, a["id"]), b.token(dispatch.RoleCustomer, "cust-u"), nil)
	if presigned && (res.Status != 200 || sha(res.Body) != sha(pic)) { // the client followed the redirect to the store
		t.Fatalf("customer's content via redirect: %d", res.Status)
	}
	if !presigned && (res.Status != 200 || res.Header.Get("Content-Type") != "image/jpeg") {
		t.Fatalf("customer's content: %d %s", res.Status, res.Header.Get("Content-Type"))
	}

	// PNG, PDF and HEIC are taken; PDF without a thumbnail. The HEIC (made by heif-enc, see
	// dispatch/proof/heif_test.go) keeps its EXIF time and GPS and gets a thumbnail.
	heic, err := os.ReadFile("../dispatch/proof/testdata/lyon-exif-thumb.heic")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name, ct string
		data     []byte
		thumb    bool
	}{
		{"plate.png", "image/png", pngImage(640, 200), true},
		{"invoice.pdf", "application/pdf", []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), false},
		{"IMG_0002.HEIC", "image/heif", heic, true},
	} {
		r := b.upload(tech, id, "serial_plate", f.name, f.ct, f.data)
		if r.Status != http.StatusCreated || (r.json(t)["thumbnail_url"] != nil) != f.thumb {
			t.Fatalf("%s: %d %s", f.name, r.Status, r.Body)
		}
		if f.ct != "image/heif" {
			continue
		}
		a := r.json(t)
		loc, _ := a["location"].(map[string]any)
		if a["content_type"] != "image/heic" || a["width"] != 160.0 || a["taken_at"] != "2026-11-20T09:15:30Z" || loc == nil || loc["lat"] != 45.7578 || loc["lng"] != 4.832 {
			t.Fatalf("HEIC attachment %v", a)
		}
		th := b.get(a["thumbnail_url"].(string), tech)
		if cfg, format, err := image.DecodeConfig(bytes.NewReader(th.Body)); th.Status != 200 || err != nil || format != "jpeg" || cfg.Width != 64 {
			t.Fatalf("HEIC thumbnail: %d %v %s", th.Status, err, format)
		}
	}
	blobs := b.count("SELECT count(*) FROM attachments")

	// Bad input: each its own code, nothing stored.
	for _, x := range []struct {
		name, kind, ct string
		data           []byte
		status         int
		code           string
	}{
		{"notes.txt", "other", "text/plain", []byte("hello"), 415, "unsupported_media_type"},
		{"fake.png", "other", "image/png", pic, 415, "content_type_mismatch"},
		{"empty.jpg", "other", "image/jpeg", nil, 400, "empty_file"},
		{"big.jpg", "other", "image/jpeg", append(append([]byte{}, pic...), make([]byte, 3<<20)...), 413, "file_too_large"},
		{"broken.jpg", "other", "image/jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 500)...), 400, "unreadable_image"},
		{"cut.pdf", "other", "application/pdf", []byte("%PDF-1.4\n1 0 obj"), 400, "unreadable_pdf"},
		{"fake.heic", "other", "image/heic", append([]byte{0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0, 'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'}, make([]byte, 1000)...), 400, "unreadable_image"},
		{"cut.heic", "other", "image/heic", heic[:len(heic)-100], 400, "unreadable_image"},
		{"x.jpg", "selfie", "image/jpeg", pic, 400, "invalid_kind"},
	} {
		wantProblem(t, b.upload(tech, id, x.kind, x.name, x.ct, x.data), x.status, x.code)
	}
	b.technician("tech-v", []string{"fridge"}, 45.7, 4.8)
	wantProblem(t, b.upload(b.token(dispatch.RoleTechnician, "tech-v"), id, "before", "a.jpg", "image/jpeg", pic), 404, "job_not_found")
	// The fifth file fills the visit; the sixth is refused.
	if r := b.upload(tech, id, "after", "after.jpg", "image/jpeg", photo(64, 48, false)); r.Status != 201 {
		t.Fatalf("fifth: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.upload(tech, id, "after", "after2.jpg", "image/jpeg", photo(64, 48, false)), 409, "visit_attachment_limit")
	if got := b.count("SELECT count(*) FROM attachments"); got != blobs+1 {
		t.Fatalf("%d attachments, want %d: a refused upload was recorded", got, blobs+1)
	}
	if !presigned {
		// Every blob is an attachment's or its thumbnail's: the refused ones left nothing.
		var orphans int
		_ = b.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM blobs x WHERE NOT EXISTS
			(SELECT 1 FROM attachments a WHERE a.blob_key = x.key OR a.thumb_key = x.key)`).Scan(&orphans)
		if orphans != 0 {
			t.Fatalf("%d blobs without an attachment", orphans)
		}
	}
	list := b.do("GET", fmt.Sprintf("/v1/jobs/%d/attachments", id), b.token(dispatch.RoleDispatcher, "disp"), nil).json(t)["items"].([]any)
	if len(list) != 5 {
		t.Fatalf("%d attachments listed", len(list))
	}
}

// TestUploadsInPostgres: upload → EXIF → thumbnail → the bytes back through the API, and every
// kind of bad upload refused with nothing stored.
func TestUploadsInPostgres(t *testing.T) {
	checkUploads(t, setup(t), false)
}

// TestUploadsInS3: the same against an in-process S3 server (gofakes3) through minio-go: the
// attachment's URLs are presigned GETs that fetch the bytes and the thumbnail without the API.
func TestUploadsInS3(t *testing.T) {
	b := setup(t)
	useS3(t, b)
	checkUploads(t, b, true)
	if n := b.count("SELECT count(*) FROM blobs"); n != 0 {
		t.Fatalf("%d blobs in PostgreSQL with the S3 store", n)
	}
}

// useS3 keeps b's attachments in bucket photos of an in-process S3 server (gofakes3), through minio-go.
func useS3(t *testing.T, b *testBundle) *s3blob.Store {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	store, err := s3blob.Open(context.Background(), "s3+http://fieldfix:secret@"+strings.TrimPrefix(fake.URL, "http://")+"/photos")
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Proof.Blobs = store
	return store
}

// TestPhotoChecklistItem: a photo item is answered with one of the visit's own photos.
func TestPhotoChecklistItem(t *testing.T) {
	b := setup(t)
	admin := b.token(dispatch.RoleAdmin, "admin")
	if r := b.do("POST", "/v1/checklists", admin, map[string]any{"name": "Any repair", "service_type": "repair",
		"items": []map[string]any{{"key": "after_photo", "label": "Photo after the repair", "kind": "photo", "required": true}}}); r.Status != 201 {
		t.Fatalf("template: %d %s", r.Status, r.Body)
	}
	id := b.visitOnSite("tech-p", "cust-p")
	tech := b.token(dispatch.RoleTechnician, "tech-p")
	wantProblem(t, b.do("PUT", fmt.Sprintf("/v1/jobs/%d/checklist", id), tech, map[string]any{"answers": map[string]any{"after_photo": 999}}), 400, "invalid_answer")
	a := b.upload(tech, id, "after", "after.jpg", "image/jpeg", photo(80, 60, false)).json(t)
	r := b.do("PUT", fmt.Sprintf("/v1/jobs/%d/checklist", id), tech, map[string]any{"answers": map[string]any{"after_photo": a["id"]}})
	if r.Status != 200 || r.json(t)["complete"] != true {
		t.Fatalf("photo answer: %d %s", r.Status, r.Body)
	}
}
