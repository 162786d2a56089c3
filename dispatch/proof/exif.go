package proof

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"time"
)

// photoMeta is what a photo says of itself in its EXIF: when and where it was taken.
type photoMeta struct {
	TakenAt  *time.Time
	Lat, Lng *float64
}

// jpegEXIF reads the EXIF of a JPEG: DateTimeOriginal (with OffsetTimeOriginal when the camera
// wrote it, else taken as UTC) and the GPS position. Anything malformed is skipped: the metadata
// is a help to the reader, never a reason to refuse a photo.
func jpegEXIF(b []byte) photoMeta {
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return photoMeta{}
		}
		marker := b[i+1]
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF {
			i += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image: no EXIF before it
			return photoMeta{}
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return photoMeta{}
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffMeta(seg[6:])
		}
		i += 2 + n
	}
	return photoMeta{}
}

// tiff is an EXIF TIFF block in its byte order.
type tiff struct {
	b  []byte
	bo binary.ByteOrder
}

type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte // the value's bytes (inline or at its offset), nil when out of bounds
}

// newTIFF reads a TIFF block's byte order.
func newTIFF(b []byte) (tiff, bool) {
	if len(b) < 8 {
		return tiff{}, false
	}
	t := tiff{b: b}
	switch string(b[:2]) {
	case "II":
		t.bo = binary.LittleEndian
	case "MM":
		t.bo = binary.BigEndian
	default:
		return tiff{}, false
	}
	return t, true
}

func tiffMeta(b []byte) photoMeta {
	t, ok := newTIFF(b)
	if !ok {
		return photoMeta{}
	}
	var m photoMeta
	ifd0 := t.ifd(t.bo.Uint32(b[4:]))
	if e, ok := ifd0[0x8769]; ok && len(e.value) >= 4 {
		ex := t.ifd(t.bo.Uint32(e.value))
		if dt, ok := ex[0x9003]; ok {
			m.TakenAt = exifTime(ascii(dt.value), ascii(ex[0x9011].value))
		}
	}
	if e, ok := ifd0[0x8825]; ok && len(e.value) >= 4 {
		gps := t.ifd(t.bo.Uint32(e.value))
		lat, okLat := t.degrees(gps[2])
		lng, okLng := t.degrees(gps[4])
		if okLat && okLng {
			if strings.HasPrefix(ascii(gps[1].value), "S") {
				lat = -lat
			}
			if strings.HasPrefix(ascii(gps[3].value), "W") {
				lng = -lng
			}
			if lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180 {
				m.Lat, m.Lng = &lat, &lng
			}
		}
	}
	return m
}

// thumbnailJPEG is the JPEG thumbnail an EXIF block may carry in its IFD1 (the IFD after IFD0):
// JPEGInterchangeFormat (0x0201, its offset in the block) and its length (0x0202); nil when there
// is none or it is not inside the block.
func thumbnailJPEG(b []byte) []byte {
	t, ok := newTIFF(b)
	if !ok {
		return nil
	}
	ifd0 := t.bo.Uint32(b[4:])
	if uint64(ifd0)+2 > uint64(len(b)) {
		return nil
	}
	next := uint64(ifd0) + 2 + uint64(t.bo.Uint16(b[ifd0:]))*12
	if next+4 > uint64(len(b)) {
		return nil
	}
	ifd1 := t.bo.Uint32(b[next:])
	if ifd1 == 0 {
		return nil
	}
	e := t.ifd(ifd1)
	at, ok1 := t.count(e[0x0201])
	size, ok2 := t.count(e[0x0202])
	if !ok1 || !ok2 || size < 4 || at+size > uint64(len(b)) || b[at] != 0xFF || b[at+1] != 0xD8 {
		return nil
	}
	return b[at : at+size]
}

// count reads an entry holding one SHORT or LONG.
func (t tiff) count(e ifdEntry) (uint64, bool) {
	switch {
	case e.typ == 4 && e.count == 1 && len(e.value) == 4:
		return uint64(t.bo.Uint32(e.value)), true
	case e.typ == 3 && e.count == 1 && len(e.value) == 2:
		return uint64(t.bo.Uint16(e.value)), true
	}
	return 0, false
}

// typeSize is the size of one value of each TIFF type.
var typeSize = map[uint16]uint32{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}

// ifd reads the entries of the IFD at off.
func (t tiff) ifd(off uint32) map[uint16]ifdEntry {
	out := map[uint16]ifdEntry{}
	if uint64(off)+2 > uint64(len(t.b)) {
		return out
	}
	n := int(t.bo.Uint16(t.b[off:]))
	for k := 0; k < n && k < 500; k++ {
		p := uint64(off) + 2 + uint64(k)*12
		if p+12 > uint64(len(t.b)) {
			break
		}
		e := ifdEntry{tag: t.bo.Uint16(t.b[p:]), typ: t.bo.Uint16(t.b[p+2:]), count: t.bo.Uint32(t.b[p+4:])}
		size := uint64(typeSize[e.typ]) * uint64(e.count)
		if size <= 4 {
			e.value = t.b[p+8 : p+8+size]
		} else if at := uint64(t.bo.Uint32(t.b[p+8:])); at+size <= uint64(len(t.b)) {
			e.value = t.b[at : at+size]
		}
		out[e.tag] = e
	}
	return out
}

// degrees reads a GPS coordinate: three rationals, degrees, minutes and seconds.
func (t tiff) degrees(e ifdEntry) (float64, bool) {
	if e.typ != 5 || e.count != 3 || len(e.value) != 24 {
		return 0, false
	}
	var v [3]float64
	for i := range v {
		num, den := t.bo.Uint32(e.value[i*8:]), t.bo.Uint32(e.value[i*8+4:])
		if den == 0 {
			return 0, false
		}
		v[i] = float64(num) / float64(den)
	}
	d := v[0] + v[1]/60 + v[2]/3600
	return math.Round(d*1e7) / 1e7, true
}

func ascii(b []byte) string { return strings.TrimRight(string(b), "\x00 ") }

// exifTime reads "2006:01:02 15:04:05" with an optional offset "+08:00".
func exifTime(s, offset string) *time.Time {
	loc := time.UTC
	if o, err := time.Parse("-07:00", offset); err == nil {
		_, secs := o.Zone()
		loc = time.FixedZone(offset, secs)
	}
	t, err := time.ParseInLocation("2006:01:02 15:04:05", s, loc)
	if err != nil || t.Year() < 1990 {
		return nil
	}
	t = t.UTC()
	return &t
}
