package proof

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/gen2brain/heic"

	"github.com/fieldfix/fieldfix/dispatch"
)

// HEVC pictures are decoded by libheif and libde265 compiled to WebAssembly and run in wazero
// (github.com/gen2brain/heic; pure Go, so the static build needs no C library for it). A 12 MP
// photo costs about 4 s and 320 MB while it is decoded (BenchmarkHEICUpload), a phone's 320-px
// thumbnail item 85 ms, so one decode runs at a time and the cheapest picture is decoded: the JPEG thumbnail of the photo's EXIF when it has one, else the
// container's own HEVC thumbnail (phones write one of about 320 px), and only without either the
// photo itself.
var heicSlot = make(chan struct{}, 1)

// heicMeta reads a HEIC upload: its container must hold a primary picture within the file and
// within the pixel cap; its EXIF gives the time and GPS; the thumbnail (a JPEG) comes from the
// cheapest picture that decodes. A container that reads but whose pictures do not decode is
// refused only when nothing at all decodes.
func heicMeta(ctx context.Context, data []byte) (w, h *int, meta photoMeta, thumb []byte, err error) {
	f, err := readHEIF(data)
	if err != nil {
		return nil, nil, photoMeta{}, nil, dispatch.Invalid("file", "unreadable_image", "the HEIC file cannot be read: its container has no picture inside the file")
	}
	if f.Width > 0 && f.Height > 0 {
		if f.Width*f.Height > MaxPixels {
			return nil, nil, photoMeta{}, nil, dispatch.Invalid("file", "image_too_large", "an image has at most %d pixels", MaxPixels)
		}
		w, h = &f.Width, &f.Height
	}
	exif := f.EXIF()
	if exif != nil {
		meta = tiffMeta(exif)
	}
	if j := thumbnailJPEG(exif); j != nil {
		if img, err := jpeg.Decode(bytes.NewReader(j)); err == nil {
			if b := img.Bounds(); b.Dx() <= ThumbSide && b.Dy() <= ThumbSide {
				return w, h, meta, j, nil
			}
			t, err := thumbnail(img)
			return w, h, meta, t, err
		}
	}
	for _, id := range f.thumbs {
		if f.pitmSize == 2 && id > 0xFFFF {
			continue
		}
		if img, err := decodeHEIC(ctx, f.WithPrimary(id)); err == nil {
			t, err := thumbnail(img)
			return w, h, meta, t, err
		}
	}
	img, err := decodeHEIC(ctx, data)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, photoMeta{}, nil, ctx.Err()
		}
		return nil, nil, photoMeta{}, nil, dispatch.Invalid("file", "unreadable_image", "the HEIC picture cannot be decoded: %v", err)
	}
	if w == nil {
		b := img.Bounds()
		bw, bh := b.Dx(), b.Dy()
		w, h = &bw, &bh
	}
	t, err := thumbnail(img)
	return w, h, meta, t, err
}

// decodeHEIC decodes the primary picture of a HEIC file, one at a time.
func decodeHEIC(ctx context.Context, b []byte) (img image.Image, err error) {
	select {
	case heicSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-heicSlot }()
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("heic decoder: %v", r)
		}
	}()
	img, err = heic.Decode(bytes.NewReader(b))
	if err == nil && (img.Bounds().Dx() <= 0 || img.Bounds().Dy() <= 0) {
		return nil, fmt.Errorf("heic decoder: an empty picture")
	}
	return img, err
}
