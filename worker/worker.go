// Package worker is riptide's Temporal worker: the workflows, the
// activities with their dependencies, and the task queues it polls. The
// riptide-worker binary (worker/cmd), the end-to-end tests and the
// benchmarks build it from an app.App, so the tests run the production
// wiring.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/riptide-dev/riptide/activities"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/metrics"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/internal/version"
	"github.com/riptide-dev/riptide/internal/webhook"
	"github.com/riptide-dev/riptide/internal/ytdlp"
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
func NewActivities(cfg *config.Config, guard *netguard.Guard, store Store, stderr io.Writer) (acts *activities.Activities, stop func(), err error) {
	signer, err := webhook.NewSigner(cfg.Webhook.Secrets)
	if err != nil {
		return nil, nil, err
	}
	// The proxy logs what it refuses, with the addresses the jobs' errors
	// leave out.
	proxy, err := netguard.StartProxy(guard, slog.Default())
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
	fragments, err := cfg.Media.Fragments()
	if err != nil {
		_ = proxy.Close()
		return nil, nil, err
	}
	native, err := cfg.Media.NativeDownloads()
	if err != nil {
		_ = proxy.Close()
		return nil, nil, err
	}
	hooks := &http.Client{Transport: guard.Transport(), Timeout: WebhookTimeout}
	sites, stopSites, err := newSites(cfg, guard, proxy, signer, hooks)
	if err != nil {
		_ = proxy.Close()
		return nil, nil, err
	}
	// Clients' own buckets: their endpoints (and GCS token URLs) come
	// from clients, so they dial through the guard like any source.
	targets := &storage.Cache{Tuning: cfg.S3, HTTP: &http.Client{Transport: guard.Transport()}}
	return &activities.Activities{
		Sites: sites,
		Store: store,
		Targets: func(ctx context.Context, t workflows.StorageTarget) (activities.Store, error) {
			return targets.Open(ctx, t)
		},
		Spotify:    spotify,
		Manifests:  store,
		HTTP:       &http.Client{Transport: guard.Transport()},
		Webhook:    hooks,
		Signer:     signer,
		WorkDir:    cfg.Worker.WorkDir,
		Ytdlp:      cfg.Media.YtdlpPath,
		YtdlpProxy: proxy.URL(),
		// Fragmented streams are many small requests; a few at once
		// hide each one's latency.
		YtdlpFragments: cfg.Media.YtdlpConcurrentFragments,
		Fragments:      fragments,
		NativeDownload: native,
		Ffmpeg:         cfg.Media.FfmpegPath,
		Ffprobe:        cfg.Media.FfprobePath,
		Stderr:         stderr,

		MinFreeBytes: cfg.Worker.MinFreeBytes,
		MaxJobBytes:  cfg.Worker.MaxJobBytes,
		Listings:     activities.NewListings(cfg.Worker.MaxListings),
		MaxFeedBytes: cfg.Worker.MaxFeedBytes,

		LiveMaxDuration: cfg.Worker.LiveMaxDuration,
		LiveMaxWait:     cfg.Worker.LiveMaxWait,
	}, func() { stopSites(); _ = proxy.Close() }, nil
}

// New builds the worker of a process from its App: the activities' HTTP
// clients and yt-dlp proxy go through the App's guard, their files to the
// App's bucket, the external programs' diagnostics to its logs.
func New(a *app.App) (*Worker, error) {
	// Refuse to start with a yt-dlp riptide cannot make safe, or without
	// the sandbox RIPTIDE_SANDBOX requires; report its age.
	mode, err := childproc.ParseMode(a.Config.Media.Sandbox)
	if err != nil {
		return nil, err
	}
	if err := ytdlp.StartupCheck(context.Background(), a.Config.Media.YtdlpPath, mode, a.Config.Media.YtdlpMaxAge, a.Logger); err != nil {
		return nil, fmt.Errorf("worker start-up: %w", err)
	}
	acts, stopActs, err := NewActivities(a.Config, a.Guard, a.Store, app.RedactingWriter(a.Logs))
	if err != nil {
		return nil, err
	}
	w, err := NewWorker(a.Temporal, a.Config, acts)
	if err != nil {
		stopActs()
		return nil, err
	}
	if a.Metrics != nil {
		registerSiteMetrics(a.Metrics.Registry, &acts.Sites)
	}
	w.stopActs = stopActs
	return w, nil
}

