package proof

import (
	"bytes"
	"context"
	"encoding/binary"
	"image/jpeg"
	"os"
	"testing"
	"time"
)

// The fixtures are real HEIC files made by Debian's heif-enc (libheif 1.15) from JPEGs whose
// EXIF exiftool wrote: lyon-exif-thumb.heic (160×120, taken 2026-11-20 10:15:30 +01:00 at
// 45.7578 N, 4.832 E, a 64×48 JPEG thumbnail in the EXIF's IFD1) and rio-hevc-thumb.heic (320×240,
// taken 2026-11-21 08:00:05 without an offset at 22.54 S, 43.17 W, no EXIF thumbnail but a 64×48
// HEVC thumbnail item, heif-enc -t 64).
func fixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHEICContainer(t *testing.T) {
	for _, c := range []struct {
		file           string
		w, h           int
		lat, lng       float64
		at             time.Time
		exifThumb      bool
		thumbItems     int
		thumbW, thumbH int
	}{
		{"lyon-exif-thumb.heic", 160, 120, 45.7578, 4.832, time.Date(2026, 11, 20, 9, 15, 30, 0, time.UTC), true, 0, 64, 48},
		{"rio-hevc-thumb.heic", 320, 240, -22.54, -43.17, time.Date(2026, 11, 21, 8, 0, 5, 0, time.UTC), false, 1, 64, 48},
	} {
		data := fixture(t, c.file)
		f, err := readHEIF(data)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if f.Width != c.w || f.Height != c.h || len(f.thumbs) != c.thumbItems {
			t.Errorf("%s: %dx%d, %d thumbnail items", c.file, f.Width, f.Height, len(f.thumbs))
		}
		m := tiffMeta(f.EXIF())
		if m.Lat == nil || *m.Lat != c.lat || *m.Lng != c.lng || m.TakenAt == nil || !m.TakenAt.Equal(c.at) {
			t.Errorf("%s: EXIF %+v", c.file, m)
		}
		if (thumbnailJPEG(f.EXIF()) != nil) != c.exifThumb {
			t.Errorf("%s: EXIF thumbnail %v", c.file, !c.exifThumb)
		}
		w, h, meta, thumb, err := heicMeta(context.Background(), data)
		if err != nil || *w != c.w || *h != c.h || meta.Lat == nil || *meta.Lat != c.lat {
			t.Fatalf("%s: heicMeta %v %v %+v", c.file, err, w, meta)
		}
		img, err := jpeg.Decode(bytes.NewReader(thumb))
		if err != nil || img.Bounds().Dx() != c.thumbW || img.Bounds().Dy() != c.thumbH {
			t.Fatalf("%s: thumbnail %v", c.file, err)
		}
		// The thumbnail is the picture: its centre is the photo's (a gradient, blue 160).
		if _, _, b, _ := img.At(c.thumbW/2, c.thumbH/2).RGBA(); b>>8 < 130 || b>>8 > 190 {
			t.Errorf("%s: the thumbnail's centre has blue %d, want about 160", c.file, b>>8)
		}
	}
}

// TestHEICWithoutThumbnailsDecodesThePhoto: a HEIC with neither thumbnail has its own picture
// decoded (the rio fixture with its thumbnail reference cut: 'thmb' renamed).
func TestHEICWithoutThumbnailsDecodesThePhoto(t *testing.T) {
	data := fixture(t, "rio-hevc-thumb.heic")
	i := bytes.Index(data, []byte("thmb"))
	if i < 0 {
		t.Fatal("no thmb reference in the fixture")
	}
	copy(data[i:], "xxxx")
	w, h, _, thumb, err := heicMeta(context.Background(), data)
	if err != nil || *w != 320 || *h != 240 {
		t.Fatalf("heicMeta: %v", err)
	}
	if img, err := jpeg.Decode(bytes.NewReader(thumb)); err != nil || img.Bounds().Dx() != 320 {
		t.Fatalf("thumbnail: %v", err)
	}
}

// TestHEICThatLies: an ftyp that says heic over bytes that are no container, or a container
// whose picture is outside the file, is refused as unreadable.
func TestHEICThatLies(t *testing.T) {
	fake := append([]byte{0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0, 'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'}, make([]byte, 1000)...)
	cut := fixture(t, "rio-hevc-thumb.heic")
	cut = cut[:len(cut)-200] // the mdat box runs past the end
	for name, b := range map[string][]byte{"zeros": fake, "cut": cut} {
		if _, _, _, _, err := heicMeta(context.Background(), b); err == nil {
			t.Errorf("%s: taken", name)
		}
	}
}

// FuzzHEIF: whatever the bytes, reading the container never panics, and what it says it found
// is inside the file.
func FuzzHEIF(f *testing.F) {
	f.Add(fixture(f, "lyon-exif-thumb.heic"))
	f.Add(fixture(f, "rio-hevc-thumb.heic"))
	f.Add(binary.BigEndian.AppendUint32(nil, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHEIF(b)
		if err != nil {
			return
		}
		if _, ok := h.Item(h.Primary); !ok {
			t.Fatal("a primary item outside the file")
		}
		m := tiffMeta(h.EXIF())
		if m.Lat != nil && (*m.Lat < -90 || *m.Lat > 90) {
			t.Fatal("impossible latitude")
		}
		_ = thumbnailJPEG(h.EXIF())
		_ = h.WithPrimary(h.Primary)
	})
}
