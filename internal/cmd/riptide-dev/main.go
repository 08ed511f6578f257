// Command riptide-dev runs the whole of riptide on one machine for
// development and evaluation: the Temporal dev server (SQLite, so state
// survives restarts), a local S3 server with a bucket, the worker and the
// API, plus a sample-media server with a webhook echo receiver.
//
// A child that dies is started again (devstack.Supervisor); only Ctrl-C or
// SIGTERM stops them. `up` writes the settings it gives its children to
// $RIPTIDE_DATA_DIR/dev.env, which the binaries and the other commands
// read (config.LoadDevEnv).
//
//	riptide-dev up        everything (what `make dev` runs)
//	riptide-dev temporal  only the Temporal dev server
//	riptide-dev s3        only the S3 server
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/internal/webhook"
)

// Dev defaults, applied only where the environment sets nothing.
var devDefaults = map[string]string{
	"RIPTIDE_S3_ENDPOINT":          "http://127.0.0.1:9000",
	"RIPTIDE_S3_ACCESS_KEY_ID":     "riptide",
	"RIPTIDE_S3_SECRET_ACCESS_KEY": "riptide-dev-secret",
	"RIPTIDE_S3_PATH_STYLE":        "true",
	"RIPTIDE_LOG_FORMAT":           "text",
	// The sample media and the webhook receiver run on loopback.
	"RIPTIDE_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8,::1",
}

const samplesAddrEn = "RIPTIDE_DEV_SAMPLES_ADDR"

func main() {
	cmd := "up"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cmd); err != nil {
		fmt.Fprintln(os.Stderr, "riptide-dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string) error {
	if cmd == "temporal" || cmd == "s3" {
		// A piece run on its own joins the stack `riptide-dev up` last
		// described; `up` itself is the source of those settings.
		if _, err := config.LoadDevEnv(); err != nil {
			return err
		}
	}
	for k, v := range devDefaults {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return err
	}
	os.Setenv("RIPTIDE_DATA_DIR", cfg.DataDir)
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "logs"), 0o755); err != nil {
		return err
	}
	// The UI's codec endpoint: `up`'s key-adding proxy (serveSamples).
	uiCodec := ""
	temporal := devstack.Service{Name: "temporal", Start: func(ctx context.Context) (*devstack.Proc, error) { return startTemporal(ctx, cfg, uiCodec) }}
	s3 := devstack.Service{Name: "s3", Start: func(ctx context.Context) (*devstack.Proc, error) { return startS3(ctx, cfg) }}
	var services []devstack.Service
	var ready func()
	switch cmd {
	case "temporal":
		services = []devstack.Service{temporal}
		ready = func() {
			ui := cfg.Temporal.UIURL
			if ui == "" {
				ui = "off (RIPTIDE_TEMPORAL_UI_URL is empty)"
			}
			fmt.Printf("Temporal on %s, UI %s\n", cfg.Temporal.Address, ui)
		}
	case "s3":
		services = []devstack.Service{s3}
		ready = func() { fmt.Printf("S3 on %s, bucket %s\n", cfg.S3.Endpoint, cfg.S3.Bucket) }
	case "up":
		children, banner, codecURL, err := prepareUp(ctx, cfg)
		if err != nil {
			return err
		}
		uiCodec = codecURL
		services = append([]devstack.Service{temporal, s3}, children...)
		ready = banner
	default:
		return fmt.Errorf("unknown command %q (want up, temporal or s3)", cmd)
	}
	// Until Ctrl-C or SIGTERM: a child that dies is started again, the
	// others keep running.
	sup := devstack.NewSupervisor(os.Stdout)
	if err := sup.Run(ctx, services, ready); err != nil {
		return fmt.Errorf("%w (logs in %s)", err, filepath.Join(cfg.DataDir, "logs"))
	}
	return nil
}

