// Command worker runs riptide's Temporal worker: it executes job workflows
// and their download, mux, upload and webhook activities.
package main

import (
	"context"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/storage"
)

func main() {
	cfg, err := config.Load()
	if err != nil {
		slog.Error("Loading configuration failed", "error", err)
		os.Exit(2)
	}
	logger := app.NewLogger(cfg.Log, os.Stderr)
	if err := run(cfg, logger); err != nil {
		logger.Error("Worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(cfg *config.Config, logger *slog.Logger) error {
	store, err := storage.New(context.Background(), cfg.S3)
	if err != nil {
		return err
	}
	c, err := client.Dial(client.Options{
		HostPort:  cfg.Temporal.Address,
		Namespace: cfg.Temporal.Namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
	})
	if err != nil {
		return err
	}
	defer c.Close()
	acts, stopActs, err := app.NewActivities(cfg, store, os.Stderr)
	if err != nil {
		return err
	}
	defer stopActs()
	w, err := app.NewWorker(c, cfg, acts)
	if err != nil {
		return err
	}
	logger.Info("Worker starting", "task_queue", cfg.Temporal.TaskQueue, "concurrency", cfg.Worker.Concurrency,
		"work_dir", cfg.Worker.WorkDir)
	return w.Run(worker.InterruptCh())
}
