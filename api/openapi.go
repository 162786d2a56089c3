package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the published OpenAPI 3 document.
func OpenAPI() []byte { return openapiDoc }

func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openapiDoc)
}
