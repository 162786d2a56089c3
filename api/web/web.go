// Package web is the dispatcher console, the customer's tracking page and the technician's app
// (/tech, an installable web app that works offline): pages with their scripts and styles
// embedded in the binary (no build step, no CDN: Leaflet and its vector tile plugin,
// Leaflet.VectorGrid, are vendored under assets/leaflet by scripts/vendor-leaflet.sh and
// scripts/vendor-vectorgrid.sh). The console's map draws tiles only from the source its
// configuration names. The console and the technician's app are public and every API call they
// make carries the bearer token; the
// tracking page's calls carry its link's token in their path.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed assets
var assets embed.FS

//go:embed tech
var techAssets embed.FS

const pageCSP = "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

// ConsoleConfig is what the server tells the console: where its map's tiles come from.
type ConsoleConfig struct {
	// MapTiles is a tile URL template ({z}/{x}/{y}, optionally {s}) (FIELDFIX_MAP_TILES): raster
	// images, or Mapbox Vector Tiles when it ends in .pbf or .mvt (drawn with a plain built-in
	// style); empty, the map draws H3 cells and routes on a plain background and says so.
	MapTiles string `json:"map_tiles"`
	// MapAttribution is the credit the tile source asks for (FIELDFIX_MAP_ATTRIBUTION).
	MapAttribution string `json:"map_attribution"`
}

// Console serves /console (the page), /console/config.json and /console/* (its assets). The
// page may load images (raster tiles), or fetch data (vector tiles), from the tile source's
// origin, and from nowhere else outside the server.
func Console(cfg ConsoleConfig) echo.HandlerFunc {
	csp := pageCSP
	if o := tileOrigin(cfg.MapTiles); o != "" && vectorTiles(cfg.MapTiles) {
		csp = strings.Replace(csp, "default-src 'self';", "default-src 'self'; connect-src 'self' "+o+";", 1)
	} else if o != "" {
		csp = strings.Replace(csp, "img-src 'self' data:", "img-src 'self' data: "+o, 1)
	}
	return func(c echo.Context) error {
		name := strings.TrimPrefix(c.Param("*"), "/")
		if name == "" || name == "index.html" {
			name = "index.html"
		}
		if name == "config.json" {
			c.Response().Header().Set("Cache-Control", "no-cache")
			return c.JSON(http.StatusOK, cfg)
		}
		return serve(c, name, csp)
	}
}

var vectorTemplate = regexp.MustCompile(`(?i)\.(pbf|mvt)(\?|$)`)

// vectorTiles tells whether a tile URL template names Mapbox Vector Tiles (.pbf, .mvt) rather than
// raster images; the console's map.js tells them apart by the same rule.
func vectorTiles(tmpl string) bool { return vectorTemplate.MatchString(tmpl) }

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// tileOrigin is the scheme and host of a tile URL template for the page's img-src, its
// placeholders ({s}.tile.example.org) as a wildcard; empty when the template names none.
func tileOrigin(tmpl string) string {
	scheme, rest, ok := strings.Cut(tmpl, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	host = placeholder.ReplaceAllString(host, "*")
	if host == "" || strings.ContainsAny(host, " ;'\"") {
		return ""
	}
	return scheme + "://" + host
}

// Tracking serves the customer's tracking page, /t/{token}; the page reads its token from the path.
func Tracking(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer") // the token stays in this page
	return serve(c, "track.html", pageCSP)
}

// TrackingAsset serves the tracking page's script and styles, /track/*.
func TrackingAsset(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("*"), "/")
	if name != "track.js" && name != "track.css" {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	return serve(c, name, pageCSP)
}

func serve(c echo.Context, name, csp string) error {
	sub, _ := fs.Sub(assets, "assets")
	data, err := fs.ReadFile(sub, name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such console file")
	}
	ct := "text/html; charset=utf-8"
	switch {
	case strings.HasSuffix(name, ".js"):
		ct = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		ct = "text/css; charset=utf-8"
	case strings.HasSuffix(name, "LICENSE"):
		ct = "text/plain; charset=utf-8"
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	c.Response().Header().Set("Content-Security-Policy", csp)
	return c.Blob(http.StatusOK, ct, data)
}

// versionMark in sw.js is replaced by techVersion when it is served.
const versionMark = "__FIELDFIX_TECH_VERSION__"

// techVersion names this build of the technician app: a digest of all its files. The service
// worker caches the shell under it, so a release changes sw.js, the phone installs the new worker,
// which caches every file of the release at once: the page and its script never come from two
// releases (the old worker refreshed the script behind the cached page, and a page of one release
// ran a script of the next).
var techVersion = appVersion(techAssets, "tech")

// TechVersion is this build's release of the technician app (its service worker's cache is named after it).
func TechVersion() string { return techVersion }

// appVersion is a digest of the files under dir of fsys (names and bytes), 16 hex digits.
func appVersion(fsys fs.FS, dir string) string {
	h := sha256.New()
	_ = fs.WalkDir(fsys, dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// techFiles are the technician app's files and their types.
var techFiles = map[string]string{
	"index.html":           "text/html; charset=utf-8",
	"app.js":               "text/javascript; charset=utf-8",
	"store.js":             "text/javascript; charset=utf-8",
	"style.css":            "text/css; charset=utf-8",
	"sw.js":                "text/javascript; charset=utf-8",
	"manifest.webmanifest": "application/manifest+json",
	"icon.svg":             "image/svg+xml",
	"icon-192.png":         "image/png",
	"icon-512.png":         "image/png",
}

// Tech serves the technician's app: /tech/ (the page) and /tech/* (its files); /tech sends the
// browser to /tech/, the service worker's scope.
func Tech(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("*"), "/")
	if c.Path() == "/tech" {
		return c.Redirect(http.StatusMovedPermanently, "/tech/")
	}
	if name == "" {
		name = "index.html"
	}
	ct, ok := techFiles[name]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	data, err := fs.ReadFile(techAssets, "tech/"+name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	if name == "sw.js" {
		data = bytes.ReplaceAll(data, []byte(versionMark), []byte(techVersion))
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache") // the service worker keeps the offline copy
	// blob: shows a photo taken offline before it is uploaded; data: the signature's preview.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'")
	if name == "sw.js" {
		h.Set("Service-Worker-Allowed", "/tech/")
	}
	return c.Blob(http.StatusOK, ct, data)
}
