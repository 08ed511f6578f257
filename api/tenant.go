package api

import (
	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/workflows"
)

// tenantContextKey is where the authentication middleware leaves the
// caller's tenant in the gin context.
const tenantContextKey = "riptide.tenant"

// tenantOf is the tenant of the request's API key: every read and write of
// a handler is scoped to it.
func tenantOf(c *gin.Context) string {
	if t := c.GetString(tenantContextKey); t != "" {
		return t
	}
	return workflows.DefaultTenant
}
