package proof

import (
	"encoding/binary"
	"testing"
)

// tiffWithGPS is a big-endian EXIF block with only a GPS IFD: 22°32'24" S, 43°10'12" W.
func tiffWithGPS() []byte {
	be := binary.BigEndian
	t := []byte{'M', 'M', 0, 42}
	t = be.AppendUint32(t, 8)
	t = be.AppendUint16(t, 1) // IFD0 at 8, one entry → 8+2+12+4 = 26
	t = append(be.AppendUint32(be.AppendUint32(be.AppendUint16(be.AppendUint16(t, 0x8825), 4), 1), 26), 0, 0, 0, 0)
	t = be.AppendUint16(t, 4) // GPS IFD at 26 → 26+2+48+4 = 80
	entry := func(tag, typ uint16, count, value uint32) {
		t = be.AppendUint32(be.AppendUint32(be.AppendUint16(be.AppendUint16(t, tag), typ), count), value)
	}
	entry(1, 2, 2, uint32('S')<<24)
	entry(2, 5, 3, 80)
	entry(3, 2, 2, uint32('W')<<24)
	entry(4, 5, 3, 104)
	t = append(t, 0, 0, 0, 0)
	for _, v := range []uint32{22, 1, 32, 1, 24, 1, 43, 1, 10, 1, 12, 1} {
		t = be.AppendUint32(t, v)
	}
	return t
}

func jpegWith(tiff []byte) []byte {
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	return append(append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(app1) + 2) >> 8), byte(len(app1) + 2)}, app1...), 0xFF, 0xD9)
}

func TestEXIFSouthWestBigEndian(t *testing.T) {
	m := jpegEXIF(jpegWith(tiffWithGPS()))
	if m.Lat == nil || m.Lng == nil || *m.Lat != -22.54 || *m.Lng != -43.17 || m.TakenAt != nil {
		t.Fatalf("meta %+v", m)
	}
}

// FuzzEXIF: whatever the bytes, reading them never panics and never yields an impossible position.
func FuzzEXIF(f *testing.F) {
	f.Add(jpegWith(tiffWithGPS()))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := jpegEXIF(b)
		if m.Lat != nil && (*m.Lat < -90 || *m.Lat > 90 || *m.Lng < -180 || *m.Lng > 180) {
			t.Fatalf("position %v,%v", *m.Lat, *m.Lng)
		}
	})
}
