package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/s3blob"
)

// TestTwoStepUploadInPostgres: the upload URL is the API's own PUT /v1/uploads/{token}.
func TestTwoStepUploadInPostgres(t *testing.T) {
	b := setup(t)
	checkTwoStep(t, b, nil)
	if n := b.count("SELECT count(*) FROM blobs WHERE key LIKE 'uploads/%'"); n != 0 {
		t.Fatalf("%d staged uploads left in PostgreSQL", n)
	}
}

// TestTwoStepUploadInS3: the upload URL is a presigned PUT on the S3 store (gofakes3 through
// minio-go): the bytes never pass through the API, and the confirmation reads them from the store.
func TestTwoStepUploadInS3(t *testing.T) {
	b := setup(t)
	store := useS3(t, b)
	staged := checkTwoStep(t, b, store)
	for _, key := range staged {
		if rc, err := store.Open(context.Background(), key); err == nil {
			rc.Close()
			t.Errorf("staged upload %s left in the bucket", key)
		}
	}
	if n := b.count("SELECT count(*) FROM blobs"); n != 0 {
		t.Fatalf("%d blobs in PostgreSQL with the S3 store", n)
	}
}

// put sends data to an upload URL: the API's own (a path), or a presigned PUT.
func (b *testBundle) put(uploadURL string, data []byte) response {
	b.t.Helper()
	if strings.HasPrefix(uploadURL, "/") {
		return b.do("PUT", uploadURL, "", data, "Content-Type", "application/octet-stream")
	}
	req, _ := http.NewRequest("PUT", uploadURL, bytes.NewReader(data))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// checkTwoStep drives the two-step upload on one visit; it returns the staging keys it saw on S3.
func checkTwoStep(t *testing.T, b *testBundle, s3 *s3blob.Store) []string {
	b.svc.Proof.Policy.MaxFileBytes = 3 << 20
	b.svc.Proof.Policy.MaxVisitFiles = 2
	id := b.visitOnSite("tech-u", "cust-u")
	tech := b.token(dispatch.RoleTechnician, "tech-u")
	var staged []string
	start := func(body map[string]any) map[string]any {
		t.Helper()
		r := b.do("POST", fmt.Sprintf("/v1/jobs/%d/attachments/uploads", id), tech, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("start upload: %d %s", r.Status, r.Body)
		}
		m := r.json(t)
		u := m["upload_url"].(string)
		if s3 != nil {
			if !strings.Contains(u, "X-Amz-Signature=") || strings.HasPrefix(u, "/") {
				t.Fatalf("upload_url %s: want a presigned PUT", u)
			}
			p, _ := url.Parse(u)
			staged = append(staged, strings.TrimPrefix(p.Path, "/photos/"))
		} else if !strings.HasPrefix(u, "/v1/uploads/") {
			t.Fatalf("upload_url %s: want the API's own", u)
		}
		if m["method"] != "PUT" || m["max_bytes"] != float64(3<<20) {
			t.Fatalf("ticket %v", m)
		}
		return m
	}
	confirm := func(m map[string]any) response { return b.do("POST", m["confirm_url"].(string), tech, nil) }

	pic := photo(800, 600, true)
	m := start(map[string]any{"kind": "before", "filename": "IMG_0001.jpg", "content_type": "image/jpeg"})
	wantProblem(t, confirm(m), 409, "upload_missing")
	if r := b.put(m["upload_url"].(string), pic); r.Status != 200 {
		t.Fatalf("PUT the bytes: %d %s", r.Status, r.Body)
	}
	r := confirm(m)
	if r.Status != http.StatusCreated {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	a := r.json(t)
	if a["sha256"] != sha(pic) || a["width"] != 800.0 || a["filename"] != "IMG_0001.jpg" || a["kind"] != "before" || a["taken_at"] != "2026-11-20T09:15:00Z" {
		t.Fatalf("attachment %v", a)
	}
	th := b.get(a["thumbnail_url"].(string), tech)
	if cfg, format, err := image.DecodeConfig(bytes.NewReader(th.Body)); th.Status != 200 || err != nil || format != "jpeg" || cfg.Width != 320 {
		t.Fatalf("thumbnail: %d %v %s", th.Status, err, format)
	}
	if got := b.get(a["url"].(string), tech); got.Status != 200 || sha(got.Body) != sha(pic) {
		t.Fatalf("content: %d", got.Status)
	}
	wantProblem(t, confirm(m), 409, "upload_confirmed")
	if s3 == nil {
		wantProblem(t, b.put(m["upload_url"].(string), pic), 409, "upload_confirmed")
	}

	// Refused: a file that is not what the app said, an oversize one, an empty one; each leaves
	// nothing (the attachment count stays at one).
	lie := start(map[string]any{"kind": "after", "content_type": "image/png"})
	b.put(lie["upload_url"].(string), pic)
	wantProblem(t, confirm(lie), 415, "content_type_mismatch")
	big := start(map[string]any{"kind": "after"})
	huge := append(append([]byte{}, pic...), make([]byte, 3<<20)...)
	if s3 == nil {
		wantProblem(t, b.put(big["upload_url"].(string), huge), 413, "file_too_large")
		wantProblem(t, b.put(big["upload_url"].(string), nil), 400, "empty_file")
	} else { // S3 takes any size on a presigned PUT: the confirmation refuses it
		b.put(big["upload_url"].(string), huge)
		wantProblem(t, confirm(big), 413, "file_too_large")
		empty := start(map[string]any{"kind": "after"})
		b.put(empty["upload_url"].(string), nil)
		wantProblem(t, confirm(empty), 400, "empty_file")
	}
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%d/attachments/uploads", id), tech, map[string]any{"kind": "selfie"}), 400, "invalid_kind")

	// Another technician can neither open an upload on this visit nor confirm this one.
	b.technician("tech-v", []string{"fridge"}, 45.7, 4.8)
	other := b.token(dispatch.RoleTechnician, "tech-v")
	wantProblem(t, b.do("POST", fmt.Sprintf("/v1/jobs/%d/attachments/uploads", id), other, map[string]any{"kind": "before"}), 404, "job_not_found")
	race := start(map[string]any{"kind": "part", "filename": "part.png"})
	b.put(race["upload_url"].(string), pngImage(400, 300))
	wantProblem(t, b.do("POST", race["confirm_url"].(string), other, nil), 404, "job_not_found")

	// Two confirmations at once: one attachment, one 409.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = confirm(race).Status }()
	}
	wg.Wait()
	if !(statuses[0] == 201 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 201) {
		t.Fatalf("two confirmations answered %v, want one 201 and one 409", statuses)
	}
	// The visit's cap (2 here) counts two-step uploads too.
	full := start(map[string]any{"kind": "after"})
	b.put(full["upload_url"].(string), photo(64, 48, false))
	wantProblem(t, confirm(full), 409, "visit_attachment_limit")

	// An upload URL expires; so does its confirmation, a TTL later.
	late := start(map[string]any{"kind": "after"})
	b.put(late["upload_url"].(string), photo(64, 48, false))
	b.clock.Set(b.clock.Now().Add(31 * time.Minute))
	if s3 == nil {
		wantProblem(t, b.put(late["upload_url"].(string), pic), 409, "upload_expired")
	}
	wantProblem(t, confirm(late), 409, "upload_expired")
	if n := b.count("SELECT count(*) FROM attachments"); n != 2 {
		t.Fatalf("%d attachments, want 2: a refused upload was recorded", n)
	}
	return staged
}
