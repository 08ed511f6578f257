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
	"github.com/riptide-dev/riptide/internal/cookies"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/internal/tenants"
	"github.com/riptide-dev/riptide/internal/version"
)

// CheckConfig refuses settings the API cannot serve with, before anything
// is dialled.
func CheckConfig(cfg *config.Config) error {
	if len(cfg.API.Keys) == 0 && cfg.TenantsFile == "" {
		return fmt.Errorf("no API keys: set %s_API_KEYS to a comma-separated list of accepted x-api-key values, or %s_TENANTS_FILE",
			config.Prefix, config.Prefix)
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
	store, err := tenants.NewStore(cfg.API.Keys, cfg.TenantsFile, a.Logger)
	if err != nil {
		return nil, err
	}
	// The process's lifetime: the file is watched until it exits.
	go store.Watch(context.Background(), 0)
	gin.SetMode(gin.ReleaseMode)
	var jars *cookies.Store
	if cfg.Sites.CookiesDir != "" {
		// The same directory the workers read (a shared volume): /healthz
		// reports the jars' expiry; the workers also probe the sites.
		var err error
		if jars, err = cookies.Open(cookies.Options{Dir: cfg.Sites.CookiesDir, ExpiringWithin: cfg.Sites.CookiesExpiringWithin,
			Reload: cfg.Sites.CookiesReload, Logger: a.Logger}); err != nil {
			return nil, err
		}
	}
	return a.Metrics.InstrumentHTTP(NewRouter(Deps{
		Temporal: a.Temporal, TaskQueue: cfg.Temporal.TaskQueue, Store: a.Store, Tenants: store,
		MaxBodyBytes: cfg.API.MaxBodyBytes, Logger: a.Logger, Guard: a.Guard,
		// Clients' storage: endpoints come from clients, so through the guard.
		Targets:    &storage.Cache{Tuning: cfg.S3, HTTP: &http.Client{Transport: a.Guard.Transport()}},
		TemporalUI: cfg.Temporal.UIURL, Namespace: cfg.Temporal.Namespace,
		RateLimit: cfg.API.RateLimit, RateBurst: cfg.API.RateBurst,
		Tools:       map[string]string{"yt-dlp": cfg.Media.YtdlpPath, "ffmpeg": cfg.Media.FfmpegPath},
		YtdlpMaxAge: cfg.Media.YtdlpMaxAge, Cookies: jars,
		BatchWindow: cfg.Batch.Window, BatchPageSize: cfg.Batch.PageSize, BatchListWait: cfg.Batch.ListWait,
		BatchReconcileEvery: cfg.Batch.ReconcileEvery, SpotifyConfigured: cfg.Spotify.Configured(),
		FeedProbe:               feedProbe(cfg.Batch.FeedProbe, a.Guard),
		WarmDashboard:           true,
		Codec:                   a.Codec,
		SubscriptionMinInterval: cfg.Subscription.MinInterval,
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
	ln, err := net.Listen("tcp", a.Config.API.Addr)
	if err != nil {
		return err
	}
	srv, ln := newHTTPServer(h, ln, a.Config)
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

// Timeouts of the API server. Requests are small (MaxBodyBytes, 64 KiB by
// default) and so are the responses (JSON of a few KiB); what takes time
// is the handler's Temporal calls (temporalTimeout each), POST /batches
// waiting for a listing (RIPTIDE_BATCH_LIST_WAIT) and POST /jobs/bulk
// starting up to 100 jobs one after another.
const (
	// readHeaderTimeout: a client has this long to send its headers.
	readHeaderTimeout = 5 * time.Second
	// readTimeout covers headers and body: 64 KiB in 30 s is 2 KiB/s, a
	// crawl no real client is slower than, while a slow-body client holds
	// its connection for 30 s at most.
	readTimeout = 30 * time.Second
	// minWriteTimeout bounds the handler's work and the response's
	// writing together, counted from the end of the headers. Two minutes
	// leave a bulk POST of 100 jobs room on a slow Temporal; a client
	// that never reads its response is cut off then.
	minWriteTimeout = 2 * time.Minute
)

// newHTTPServer is the API's http.Server for handler h, with every timeout
// set, and ln wrapped to bound the connections per client address and in
// all (RIPTIDE_API_MAX_CONNS_PER_IP, RIPTIDE_API_MAX_CONNS).
func newHTTPServer(h http.Handler, ln net.Listener, cfg *config.Config) (*http.Server, net.Listener) {
	write := max(minWriteTimeout, cfg.Batch.ListWait+4*temporalTimeout)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      write,
		// A keep-alive connection with no request in flight is closed
		// after IdleTimeout (RIPTIDE_API_IDLE_TIMEOUT).
		IdleTimeout: cfg.API.IdleTimeout,
	}
	return srv, newLimitListener(ln, cfg.API.MaxConnsPerIP, cfg.API.MaxConns)
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
