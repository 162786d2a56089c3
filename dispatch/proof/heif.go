package proof

import (
	"encoding/binary"
	"errors"
)

// A HEIC/HEIF file is an ISOBMFF container (ISO/IEC 14496-12, 23008-12): boxes of a size and a
// four-letter type. Its 'meta' box names the items (iinf: an 'hvc1' or 'grid' image, its
// 'Exif' block, its thumbnails), says where each item's bytes are (iloc), which one is the
// picture (pitm), its size and rotation (iprp: ispe, irot, associated by ipma) and which items
// are thumbnails of it (iref 'thmb'). This reads that much, in pure Go: enough to keep a photo's
// EXIF time and GPS and its size without decoding a single pixel of HEVC.

// heifFile is what the container says of its picture.
type heifFile struct {
	b           []byte
	Primary     uint32
	Width       int // after the rotation (irot), 0 when no ispe is associated
	Height      int
	exif        []uint32 // items of type 'Exif', the one describing the primary first
	thumbs      []uint32 // items that are thumbnails ('thmb') of the primary, smallest first
	pitmAt      int      // where the primary item's id is written in the file, pitmSize bytes
	pitmSize    int
	items       map[uint32]heifItem
	idat        []byte
	sizeOfItems map[uint32][2]int
}

type heifItem struct {
	typ     string
	method  int // iloc construction method: 0 file offsets, 1 idat offsets
	extents [][2]uint64
}

var errHEIF = errors.New("not a readable HEIF container")

// box is one ISOBMFF box: its type, its payload (after the header) and where the payload starts
// in the file.
type box struct {
	typ  string
	body []byte
	at   int
}

// boxes splits b (starting at file offset base) into its boxes; a box that runs past the end is an error.
func boxes(b []byte, base int) ([]box, error) {
	var out []box
	for i := 0; i < len(b); {
		if len(b)-i < 8 {
			return nil, errHEIF
		}
		size := uint64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		h := 8
		switch size {
		case 0:
			size = uint64(len(b) - i)
		case 1:
			if len(b)-i < 16 {
				return nil, errHEIF
			}
			size, h = binary.BigEndian.Uint64(b[i+8:]), 16
		}
		if size < uint64(h) || size > uint64(len(b)-i) {
			return nil, errHEIF
		}
		out = append(out, box{typ: typ, body: b[i+h : i+int(size)], at: base + i + h})
		i += int(size)
		if len(out) > 10_000 {
			return nil, errHEIF
		}
	}
	return out, nil
}

// reader reads big-endian fields of a box's payload, failing once past its end.
type reader struct {
	b   []byte
	off int
	bad bool
}

func (r *reader) n(size int) uint64 {
	if r.bad || size < 0 || r.off+size > len(r.b) {
		r.bad = true
		return 0
	}
	var v uint64
	for _, c := range r.b[r.off : r.off+size] {
		v = v<<8 | uint64(c)
	}
	r.off += size
	return v
}

func (r *reader) str() string { // a NUL-terminated string
	for i := r.off; i < len(r.b); i++ {
		if r.b[i] == 0 {
			s := string(r.b[r.off:i])
			r.off = i + 1
			return s
		}
	}
	r.bad = true
	return ""
}

func find(bs []box, typ string) *box {
	for i := range bs {
		if bs[i].typ == typ {
			return &bs[i]
		}
	}
	return nil
}

// readHEIF reads the container of b (which starts with an ftyp box): it fails when there is no
// meta box, no primary item, or the primary item's bytes are not inside the file.
func readHEIF(b []byte) (*heifFile, error) {
	top, err := boxes(b, 0)
	if err != nil || len(top) == 0 || top[0].typ != "ftyp" {
		return nil, errHEIF
	}
	meta := find(top, "meta")
	if meta == nil || len(meta.body) < 4 {
		return nil, errHEIF
	}
	inner, err := boxes(meta.body[4:], meta.at+4) // meta is a full box: version and flags first
	if err != nil {
		return nil, errHEIF
	}
	h := &heifFile{b: b, items: map[uint32]heifItem{}}
	if idat := find(inner, "idat"); idat != nil {
		h.idat = idat.body
	}
	pitm := find(inner, "pitm")
	if pitm == nil {
		return nil, errHEIF
	}
	r := reader{b: pitm.body}
	h.pitmSize = 2
	if r.n(1) != 0 {
		h.pitmSize = 4
	}
	r.n(3)
	h.pitmAt = pitm.at + r.off
	h.Primary = uint32(r.n(h.pitmSize))
	if r.bad {
		return nil, errHEIF
	}
	if err := h.readItems(inner); err != nil {
		return nil, err
	}
	if _, ok := h.Item(h.Primary); !ok {
		return nil, errHEIF
	}
	h.readRefs(inner)
	h.readProperties(inner)
	return h, nil
}

