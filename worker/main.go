// Command worker runs riptide's Temporal worker: it executes job workflows
// and their download, mux, upload and webhook activities.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/metrics"
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
	m, err := metrics.New()
	if err != nil {
		return err
	}
	opts, err := app.ClientOptions(cfg.Temporal, logger, m.Handler)
	if err != nil {
		return err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.Worker.MetricsAddr != "" {
		srv, err := m.Listen(cfg.Worker.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		defer srv.Shutdown(context.Background())
		logger.Info("Serving metrics", "addr", "http://"+srv.Addr()+"/metrics")
	}
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
