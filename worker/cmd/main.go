// Command riptide-worker runs riptide's Temporal worker: the job and batch
// workflows and their download, mux, upload and webhook activities.
package main

import (
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/worker"
)

func main() { app.Main("Worker", nil, worker.Run) }