// Run runs the worker of a process until ctx is done or a poller fails for
// good, serving metrics when the settings name an address.
func Run(ctx context.Context, a *app.App) error {
	if addr := a.Config.Worker.MetricsAddr; addr != "" {
		if _, err := a.ServeMetrics(addr); err != nil {
			return err
		}
	}
	w, err := New(a)
	if err != nil {
		return err
	}
	a.Logger.Info("Worker starting", "version", version.String(), "task_queue", a.Config.Temporal.TaskQueue,
		"concurrency", a.Config.Worker.Concurrency, "work_dir", a.Config.Worker.WorkDir,
		"temporal", a.Config.Temporal.Address, "s3_endpoint", a.Config.S3.Endpoint, "bucket", a.Config.S3.Bucket)
	return w.Run(ctx.Done())
}

// Worker is one worker process's pollers, sharing one set of activities:
// the workflows' queue (workflows, and downloads, as many at once as the
// worker has room for), the control queue (batch listings), the webhook
// queue (deliveries, in slots of their own) and the worker's own queue (the mux, upload and clean-up of the jobs whose
// files it holds; activities/holds.go).
type Worker struct {
	workers []sdkworker.Worker
	acts    *activities.Activities
	stop    chan struct{}
	swept   chan struct{}
	fatal   chan error
	// stopActs closes the activities' yt-dlp proxy (New).
	stopActs func()
	// unlock releases the work directory (lockWorkDir).
	unlock func()
	// kept are the job directories the previous process left that
	// resetDir kept for a retry to resume; sweep removes those no
	// activity takes.
	kept []string
}

// Sweeping of abandoned job files (activities.SweepWorkDir).
const (
	sweepEvery = 30 * time.Second
	// holdAge: a live job's next activity arrives within seconds.
	holdAge = 2 * time.Minute
	// dirAge: partial downloads kept for a retry that may land here.
	dirAge = time.Hour
	// keepAge: a restarted worker keeps what the previous process wrote
	// this recently, as long as a download's retry takes to arrive (its
	// heartbeat timeout and backoff: about a minute) with room to spare.
	keepAge = 10 * time.Minute
)