// prepareUp readies what the worker and the API need (credentials, sample
// media and their server, the dev env file) and returns their services
// and the banner printed once everything runs.
func prepareUp(ctx context.Context, cfg *config.Config) ([]devstack.Service, func(), string, error) {
	key, err := apiKey(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	secret, err := webhookSecret(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	if _, err := encryptionKey(cfg); err != nil {
		return nil, nil, "", err
	}
	samplesAddr := os.Getenv(samplesAddrEn)
	if samplesAddr == "" {
		samplesAddr = "127.0.0.1:8090"
	}
	samplesDir := filepath.Join(cfg.DataDir, "samples")
	if err := devstack.GenerateSamples(ctx, cfg.Media.FfmpegPath, samplesDir, 5); err != nil {
		return nil, nil, "", fmt.Errorf("generating sample media: %w", err)
	}
	if err := serveSamples(ctx, samplesAddr, samplesDir, cfg.API.Addr, key); err != nil {
		return nil, nil, "", err
	}
	envFile := filepath.Join(cfg.DataDir, config.DevEnvFile)
	if err := writeDevEnv(cfg, envFile); err != nil {
		return nil, nil, "", err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, "", err
	}
	var services []devstack.Service
	for _, name := range []string{"riptide-worker", "riptide-api"} {
		bin := filepath.Join(filepath.Dir(self), name)
		services = append(services, devstack.Service{Name: strings.TrimPrefix(name, "riptide-"),
			Start: func(context.Context) (*devstack.Proc, error) { return startChild(name, bin) }})
	}
	banner := func() {
		fmt.Printf(`
riptide is running.
  API           http://%s    (x-api-key: %s)
  Dashboard     http://%s/ui/  (sign in with that key)
  Temporal UI   %s  (payloads decrypted through http://%s/codec)
  Temporal      %s  namespace %s
  S3            %s  bucket %s  (access key %s)
  Samples       http://%s/   webhook echo: http://%s/hook
  Webhooks      signed with %s (Standard Webhooks)
  Data          %s  (logs in %s)
  Settings      %s (make worker, make api and make temporal read it)

Try it:
  curl -s -X POST http://%s/jobs -H "x-api-key: %s" -H 'Content-Type: application/json' \
    -d '{"url":"http://%s/%s","webhook_url":"http://%s/hook","enable_progress_webhook":true,"folder":"samples"}'
  curl -s http://%s/jobs/<job_id> -H "x-api-key: %s"

A component that dies is restarted; Ctrl-C stops everything.
`, cfg.API.Addr, key, cfg.API.Addr, cfg.Temporal.UIURL, samplesAddr, cfg.Temporal.Address, cfg.Temporal.Namespace, cfg.S3.Endpoint, cfg.S3.Bucket,
			cfg.S3.AccessKeyID, samplesAddr, samplesAddr, secret, cfg.DataDir, filepath.Join(cfg.DataDir, "logs"), envFile,
			cfg.API.Addr, key, samplesAddr, devstack.SampleDASH, samplesAddr, cfg.API.Addr, key)
	}
	return services, banner, "http://" + samplesAddr + "/codec", nil
}

// writeDevEnv writes the settings the children get, every RIPTIDE_*
// variable of this process, to the dev env file, with the effective
// values of those a worker must share to serve the stack's jobs
// (config.ServingSettings, which config.CheckDevStack compares).
func writeDevEnv(cfg *config.Config, path string) error {
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, config.Prefix+"_") {
			vars[name] = value
		}
	}
	for _, kv := range config.ServingSettings(cfg) {
		vars[kv[0]] = kv[1]
	}
	var list [][2]string
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		list = append(list, [2]string{name, vars[name]})
	}
	return config.WriteEnvFile(path, list)
}

func startTemporal(ctx context.Context, cfg *config.Config, uiCodec string) (*devstack.Proc, error) {
	bin, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
	if err != nil {
		return nil, err
	}
	_, portStr, err := net.SplitHostPort(cfg.Temporal.Address)
	if err != nil {
		return nil, fmt.Errorf("RIPTIDE_TEMPORAL_ADDRESS: %w", err)
	}
	port, _ := strconv.Atoi(portStr)
	logf, err := logFile(cfg, "temporal")
	if err != nil {
		return nil, err
	}
	// The UI listens where RIPTIDE_TEMPORAL_UI_URL (the API's job links)
	// says; empty runs the server headless.
	uiPort := 0
	if u, err := url.Parse(cfg.Temporal.UIURL); err == nil && cfg.Temporal.UIURL != "" {
		if uiPort, err = strconv.Atoi(u.Port()); err != nil {
			return nil, fmt.Errorf("RIPTIDE_TEMPORAL_UI_URL %q names no port", cfg.Temporal.UIURL)
		}
	}
	return devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: bin, DBFile: filepath.Join(cfg.DataDir, "temporal.db"), Port: port, UIPort: uiPort,
		Namespace: cfg.Temporal.Namespace, Log: logf, UICodecEndpoint: uiCodec,
	})
}

