//go:build integration

// Package e2e runs riptide end to end on real components, all on loopback:
// the Temporal dev server (or, with RIPTIDE_TEMPORAL_BACKEND=postgres, the
// Temporal server on PostgreSQL), versitygw (S3), yt-dlp, ffmpeg, the
// worker, the HTTP API and a webhook receiver. The tests skip when the tools are not
// installed, unless RIPTIDE_REQUIRE_INTEGRATION=1 (set by `make test`).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/worker"
)

const testAPIKey = "sk_test_e2e"

// testWebhookSecrets are whsec_ + base64 of two 32-byte test keys.
var testWebhookSecrets = []string{
	"whsec_cmlwdGlkZS1lMmUtd2ViaG9vay1zZWNyZXQtb25lLTA=",
	"whsec_cmlwdGlkZS1lMmUtd2ViaG9vay1zZWNyZXQtdHdvLTA=",
}

// testEncryptionKey encrypts every payload of the e2e stack (two keys, as
// while an operator rotates: the first encrypts), so every test runs
// encrypted, as production should.
var testEncryptionKeys = []string{
	"e2e-2026:cmlwdGlkZS1lMmUtZW5jcnlwdGlvbi1rZXktMDAwMDE=",
	"e2e-2025:cmlwdGlkZS1lMmUtZW5jcnlwdGlvbi1rZXktb2xkMDE=",
}

// stack is the running system shared by the tests of this package.
var stack struct {
	cfg      *config.Config
	temporal client.Client
	store    *storage.Store
	apiURL   string
	media    string // base URL of the sample media server
	mediaDir string
	hooks    *receiver
	hookURL  string
	skipWhy  string
	// metricsURL serves the worker's and the API's Prometheus metrics.
	metricsURL string
	// spotify fakes the Spotify Web API the worker is configured with.
	spotify *fakeSpotify
	// logsPath is the file the worker, the API and the servers log to.
	logsPath string
	// codec encrypts the stack's payloads (testEncryptionKeys).
	codec *codec.Codec
}