// NewWorker prepares the work directory and returns a worker with every
// workflow and activity registered. It takes the work directory's lock
// (lockWorkDir), refusing a directory another worker owns, and holds it
// until Stop. The work directory is then emptied of what is older than
// keepAge: files left there belong to jobs whose chains died with the
// previous process and have already restarted elsewhere (the new process
// has a new queue of its own, so nothing is sent here for them). What is
// newer may be a download in progress when the process died: its retry
// (on the shared queue, with the heartbeated position) can land here and
// resume it; what no retry takes within keepAge goes then (sweep).
//
// It refuses to build a worker when the namespace lacks riptide's search
// attributes (CheckSearchAttributes).
func NewWorker(c client.Client, cfg *config.Config, acts *activities.Activities) (*Worker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.CheckSearchAttributes(ctx, c, cfg.Temporal.Namespace); errors.Is(err, app.ErrCannotCheckSearchAttributes) {
		slog.Warn("Search attributes not checked", "error", err)
	} else if err != nil {
		return nil, err
	}
	if acts.Workflows == nil {
		// Batches describe their episodes' workflows through it.
		acts.Workflows = c
	}
	// The lock first: emptying a directory another worker uses would
	// delete its jobs' files.
	unlock, err := lockWorkDir(acts.WorkDir)
	if err != nil {
		return nil, err
	}
	kept, err := resetDir(acts.WorkDir, time.Now(), keepAge)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("work dir: %w", err)
	}
	if len(kept) > 0 {
		slog.Info("Kept recent partial downloads for their retries", "jobs", len(kept))
	}
	acts.HostQueue = workflows.NewHostQueue(cfg.Temporal.TaskQueue)
	acts.Holds = activities.NewHolds(cfg.Worker.Concurrency)
	w := &Worker{acts: acts, stop: make(chan struct{}), swept: make(chan struct{}), fatal: make(chan error, 1), unlock: unlock, kept: kept}
	base := sdkworker.Options{
		OnFatalError: func(err error) {
			select {
			case w.fatal <- err:
			default:
			}
		},
		// Lets running activities finish (or heartbeat their progress) on
		// SIGTERM before the worker exits.
		WorkerStopTimeout: 30 * time.Second,
		Interceptors:      []interceptor.WorkerInterceptor{metrics.NewInterceptor()},
	}
	main := base
	// The only activities on the workflows' queue are downloads, so a
	// worker with no room takes no download, and the SDK hands a job's
	// download to the worker that started it (eager execution).
	main.MaxConcurrentActivityExecutionSize = cfg.Worker.Concurrency
	other := base
	other.DisableWorkflowWorker = true

	mw := sdkworker.New(codec.Unwrap(c), cfg.Temporal.TaskQueue, main)
	workflows.Register(mw)
	mw.RegisterActivity(acts)
	w.workers = append(w.workers, mw)
	// Batch listings; webhook deliveries, in slots of their own so that
	// receivers slow to answer (up to WebhookTimeout each) never hold the
	// slots a listing needs; and the worker's own queue: the mux, upload
	// and clean-up of the jobs whose files it holds.
	hooks := other
	hooks.MaxConcurrentActivityExecutionSize = cfg.Worker.WebhookConcurrency
	for _, q := range []struct {
		name string
		opts sdkworker.Options
	}{
		{workflows.ControlQueue(cfg.Temporal.TaskQueue), other},
		{workflows.WebhookQueue(cfg.Temporal.TaskQueue), hooks},
		{acts.HostQueue, other},
	} {
		qw := sdkworker.New(codec.Unwrap(c), q.name, q.opts)
		// Every activity on every queue: tasks of a type land only on
		// the queue the workflow sends them to.
		qw.RegisterActivity(acts)
		w.workers = append(w.workers, qw)
	}
	return w, nil
}

// Start starts polling every queue and sweeping the work directory.
func (w *Worker) Start() error {
	for i, qw := range w.workers {
		if err := qw.Start(); err != nil {
			for _, started := range w.workers[:i] {
				started.Stop()
			}
			return err
		}
	}
	go w.sweep()
	return nil
}

// Stop stops polling and waits (WorkerStopTimeout) for running activities.
func (w *Worker) Stop() {
	close(w.stop)
	var wg sync.WaitGroup
	for _, qw := range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qw.Stop()
		}()
	}
	wg.Wait()
	<-w.swept
	activities.WaitDiscards(w.acts)
	if w.stopActs != nil {
		w.stopActs()
	}
	w.unlock()
}

// Run starts the worker and stops it when interruptCh delivers or a poller
// fails for good (the namespace is gone, say).
func (w *Worker) Run(interruptCh <-chan struct{}) error {
	if err := w.Start(); err != nil {
		return err
	}
	var err error
	select {
	case <-interruptCh:
	case err = <-w.fatal:
	}
	w.Stop()
	return err
}

func (w *Worker) sweep() {
	defer close(w.swept)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			if n, err := w.acts.SweepWorkDir(now, holdAge, dirAge); err != nil {
				slog.Warn("Sweeping the work directory failed", "error", err)
			} else if n > 0 {
				slog.Info("Removed abandoned job files", "jobs", n)
			}
			if len(w.kept) > 0 {
				left, err := w.acts.RemoveUnusedDirs(w.kept, now, keepAge)
				if err != nil {
					slog.Warn("Sweeping the work directory failed", "error", err)
				}
				w.kept = left
			}
		}
	}
}

func resetDir(dir string, now time.Time, keep time.Duration) (kept []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name() == LockFile {
			continue
		}
		p := filepath.Join(dir, e.Name())
		// A job directory an upload was deleting when the worker died is
		// removed whatever its age.
		trash := strings.HasPrefix(e.Name(), activities.TrashPrefix)
		if newest, ok := activities.NewestModTime(p); ok && e.IsDir() && !trash && now.Sub(newest) < keep {
			kept = append(kept, e.Name())
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return nil, err
		}
	}
	return kept, nil
}
