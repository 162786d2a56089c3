package proof

import (
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// heicPhoto makes a w × h HEIC of a noisy gradient with heif-enc (Debian's libheif-examples),
// with a thumbnail item of thumb pixels (0: none); it skips without heif-enc.
func heicPhoto(b *testing.B, w, h, thumb int) []byte {
	enc, err := exec.LookPath("heif-enc")
	if err != nil {
		b.Skip("heif-enc is not installed (apt-get install libheif-examples)")
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(24))
			img.Set(x, y, color.RGBA{uint8(x*200/w) + n, uint8(y*200/h) + n, 120 + n, 255})
		}
	}
	dir := b.TempDir()
	src, out := filepath.Join(dir, "p.jpg"), filepath.Join(dir, "p.heic")
	f, _ := os.Create(src)
	_ = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
	_ = f.Close()
	args := []string{"-q", "60", "-o", out, src}
	if thumb > 0 {
		args = append([]string{"-t", strconv.Itoa(thumb)}, args...)
	}
	if outb, err := exec.Command(enc, args...).CombinedOutput(); err != nil {
		b.Fatalf("heif-enc: %v %s", err, outb)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkHEICUpload: what a 12 MP HEIC costs an upload (container, EXIF, thumbnail), with the
// 320-px HEVC thumbnail item phones write and without one (the photo itself decoded).
//
//	go test -run '^$' -bench HEICUpload -benchtime 5x -benchmem ./dispatch/proof
func BenchmarkHEICUpload(b *testing.B) {
	for _, c := range []struct {
		name  string
		thumb int
	}{{"thumbnail-item", 320}, {"no-thumbnail", 0}} {
		data := heicPhoto(b, 4032, 3024, c.thumb)
		b.Run(c.name, func(b *testing.B) {
			if _, _, _, _, err := heicMeta(context.Background(), data); err != nil { // the decoder compiled once, outside the timing
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, _, t, err := heicMeta(context.Background(), data); err != nil || len(t) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}