func TestMain(m *testing.M) {
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	gin.SetMode(gin.ReleaseMode)
	err1 := checkTemporalTools()
	s3Bin, err2 := devstack.Tool(devstack.VersitygwBinEnv, "versitygw")
	_, err3 := exec.LookPath("yt-dlp")
	_, err4 := exec.LookPath("ffmpeg")
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
				return 0, err
			}
			stack.skipWhy = err.Error()
			return m.Run(), nil
		}
	}
	dir, err := os.MkdirTemp("", "riptide-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	logs, err := os.Create(filepath.Join(dir, "services.log"))
	if err != nil {
		return 0, err
	}

	// The dev server, or the production server on PostgreSQL (backend_test.go).
	tp, err := startTemporal(ctx, dir, logs)
	defer stopPostgres()
	if err != nil {
		return 0, err
	}
	defer tp.Stop()
	s3Port, err := devstack.FreePort()
	if err != nil {
		return 0, err
	}
	s3Addr := fmt.Sprintf("127.0.0.1:%d", s3Port)
	sp, err := devstack.StartS3(ctx, devstack.S3Options{
		Bin: s3Bin, Dir: filepath.Join(dir, "s3"), Addr: s3Addr, AccessKey: "e2e", SecretKey: "e2e-secret", Log: logs,
	})
	if err != nil {
		return 0, err
	}
	defer sp.Stop(10 * time.Second)

	cfg := &config.Config{
		Temporal: config.Temporal{Address: tp.Addr(), Namespace: "default", TaskQueue: "riptide-e2e"},
		S3: config.S3{Endpoint: "http://" + s3Addr, Region: "us-east-1", Bucket: "e2e", AccessKeyID: "e2e",
			SecretAccessKey: "e2e-secret", PathStyle: true, PresignTTL: time.Hour, PartSize: 5 << 20, Concurrency: 2},
		API: config.API{Keys: []string{testAPIKey}, MaxBodyBytes: 64 << 10},
		// One worker serves every test at once: room for their listings and
		// webhooks side by side (production defaults are per worker).
		Worker: config.Worker{Concurrency: 8, WorkDir: filepath.Join(dir, "work"), MaxListings: 8, WebhookConcurrency: 50},
		Media:  config.Media{YtdlpPath: "yt-dlp", FfmpegPath: "ffmpeg", FfprobePath: "ffprobe"},
		// Media and receivers run on loopback, which production refuses.
		AllowPrivateNetworks: []string{"127.0.0.0/8", "::1"},
		// Two secrets, as while a receiver rotates: both sign every delivery.
		Webhook:        config.Webhook{Secrets: testWebhookSecrets},
		EncryptionKeys: testEncryptionKeys,
	}
	stack.spotify = &fakeSpotify{}
	spotifySrv := serve(stack.spotify)
	defer spotifySrv.Close()
	stack.spotify.base = spotifySrv.URL
	cfg.Spotify = config.Spotify{ClientID: "e2e-client", ClientSecret: "e2e-secret", Market: "US",
		APIURL: spotifySrv.URL, AccountsURL: spotifySrv.URL}
	stack.cfg = cfg
	stack.logsPath = logs.Name()
	// The production wiring: one App serves the in-process worker and the
	// API, as one process running both would (one metrics registry).
	a, err := app.New(ctx, cfg, logs)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	stack.temporal, stack.store, stack.codec = a.Temporal, a.Store, a.Codec
	if err := stack.store.EnsureBucket(ctx); err != nil {
		return 0, err
	}
	a.Metrics.RegisterJobsInFlight(stack.temporal, cfg.Temporal.Namespace)
	maddr, err := a.ServeMetrics("127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	stack.metricsURL = "http://" + maddr + "/metrics"
	w, err := worker.New(a)
	if err != nil {
		return 0, err
	}
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()

	media := filepath.Join(dir, "media")
	if err := devstack.GenerateSamples(ctx, "ffmpeg", media, 3); err != nil {
		return 0, err
	}
	stack.mediaDir = media
	mediaSrv := serve(http.FileServer(http.Dir(media)))
	defer mediaSrv.Close()
	stack.media = mediaSrv.URL
	stack.hooks = &receiver{}
	hookSrv := serve(stack.hooks)
	defer hookSrv.Close()
	stack.hookURL = hookSrv.URL + "/hook"
	apiHandler, err := api.New(a)
	if err != nil {
		return 0, err
	}
	apiSrv := serve(apiHandler)
	defer apiSrv.Close()
	stack.apiURL = apiSrv.URL

	code := m.Run()
	if code != 0 {
		// Show what the services said when something failed.
		_ = logs.Sync()
		if b, err := os.ReadFile(logs.Name()); err == nil {
			tail := b[max(0, len(b)-20000):]
			fmt.Fprintf(os.Stderr, "--- last service logs ---\n%s\n", tail)
		}
	}
	return code, nil
}

// serve starts an HTTP server on IPv4 loopback.
func serve(h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s.Listener = l
	s.Start()
	return s
}

func requireStack(t *testing.T) {
	t.Helper()
	if stack.skipWhy != "" {
		t.Skip("integration tools missing: " + stack.skipWhy)
	}
}

// delivery is one webhook request as the receiver saw it.
type delivery struct {
	EventID     string
	ContentType string
	Body        map[string]any
	Raw         []byte
}

// receiver is the client's webhook endpoint: it records every delivery.
type receiver struct {
	mu  sync.Mutex
	got []delivery
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || req.Method != http.MethodPost {
		http.Error(w, "bad webhook", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, delivery{EventID: req.Header.Get("webhook-id"), ContentType: req.Header.Get("Content-Type"), Body: body, Raw: raw})
	w.WriteHeader(http.StatusOK)
}

// forJob returns the deliveries of one job, in arrival order.
func (r *receiver) forJob(jobID string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.Body["job_id"] == jobID {
			out = append(out, d)
		}
	}
	return out
}

// waitTerminal waits for the job's job_completed, job_failed or
// job_skipped webhook.
func (r *receiver) waitTerminal(t *testing.T, jobID string, within time.Duration) delivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, d := range r.forJob(jobID) {
			switch d.Body["type"] {
			case "job_completed", "job_failed", "job_skipped":
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no terminal webhook for job %s within %s; got %v", jobID, within, r.forJob(jobID))
	return delivery{}
}

// serveClipFeed serves an RSS feed at /feed.xml of n episodes titled
// "<show> Episode <i>", each the same clip at /ep/<i>.mp4, answered after
// delay.
func serveClipFeed(clip []byte, show string, n int, delay time.Duration) *httptest.Server {
	return serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			w.Header().Set("Content-Type", "application/rss+xml")
			var b strings.Builder
			fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0"><channel><title>%s Show</title>`, show)
			for i := range n {
				fmt.Fprintf(&b, `<item><title>%s Episode %d</title><description>Episode %d</description>`+
					`<pubDate>Mon, 19 Jan 2026 06:%02d:00 GMT</pubDate><enclosure url="/ep/%d.mp4" type="video/mp4" length="%d"/></item>`,
					show, i, i, i%60, i, len(clip))
			}
			b.WriteString(`</channel></rss>`)
			_, _ = w.Write([]byte(b.String()))
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/ep/") {
			http.NotFound(w, r)
			return
		}
		time.Sleep(delay)
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(clip))
	}))
}
