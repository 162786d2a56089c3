//go:build ignore

// ttc2ttf takes one font out of a TrueType collection (.ttc) as a standalone .ttf, which fpdf can
// embed (it reads no collections). The report font dispatch/pdf/wqy-microhei.ttf was made with:
//
//	apt-get install fonts-wqy-microhei
//	go run scripts/ttc2ttf.go /usr/share/fonts/truetype/wqy/wqy-microhei.ttc 0 dispatch/pdf/wqy-microhei.ttf
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/ttc2ttf.go in.ttc index out.ttf")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	idx, _ := strconv.Atoi(os.Args[2])
	be := binary.BigEndian
	if string(in[:4]) != "ttcf" || idx < 0 || idx >= int(be.Uint32(in[8:])) {
		fail(fmt.Errorf("%s is not a collection with a font %d", os.Args[1], idx))
	}
	off := be.Uint32(in[12+4*idx:])
	n := int(be.Uint16(in[off+4:]))
	head := 12 + 16*n
	out := make([]byte, head)
	copy(out, in[off:off+12])
	for i := 0; i < n; i++ {
		rec := in[int(off)+12+16*i : int(off)+28+16*i]
		at, length := be.Uint32(rec[8:]), be.Uint32(rec[12:])
		copy(out[12+16*i:], rec[:8])
		be.PutUint32(out[12+16*i+8:], uint32(len(out)))
		be.PutUint32(out[12+16*i+12:], length)
		out = append(out, in[at:at+length]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	if err := os.WriteFile(os.Args[3], out, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ttc2ttf:", err)
	os.Exit(1)
}
