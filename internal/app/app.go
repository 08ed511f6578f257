// Package app is riptide's composition root: what every riptide process
// shares, built once from the settings. The worker (package worker) and the
// API (package api) each build their side from an App; the binaries, the
// end-to-end tests and the benchmarks all start from New, so the tests run
// the production wiring.
//
// It links neither the activities nor the HTTP handlers, so the API binary
// carries no media code and the worker no HTTP routes.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/metrics"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/internal/version"
)

// App is one process's shared dependencies.
type App struct {
	Config *config.Config
	Logger *slog.Logger
	// Logs is where the logger writes; the worker sends the external
	// programs' diagnostics there too.
	Logs     io.Writer
	Metrics  *metrics.Metrics
	Temporal client.Client
	// Codec encrypts Temporal payloads; nil without RIPTIDE_ENCRYPTION_KEYS.
	Codec *codec.Codec
	Store *storage.Store
	// Guard decides which addresses riptide may connect to.
	Guard   *netguard.Guard
	closers []func()
}

// New dials Temporal and opens the bucket as cfg says, logging to logs.
func New(ctx context.Context, cfg *config.Config, logs io.Writer) (*App, error) {
	a := &App{Config: cfg, Logs: logs, Logger: NewLogger(cfg.Log, logs)}
	var err error
	if a.Guard, err = cfg.Guard(); err != nil {
		return nil, err
	}
	if a.Store, err = storage.New(ctx, cfg.S3); err != nil {
		return nil, err
	}
	if a.Metrics, err = metrics.New(); err != nil {
		return nil, err
	}
	opts, err := ClientOptions(cfg.Temporal, a.Logger, a.Metrics.Handler)
	if err != nil {
		return nil, err
	}
	if a.Codec, err = cfg.Codec(); err != nil {
		return nil, err
	}
	dc := codec.Options(&opts, a.Codec)
	if a.Codec == nil {
		a.Logger.Warn("RIPTIDE_ENCRYPTION_KEYS is not set: job inputs (URLs, webhook URLs), results, memos and failure messages are stored in Temporal in plain text; set a key (README: Encryption of workflow data)")
	} else {
		a.Logger.Info("Encrypting Temporal payloads", "key_ids", a.Codec.KeyIDs())
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	// The wrapper tells code that decodes raw payloads (memos, history
	// events) which converter to use: codec.Of.
	a.Temporal = codec.Wrap(c, dc)
	a.closers = append(a.closers, a.Temporal.Close)
	return a, nil
}

// ServeMetrics serves the process's Prometheus metrics on addr until Close.
// It returns the address it listens on.
func (a *App) ServeMetrics(addr string) (string, error) {
	srv, err := a.Metrics.Listen(addr, a.Config.MetricsToken)
	if err != nil {
		return "", fmt.Errorf("metrics server: %w", err)
	}
	a.closers = append(a.closers, func() { _ = srv.Shutdown(context.Background()) })
	a.Logger.Info("Serving metrics", "addr", "http://"+srv.Addr()+"/metrics")
	return srv.Addr(), nil
}

// Close releases what New and ServeMetrics opened, last first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// Exit is a main's exit code for the error its run returned: 0 for none
// (an interrupt ends a process cleanly), else 1, with the error logged.
func Exit(what string, err error) int {
	if err == nil || errors.Is(err, context.Canceled) {
		return 0
	}
	slog.Error(what+" stopped", "error", err)
	return 1
}

// Main is a riptide binary's main: -version prints the version; otherwise
// it loads the settings, from the environment and then the data
// directory's dev env file (config.LoadDevEnv), exit 2 when they are invalid; refuses those check
// rejects, builds the App and runs run until SIGINT or SIGTERM.
func Main(what string, check func(*config.Config) error, run func(context.Context, *App) error) {
	if len(os.Args) == 2 && os.Args[1] == "-version" {
		fmt.Println(version.String())
		return
	}
	// Beside `make dev`, join its stack: its settings, where the
	// environment sets none.
	devEnv, err := config.LoadDevEnv()
	if err != nil {
		slog.Error("Loading the dev env file failed", "error", err)
		os.Exit(2)
	}
	if devEnv != "" {
		slog.Info("Using the dev stack's settings where the environment sets none", "file", devEnv)
	}
	cfg, err := config.Load()
	if err == nil && check != nil {
		err = check(cfg)
	}
	if err != nil {
		slog.Error("Loading configuration failed", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = func() error {
		a, err := New(ctx, cfg, os.Stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		return run(ctx, a)
	}()
	stop()
	os.Exit(Exit(what, err))
}
