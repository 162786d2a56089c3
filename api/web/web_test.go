package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"
)

// TestTechVersionFollowsEveryFile: the app's release digest changes when any of its files does
// (so a release installs a new service worker that caches it whole), and the served sw.js names it.
func TestTechVersionFollowsEveryFile(t *testing.T) {
	files := fstest.MapFS{"tech/index.html": {Data: []byte("<p>one")}, "tech/app.js": {Data: []byte("a()")}}
	v1 := appVersion(files, "tech")
	files["tech/index.html"] = &fstest.MapFile{Data: []byte("<p>two")}
	v2 := appVersion(files, "tech")
	files["tech/style.css"] = &fstest.MapFile{Data: []byte("p{}")}
	v3 := appVersion(files, "tech")
	if len(v1) != 16 || v1 == v2 || v2 == v3 || v1 == v3 || appVersion(files, "tech") != v3 {
		t.Fatalf("versions %s %s %s", v1, v2, v3)
	}

	e := echo.New()
	e.GET("/tech/*", Tech)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/tech/sw.js", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `const VERSION = "`+TechVersion()+`"`) || strings.Contains(body, versionMark) || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("sw.js: %d %q…", rec.Code, body[:min(len(body), 600)])
	}
}

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

// TestConsoleCSPFollowsTheTileKind: raster tiles are images, so the console's CSP lets images in
// from their origin; vector tiles are fetched as data, so it lets the page connect there instead
// (and not load images from it); the plug-in and its licence are served with the page's assets.
func TestConsoleCSPFollowsTheTileKind(t *testing.T) {
	for tmpl, want := range map[string][2]string{
		"https://tiles.example.org/{z}/{x}/{y}.png":        {"img-src 'self' data: https://tiles.example.org;", "default-src 'self'; style-src"},
		"https://{s}.tiles.example.org/v3/{z}/{x}/{y}.pbf": {"connect-src 'self' https://*.tiles.example.org;", "img-src 'self' data:;"},
		"https://tiles.example.org/{z}/{x}/{y}.MVT?key=k":  {"connect-src 'self' https://tiles.example.org;", "img-src 'self' data:;"},
		"": {"default-src 'self'; style-src", "img-src 'self' data:;"},
	} {
		e := echo.New()
		e.GET("/console/*", Console(ConsoleConfig{MapTiles: tmpl}))
		for _, name := range []string{"", "leaflet/vectorgrid.js", "leaflet/vectorgrid.LICENSE"} {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/"+name, nil))
			csp := rec.Header().Get("Content-Security-Policy")
			if rec.Code != 200 || !strings.Contains(csp, want[0]) || !strings.Contains(csp, want[1]) {
				t.Errorf("%q, /console/%s: %d, CSP %q, want %q and %q", tmpl, name, rec.Code, csp, want[0], want[1])
			}
		}
	}
}
