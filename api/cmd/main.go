// Command riptide-api serves riptide's HTTP API (README: API).
package main

import (
	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
)

func main() { app.Main("API", api.CheckConfig, api.Serve) }
