// Command attachments uploads photos to one visit through the real API into PostgreSQL (the
// default blob store) and prints the throughput, the server's heap as the uploads go on (it must
// stay flat: each upload is read up to the cap and let go) and the database's growth per photo.
//
//	go run ./internal/benchmarks/attachments [-photos 1000] [-mb 3] [-workers 4]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldfix/fieldfix/api"
	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

var secret = []byte("bench-secret")

func main() {
	n := flag.Int("photos", 1000, "photos uploaded")
	mb := flag.Float64("mb", 3, "size of each photo in MB (a noise JPEG, which does not compress)")
	workers := flag.Int("workers", 4, "concurrent uploads")
	flag.Parse()
	if err := run(*n, *mb, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "bench-attachments:", err)
		os.Exit(1)
	}
}

// noiseJPEG is a JPEG of about mb megabytes.
func noiseJPEG(mb float64) []byte {
	side := 1000
	for {
		img := image.NewRGBA(image.Rect(0, 0, side*4/3, side))
		r := rand.New(rand.NewPCG(1, uint64(side)))
		for i := range img.Pix {
			img.Pix[i] = uint8(r.IntN(256))
		}
		var buf bytes.Buffer
		_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
		if float64(buf.Len()) >= mb*(1<<20) || side > 6000 {
			return buf.Bytes()
		}
		side = int(float64(side) * 1.1)
	}
}

func run(n int, mb float64, workers int) error {
	ctx := context.Background()
	db, drop, err := dbtest.Scratch(ctx, "bench_attach_", 16)
	if err != nil {
		return err
	}
	defer drop()
	svc := services.New(postgres.New(db.Pool), dispatch.DefaultRules(), nil, nil)
	svc.Planner.Index = geo.NewIndex()
	svc.Proof.Policy.MaxVisitFiles, svc.Proof.Policy.MaxVisitBytes = n+1, 1<<40
	srv := httptest.NewServer(api.NewServer(api.Deps{Services: svc, JWTSecret: secret, Ready: db.Pool.Ping, BookingsPerMinute: 1000}))
	defer srv.Close()
	tok := func(role dispatch.Role, sub string) string {
		t, _ := api.IssueToken(secret, role, sub, time.Now(), 2*time.Hour)
		return t
	}
	tech := tok(dispatch.RoleTechnician, "bench-tech")
	call := func(method, path, token string, body any) (map[string]any, error) {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(buf))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		if res.StatusCode >= 300 {
			return nil, fmt.Errorf("%s %s: %d %v", method, path, res.StatusCode, m)
		}
		return m, nil
	}
	days := []map[string]string{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		days = append(days, map[string]string{"day": d, "start": "00:00", "end": "23:59"})
	}
	if _, err := call("POST", "/v1/technicians", tok(dispatch.RoleAdmin, "admin"), map[string]any{"subject": "bench-tech", "name": "Bench Tech",
		"skills": []string{"washer"}, "home": map[string]any{"lat": 45.76, "lng": 4.84}, "time_zone": "Europe/Paris", "weekly_shifts": days}); err != nil {
		return err
	}
	bk, err := call("POST", "/v1/bookings", tok(dispatch.RoleCustomer, "bench-cust"), map[string]any{"service_type": "repair", "appliance": "washer",
		"problem": "noisy drum", "address": "Lyon", "location": map[string]any{"lat": 45.764, "lng": 4.8357}, "channel": "app"})
	if err != nil {
		return err
	}
	job := int64(bk["job"].(map[string]any)["id"].(float64))
	if _, err := call("POST", fmt.Sprintf("/v1/jobs/%d/accept", job), tech, nil); err != nil {
		return err
	}
	for _, st := range []string{"en_route", "on_site"} {
		if _, err := call("POST", fmt.Sprintf("/v1/jobs/%d/status", job), tech, map[string]any{"status": st}); err != nil {
			return err
		}
	}
	pic := noiseJPEG(mb)
	size := func() (int64, error) {
		var s int64
		err := db.Pool.QueryRow(ctx, "SELECT pg_total_relation_size('blobs') + pg_total_relation_size('attachments')").Scan(&s)
		return s, err
	}
	before, err := size()
	if err != nil {
		return err
	}
	cfg, _ := jpeg.DecodeConfig(bytes.NewReader(pic))
	fmt.Printf("bench-attachments: %d photos of %.2f MB (%d×%d noise JPEG), %d at a time, into PostgreSQL through POST /v1/jobs/{id}/attachments\n",
		n, float64(len(pic))/(1<<20), cfg.Width, cfg.Height, workers)
	upload := func() error {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			_ = mw.WriteField("kind", "after")
			part, _ := mw.CreateFormFile("file", "photo.jpg")
			_, _ = part.Write(pic)
			pw.CloseWithError(mw.Close())
		}()
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/jobs/%d/attachments", srv.URL, job), pr)
		req.Header.Set("Authorization", "Bearer "+tech)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("upload: %d %s", res.StatusCode, body)
		}
		return nil
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse
	var (
		done     atomic.Int64
		peak     atomic.Uint64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	go func() { // the heap, sampled every 20 ms
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	jobs := make(chan int)
	start := time.Now()
	checkpoints := map[int64]bool{int64(n / 10): true, int64(n / 2): true, int64(n): true}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if err := upload(); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				if d := done.Add(1); checkpoints[d] {
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					fmt.Printf("  after %5d photos: %6.1f s, heap in use %6.1f MB, peak so far %6.1f MB\n", d, time.Since(start).Seconds(),
						float64(m.HeapInuse)/(1<<20), float64(peak.Load())/(1<<20))
				}
			}
		}()
	}
	for i := 0; i < n && firstErr == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(stop)
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(start)
	after, err := size()
	if err != nil {
		return err
	}
	fmt.Printf("  throughput: %.1f photos/s, %.1f MB/s\n", float64(n)/elapsed.Seconds(), float64(n)*float64(len(pic))/(1<<20)/elapsed.Seconds())
	fmt.Printf("  heap: %.1f MB before, peak %.1f MB (client and server share this process)\n", float64(baseHeap)/(1<<20), float64(peak.Load())/(1<<20))
	fmt.Printf("  database growth: %.2f MB per photo (%.2f× the photo: bytes, thumbnail, row and TOAST)\n",
		float64(after-before)/float64(n)/(1<<20), float64(after-before)/float64(n)/float64(len(pic)))
	return nil
}
