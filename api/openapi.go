package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDoc describes every route and webhook payload. openapi_test.go
// fails when a route is missing from it, or it lists one that is gone.
//
//go:embed openapi.json
var openAPIDoc []byte

const openAPIPath = "/openapi.json"

func serveOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDoc)
}
