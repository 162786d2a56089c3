// Package web is the dispatcher console and the customer's tracking page: pages with their
// scripts and styles embedded in the binary (no build step, no external assets: maps are SVG).
// The console is public and every API call it makes carries the dispatcher's bearer token; the
// tracking page's calls carry its link's token in their path.
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
	return serve(c, name)
}

// Tracking serves the customer's tracking page, /t/{token}; the page reads its token from the path.
func Tracking(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer") // the token stays in this page
	return serve(c, "track.html")
}

// TrackingAsset serves the tracking page's script and styles, /track/*.
func TrackingAsset(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("*"), "/")
	if name != "track.js" && name != "track.css" {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	return serve(c, name)
}

func serve(c echo.Context, name string) error {
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