// readItems reads iinf (the items' types) and iloc (where their bytes are).
func (h *heifFile) readItems(inner []box) error {
	iinf, iloc := find(inner, "iinf"), find(inner, "iloc")
	if iinf == nil || iloc == nil {
		return errHEIF
	}
	r := reader{b: iinf.body}
	countSize := 2
	if r.n(1) != 0 {
		countSize = 4
	}
	r.n(3)
	r.n(countSize)
	if r.bad {
		return errHEIF
	}
	infes, err := boxes(iinf.body[r.off:], iinf.at+r.off)
	if err != nil {
		return errHEIF
	}
	for _, infe := range infes {
		if infe.typ != "infe" {
			continue
		}
		r := reader{b: infe.body}
		v := r.n(1)
		r.n(3)
		if v < 2 { // versions 0 and 1 carry no item type (and no Exif or image items of HEIF)
			continue
		}
		idSize := 2
		if v == 3 {
			idSize = 4
		}
		id := uint32(r.n(idSize))
		r.n(2) // protection index
		typ := string(r.b[min(r.off, len(r.b)):min(r.off+4, len(r.b))])
		r.n(4)
		if r.bad {
			return errHEIF
		}
		h.items[id] = heifItem{typ: typ}
	}

	r = reader{b: iloc.body}
	v := r.n(1)
	r.n(3)
	sizes := r.n(2)
	offSize, lenSize, baseSize, idxSize := int(sizes>>12), int(sizes>>8&15), int(sizes>>4&15), int(sizes&15)
	if v == 0 {
		idxSize = 0
	}
	for _, s := range []int{offSize, lenSize, baseSize, idxSize} {
		if s != 0 && s != 4 && s != 8 {
			return errHEIF
		}
	}
	var count uint64
	if v < 2 {
		count = r.n(2)
	} else {
		count = r.n(4)
	}
	for k := uint64(0); k < count && !r.bad; k++ {
		var id uint32
		if v < 2 {
			id = uint32(r.n(2))
		} else {
			id = uint32(r.n(4))
		}
		method := 0
		if v >= 1 {
			method = int(r.n(2) & 15)
		}
		r.n(2) // data reference index: 0, this file
		base := r.n(baseSize)
		extents := int(r.n(2))
		it := h.items[id]
		it.method = method
		it.extents = nil
		for e := 0; e < extents && !r.bad; e++ {
			r.n(idxSize)
			off, n := r.n(offSize), r.n(lenSize)
			it.extents = append(it.extents, [2]uint64{base + off, n})
		}
		if _, known := h.items[id]; known {
			h.items[id] = it
		}
	}
	if r.bad {
		return errHEIF
	}
	return nil
}

// readRefs reads iref: the Exif items that describe ('cdsc') the primary, the thumbnails ('thmb') of it.
func (h *heifFile) readRefs(inner []box) {
	var exifOfPrimary, otherExif []uint32
	seen := map[uint32]bool{}
	if iref := find(inner, "iref"); iref != nil && len(iref.body) >= 4 {
		idSize := 2
		if iref.body[0] != 0 {
			idSize = 4
		}
		refs, _ := boxes(iref.body[4:], iref.at+4)
		for _, ref := range refs {
			r := reader{b: ref.body}
			from := uint32(r.n(idSize))
			n := int(r.n(2))
			for k := 0; k < n && !r.bad; k++ {
				to := uint32(r.n(idSize))
				if r.bad || to != h.Primary {
					continue
				}
				switch {
				case ref.typ == "thmb" && (h.items[from].typ == "hvc1" || h.items[from].typ == "grid"):
					h.thumbs = append(h.thumbs, from)
				case ref.typ == "cdsc" && h.items[from].typ == "Exif" && !seen[from]:
					exifOfPrimary, seen[from] = append(exifOfPrimary, from), true
				}
			}
		}
	}
	for id, it := range h.items {
		if it.typ == "Exif" && !seen[id] {
			otherExif = append(otherExif, id)
		}
	}
	h.exif = append(exifOfPrimary, otherExif...)
}

