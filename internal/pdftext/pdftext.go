// Package pdftext reads back the text of the PDFs FieldFix renders (fpdf with a UTF-8 TrueType
// font), in pure Go, so that tests check a report's words without poppler on the machine.
package pdftext

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
	"unicode/utf16"
)

// Text is the text shown by the Tj operators of pdf's content streams, one shown string a line.
// fpdf writes a UTF-8 font's text as UTF-16BE in literal strings, its CIDs being the code points
// (an identity ToUnicode map), which is what this reads.
func Text(pdf []byte) string {
	var out strings.Builder
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("stream"))
		if i < 0 {
			break
		}
		body := rest[i+len("stream"):]
		body = bytes.TrimLeft(body, "\r\n")
		end := bytes.Index(body, []byte("endstream"))
		if end < 0 {
			break
		}
		data := body[:end]
		rest = body[end+len("endstream"):]
		if zr, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
			if inflated, err := io.ReadAll(zr); err == nil {
				data = inflated
			}
		}
		for _, s := range shown(data) {
			out.WriteString(s)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// shown are the literal strings of content before a Tj, decoded from UTF-16BE.
func shown(content []byte) []string {
	var out []string
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		raw, next := literal(content, i+1)
		if strings.HasPrefix(strings.TrimLeft(string(content[next:min(next+8, len(content))]), " "), "Tj") && len(raw)%2 == 0 {
			u := make([]uint16, len(raw)/2)
			for k := range u {
				u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
			}
			out = append(out, string(utf16.Decode(u)))
		}
		i = next - 1
	}
	return out
}

// literal reads a PDF literal string from just after its '(': its bytes and the index after ')'.
func literal(b []byte, i int) ([]byte, int) {
	var out []byte
	depth := 1
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b):
			i++
			switch e := b[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r', '\n':
			default:
				if e >= '0' && e <= '7' {
					v, n := 0, 0
					for ; n < 3 && i < len(b) && b[i] >= '0' && b[i] <= '7'; n++ {
						v = v*8 + int(b[i]-'0')
						i++
					}
					i--
					out = append(out, byte(v))
				} else {
					out = append(out, e)
				}
			}
		case c == '(':
			depth++
			out = append(out, c)
		case c == ')':
			depth--
			if depth == 0 {
				return out, i + 1
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out, i
}
