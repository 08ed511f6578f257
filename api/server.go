package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/version"
)

// CheckConfig refuses settings the API cannot serve with, before anything
// is dialled.
func CheckConfig(cfg *config.Config) error {
	if len(cfg.API.Keys) == 0 {
		return fmt.Errorf("no API keys: set %s_API_KEYS to a comma-separated list of accepted x-api-key values", config.Prefix)
	}
	return nil
}

// New builds the API of a process from its App: its routes, instrumented
// with the App's metrics.
func New(a *app.App) (http.Handler, error) {
	cfg := a.Config
	if err := CheckConfig(cfg); err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	return a.Metrics.InstrumentHTTP(NewRouter(Deps{
		Temporal: a.Temporal, TaskQueue: cfg.Temporal.TaskQueue, Store: a.Store, Keys: cfg.API.Keys,
		MaxBodyBytes: cfg.API.MaxBodyBytes, Logger: a.Logger, Guard: a.Guard,
		TemporalUI: cfg.Temporal.UIURL, Namespace: cfg.Temporal.Namespace,
		RateLimit: cfg.API.RateLimit, RateBurst: cfg.API.RateBurst,
		Tools:       map[string]string{"yt-dlp": cfg.Media.YtdlpPath, "ffmpeg": cfg.Media.FfmpegPath},
		BatchWindow: cfg.Batch.Window, BatchPageSize: cfg.Batch.PageSize, BatchListWait: cfg.Batch.ListWait,
		BatchReconcileEvery: cfg.Batch.ReconcileEvery, SpotifyConfigured: cfg.Spotify.Configured(),
		FeedProbe: feedProbe(cfg.Batch.FeedProbe, a.Guard),
	})), nil
}

// Serve serves the API of a process on its configured address until ctx is
// done, then lets in-flight requests finish (10 s at most).
func Serve(ctx context.Context, a *app.App) error {
	if addr := a.Config.API.MetricsAddr; addr != "" {
		a.Metrics.RegisterJobsInFlight(a.Temporal, a.Config.Temporal.Namespace)
		if _, err := a.ServeMetrics(addr); err != nil {
			return err
		}
	}
	h, err := New(a)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", a.Config.API.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Logger.Info("API listening", "version", version.String(), "addr", ln.Addr().String(), "task_queue", a.Config.Temporal.TaskQueue)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Logger.Info("Shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
