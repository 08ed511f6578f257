// Package app wires riptide's pieces together. The binaries and the
// integration tests build their workers here, so tests run the exact wiring
// production runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/riptide-dev/riptide/activities"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/metrics"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/webhook"
	"github.com/riptide-dev/riptide/workflows"
)

// WebhookTimeout is the per-attempt delivery limit of the hosted service.
const WebhookTimeout = 30 * time.Second

// SpotifyTimeout bounds one Spotify Web API request.
const SpotifyTimeout = 30 * time.Second

// Store is what the activities need of S3: media uploads and batch
// manifests. *storage.Store satisfies it.
type Store interface {
	activities.Store
	activities.ManifestStore
}

// NewActivities builds the activities' dependencies from the settings. Every
// outbound connection a job makes goes through the network guard: the HTTP
// clients dial with it, and yt-dlp talks through a guarded proxy on
// loopback, which stop closes.
func NewActivities(cfg *config.Config, store Store, stderr io.Writer) (acts *activities.Activities, stop func(), err error) {
	guard, err := cfg.Guard()
	if err != nil {
		return nil, nil, err
	}
	signer, err := webhook.NewSigner(cfg.Webhook.Secrets)
	if err != nil {
		return nil, nil, err
	}
	proxy, err := netguard.StartProxy(guard, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("starting the yt-dlp proxy: %w", err)
	}
	var spotify *activities.SpotifyClient
	if cfg.Spotify.Configured() {
		// Through the guard too: the host is the operator's setting, but
		// one guarded path for every outbound connection is simpler to
		// trust (tests allow the loopback fake explicitly).
		spotify = &activities.SpotifyClient{
			ClientID: cfg.Spotify.ClientID, ClientSecret: cfg.Spotify.ClientSecret,
			APIURL: cfg.Spotify.APIURL, AccountsURL: cfg.Spotify.AccountsURL, Market: cfg.Spotify.Market,
			HTTP: &http.Client{Transport: guard.Transport(), Timeout: SpotifyTimeout},
		}
	}
	return &activities.Activities{
		Store:      store,
		Spotify:    spotify,
		Manifests:  store,
		HTTP:       &http.Client{Transport: guard.Transport()},
		Webhook:    &http.Client{Transport: guard.Transport(), Timeout: WebhookTimeout},
		Signer:     signer,
		WorkDir:    cfg.Worker.WorkDir,
		Ytdlp:      cfg.Media.YtdlpPath,
		YtdlpProxy: proxy.URL(),
		// Fragmented streams are many small requests; a few at once
		// hide each one's latency.
		YtdlpFragments: cfg.Media.YtdlpConcurrentFragments,
		Ffmpeg:         cfg.Media.FfmpegPath,
		Ffprobe:        cfg.Media.FfprobePath,
		Stderr:         stderr,

		MinFreeBytes: cfg.Worker.MinFreeBytes,
	}, func() { _ = proxy.Close() }, nil
}

// NewWorker prepares the work directory and returns a worker with every
// workflow and activity registered. The work directory is emptied: files
// left there belong to sessions that died with the previous process, and
// their jobs have already restarted elsewhere.
//
// It refuses to build a worker when the namespace lacks riptide's search
// attributes (CheckSearchAttributes).
func NewWorker(c client.Client, cfg *config.Config, acts *activities.Activities) (worker.Worker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := CheckSearchAttributes(ctx, c, cfg.Temporal.Namespace); errors.Is(err, ErrCannotCheckSearchAttributes) {
		slog.Warn("Search attributes not checked", "error", err)
	} else if err != nil {
		return nil, err
	}
	if acts.Workflows == nil {
		// Batches describe their episodes' workflows through it.
		acts.Workflows = c
	}
	if err := resetDir(acts.WorkDir); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	w := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{
		EnableSessionWorker:               true,
		MaxConcurrentSessionExecutionSize: cfg.Worker.Concurrency,
		// Lets running activities finish (or heartbeat their progress) on
		// SIGTERM before the worker exits.
		WorkerStopTimeout: 30 * time.Second,
		Interceptors:      []interceptor.WorkerInterceptor{metrics.NewInterceptor()},
	})
	workflows.Register(w, acts)
	return w, nil
}

func resetDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
