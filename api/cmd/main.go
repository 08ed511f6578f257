// Command api serves riptide's HTTP API: POST /jobs, GET /jobs/{id} and
// GET /healthz.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/metrics"
	"github.com/riptide-dev/riptide/internal/netguard"
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
		logger.Error("API stopped", "error", err)
		os.Exit(1)
	}
}

func run(cfg *config.Config, logger *slog.Logger) error {
	if len(cfg.API.Keys) == 0 {
		return fmt.Errorf("no API keys: set %s_API_KEYS to a comma-separated list of accepted x-api-key values", config.Prefix)
	}
	guard, err := cfg.Guard()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := storage.New(ctx, cfg.S3)
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
		return fmt.Errorf("connecting to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	if cfg.API.MetricsAddr != "" {
		m.RegisterJobsInFlight(c, cfg.Temporal.Namespace)
		msrv, err := m.Listen(cfg.API.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		defer msrv.Shutdown(context.Background())
		logger.Info("Serving metrics", "addr", "http://"+msrv.Addr()+"/metrics")
	}

	gin.SetMode(gin.ReleaseMode)
	srv := &http.Server{
		Addr: cfg.API.Addr,
		Handler: m.InstrumentHTTP(api.NewRouter(api.Deps{
			Temporal: c, TaskQueue: cfg.Temporal.TaskQueue, Store: store, Keys: cfg.API.Keys,
			MaxBodyBytes: cfg.API.MaxBodyBytes, Logger: logger, Guard: guard,
			TemporalUI: cfg.Temporal.UIURL, Namespace: cfg.Temporal.Namespace,
			RateLimit: cfg.API.RateLimit, RateBurst: cfg.API.RateBurst,
			Tools:       map[string]string{"yt-dlp": cfg.Media.YtdlpPath, "ffmpeg": cfg.Media.FfmpegPath},
			BatchWindow: cfg.Batch.Window, BatchPageSize: cfg.Batch.PageSize, BatchListWait: cfg.Batch.ListWait,
			BatchReconcileEvery: cfg.Batch.ReconcileEvery, SpotifyConfigured: cfg.Spotify.Configured(),
			FeedProbe: feedProbe(cfg.Batch.FeedProbe, guard),
		})),
		ReadHeaderTimeout: 5 * time.Second,
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("API listening", "addr", ln.Addr().String(), "task_queue", cfg.Temporal.TaskQueue)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("Shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// feedProbe is the client of the HEAD request that recognises feeds, or
// nil when probing is off.
func feedProbe(on bool, guard *netguard.Guard) *http.Client {
	if !on {
		return nil
	}
	// The probe requests a URL a client chose: it dials through the same
	// guard as downloads, so it cannot reach private addresses.
	return &http.Client{Timeout: 3 * time.Second, Transport: guard.Transport()}
}