func startS3(ctx context.Context, cfg *config.Config) (*devstack.Proc, error) {
	bin, err := devstack.Tool(devstack.VersitygwBinEnv, "versitygw")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.S3.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("RIPTIDE_S3_ENDPOINT %q is not a URL", cfg.S3.Endpoint)
	}
	logf, err := logFile(cfg, "s3")
	if err != nil {
		return nil, err
	}
	p, err := devstack.StartS3(ctx, devstack.S3Options{
		Bin: bin, Dir: filepath.Join(cfg.DataDir, "s3"), Addr: u.Host,
		AccessKey: cfg.S3.AccessKeyID, SecretKey: cfg.S3.SecretAccessKey, Log: logf,
	})
	if err != nil {
		return nil, err
	}
	store, err := storage.New(ctx, cfg.S3)
	if err == nil {
		err = store.EnsureBucket(ctx)
	}
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}

func startChild(name, bin string) (*devstack.Proc, error) {
	if _, err := exec.LookPath(bin); err != nil {
		return nil, fmt.Errorf("%s not built (run `make build`): %w", name, err)
	}
	return devstack.StartProcess(name, bin, nil, &prefixWriter{prefix: "[" + strings.TrimPrefix(name, "riptide-") + "] ", w: os.Stdout})
}

// apiKey returns the dev API key: RIPTIDE_API_KEYS if set, else a key
// generated once and kept in the data directory.
func apiKey(cfg *config.Config) (string, error) {
	if len(cfg.API.Keys) > 0 {
		return cfg.API.Keys[0], nil
	}
	return persisted(cfg, "api-key", "RIPTIDE_API_KEYS", func(b []byte) string { return "sk_dev_" + hex.EncodeToString(b) })
}

// webhookSecret returns the dev webhook signing secret, so deliveries are
// signed as in production: RIPTIDE_WEBHOOK_SECRETS if set, else a secret
// generated once and kept in the data directory.
func webhookSecret(cfg *config.Config) (string, error) {
	if len(cfg.Webhook.Secrets) > 0 {
		return cfg.Webhook.Secrets[0], nil
	}
	return persisted(cfg, "webhook-secret", "RIPTIDE_WEBHOOK_SECRETS", func(b []byte) string {
		return webhook.SecretPrefix + base64.StdEncoding.EncodeToString(b)
	})
}

// encryptionKey returns the dev payload encryption keys, so the dev stack
// stores its payloads encrypted as production should: RIPTIDE_ENCRYPTION_KEYS
// if set, else a key generated once and kept in the data directory.
func encryptionKey(cfg *config.Config) (string, error) {
	if len(cfg.EncryptionKeys) > 0 {
		return strings.Join(cfg.EncryptionKeys, ","), nil
	}
	return persisted(cfg, "encryption-key", "RIPTIDE_ENCRYPTION_KEYS", func([]byte) string { return codec.NewKeyEntry("dev1") })
}

// persisted reads a generated credential from the data directory, creating
// it on first use, and exports it to the child processes through env.
func persisted(cfg *config.Config, file, env string, format func(random []byte) string) (string, error) {
	path := filepath.Join(cfg.DataDir, file)
	value := ""
	if b, err := os.ReadFile(path); err == nil {
		value = strings.TrimSpace(string(b))
	}
	if value == "" {
		buf := make([]byte, 24)
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		value = format(buf)
		if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	os.Setenv(env, value)
	return value, nil
}

// serveSamples serves the sample media and a webhook receiver that prints
// every delivery, so a newcomer sees webhooks arrive.
//
// It also serves the Temporal UI's codec endpoint: the browser UI cannot
// send an x-api-key, so /codec/* is passed to the API's with the dev key
// added. Dev only, on loopback, like the UI itself (which shows every
// workflow to whoever reaches it).
func serveSamples(ctx context.Context, addr, dir, apiAddr, apiKey string) error {
	mux := http.NewServeMux()
	api := &url.URL{Scheme: "http", Host: apiAddr}
	mux.Handle("/codec/", &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(api)
		r.Out.Header.Set("x-api-key", apiKey)
	}})
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	mux.HandleFunc("GET /"+devstack.SampleFeed, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = io.WriteString(w, devstack.SampleFeedXML("http://"+r.Host, devstack.SampleFeedEpisodes))
	})
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		slog.Info("webhook received", "webhook_id", r.Header.Get("webhook-id"),
			"signed", r.Header.Get("webhook-signature") != "", "body", string(body))
		w.WriteHeader(http.StatusNoContent)
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sample server: %w", err)
	}
	// Samples are media files read at the reader's pace: no WriteTimeout
	// (nor ReadTimeout, which would cancel a long response), but idle
	// keep-alive connections are closed.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return nil
}

func logFile(cfg *config.Config, name string) (io.Writer, error) {
	return os.OpenFile(filepath.Join(cfg.DataDir, "logs", name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}

// prefixWriter prefixes each line of a child's output with its name.
type prefixWriter struct {
	prefix string
	w      io.Writer
	mu     sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
}
