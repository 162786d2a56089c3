package web

import "testing"

// TestTileOrigin: the console's CSP lets images in from the tile template's origin, its
// placeholders as a wildcard, and from nothing when the template is not an http(s) URL.
func TestTileOrigin(t *testing.T) {
	for tmpl, want := range map[string]string{
		"https://tile.openstreetmap.org/{z}/{x}/{y}.png":         "https://tile.openstreetmap.org",
		"https://{s}.tiles.example.org/light/{z}/{x}/{y}@2x.png": "https://*.tiles.example.org",
		"http://127.0.0.1:8081/{z}/{x}/{y}.png":                  "http://127.0.0.1:8081",
		"":                                                       "",
		"ftp://tiles.example.org/{z}/{x}/{y}.png":                "",
		"https:///{z}/{x}/{y}.png":                               "",
		"https://evil.example.org; script-src *":                 "",
	} {
		if got := tileOrigin(tmpl); got != want {
			t.Errorf("tileOrigin(%q) = %q, want %q", tmpl, got, want)
		}
	}
}