// readProperties reads iprp: the primary item's ispe (size) and irot (rotation), and each
// thumbnail's size, to try the smallest first.
func (h *heifFile) readProperties(inner []box) {
	iprp := find(inner, "iprp")
	if iprp == nil {
		return
	}
	ps, err := boxes(iprp.body, iprp.at)
	if err != nil {
		return
	}
	ipco, ipma := find(ps, "ipco"), find(ps, "ipma")
	if ipco == nil || ipma == nil {
		return
	}
	props, err := boxes(ipco.body, ipco.at)
	if err != nil {
		return
	}
	r := reader{b: ipma.body}
	v, flags := r.n(1), r.n(3)
	count := r.n(4)
	h.sizeOfItems = map[uint32][2]int{}
	for k := uint64(0); k < count && !r.bad; k++ {
		var id uint32
		if v < 1 {
			id = uint32(r.n(2))
		} else {
			id = uint32(r.n(4))
		}
		n := int(r.n(1))
		w, ht, rot := 0, 0, 0
		for a := 0; a < n && !r.bad; a++ {
			var idx int
			if flags&1 != 0 {
				idx = int(r.n(2) & 0x7FFF)
			} else {
				idx = int(r.n(1) & 0x7F)
			}
			if idx < 1 || idx > len(props) {
				continue
			}
			p := props[idx-1]
			switch {
			case p.typ == "ispe" && len(p.body) >= 12:
				w, ht = int(binary.BigEndian.Uint32(p.body[4:])), int(binary.BigEndian.Uint32(p.body[8:]))
			case p.typ == "irot" && len(p.body) >= 1:
				rot = int(p.body[0] & 3)
			}
		}
		if rot%2 == 1 {
			w, ht = ht, w
		}
		h.sizeOfItems[id] = [2]int{w, ht}
		if id == h.Primary {
			h.Width, h.Height = w, ht
		}
	}
	// The smallest thumbnail first: the cheapest to decode.
	for i := 1; i < len(h.thumbs); i++ {
		for j := i; j > 0 && h.pixels(h.thumbs[j]) < h.pixels(h.thumbs[j-1]); j-- {
			h.thumbs[j], h.thumbs[j-1] = h.thumbs[j-1], h.thumbs[j]
		}
	}
}

func (h *heifFile) pixels(id uint32) int {
	s := h.sizeOfItems[id]
	return s[0] * s[1]
}

// Item is the bytes of item id (its extents put together); false when they are not in the file.
func (h *heifFile) Item(id uint32) ([]byte, bool) {
	it, ok := h.items[id]
	if !ok || len(it.extents) == 0 {
		return nil, false
	}
	var src []byte
	switch it.method {
	case 0:
		src = h.b
	case 1:
		src = h.idat
	default:
		return nil, false
	}
	var out []byte
	for _, e := range it.extents {
		off, n := e[0], e[1]
		if n == 0 { // to the end of the file
			if off > uint64(len(src)) {
				return nil, false
			}
			n = uint64(len(src)) - off
		}
		if off > uint64(len(src)) || n > uint64(len(src))-off || len(out)+int(n) > len(h.b) {
			return nil, false
		}
		out = append(out, src[off:off+n]...)
	}
	return out, true
}

// EXIF is the TIFF block of the primary item's Exif item, nil when there is none. The item
// starts with a 32-bit offset to the TIFF header (often past an "Exif\0\0" prefix).
func (h *heifFile) EXIF() []byte {
	for _, id := range h.exif {
		b, ok := h.Item(id)
		if !ok || len(b) < 4 {
			continue
		}
		off := uint64(binary.BigEndian.Uint32(b))
		if 4+off+8 > uint64(len(b)) {
			continue
		}
		if t := b[4+off:]; string(t[:2]) == "II" || string(t[:2]) == "MM" {
			return t
		}
	}
	return nil
}

// WithPrimary is a copy of the file whose primary item is id (a thumbnail): what a decoder that
// decodes only the primary picture then decodes. The ids are the same width, so nothing moves.
func (h *heifFile) WithPrimary(id uint32) []byte {
	out := append([]byte(nil), h.b...)
	if h.pitmSize == 2 {
		binary.BigEndian.PutUint16(out[h.pitmAt:], uint16(id))
	} else {
		binary.BigEndian.PutUint32(out[h.pitmAt:], id)
	}
	return out
}
