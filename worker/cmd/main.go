// Command riptide-worker runs riptide's Temporal worker: the job and batch
// workflows and their download, mux, upload and webhook activities.
package main

import (
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/worker"
)

// A worker beside `make dev` that could not serve the stack's jobs refuses
// to start (config.CheckDevStack).
func main() { app.Main("Worker", config.CheckDevStack, worker.Run) }
