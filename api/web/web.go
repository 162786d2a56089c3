// Package web is the dispatcher console: one page with its script and styles embedded in the
// binary (no build step, no external assets: the map is SVG drawn from the API's H3 hexagons).
// The page is public; every API call it makes carries the dispatcher's bearer token.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed assets
var assets embed.FS

// Console serves /console (the page) and /console/* (its assets).
func Console(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("*"), "/")
	if name == "" || name == "index.html" {
		name = "index.html"
	}
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
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	c.Response().Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	return c.Blob(http.StatusOK, ct, data)
}
