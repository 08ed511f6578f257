// Package config loads riptide's settings from RIPTIDE_* environment
// variables. Every binary (worker, api, starter, dev) reads the same struct so
// one set of variables configures a whole deployment.
package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/internal/webhook"
)

// Prefix is the environment prefix of every setting.
const Prefix = "RIPTIDE"

// Config is the root of all settings. Field docs are mirrored in README.md.
type Config struct {
	Temporal Temporal
	S3       S3
	API      API
	Worker   Worker
	// Media is embedded so its settings keep the short names operators
	// know (RIPTIDE_YTDLP_PATH, not RIPTIDE_MEDIA_YTDLP_PATH).
	Media
	// Sites: cookies, upstream proxies, rate control (sites.go).
	Sites
	Batch Batch
	// Subscription tunes subscriptions (issue #16).
	Subscription Subscription
	Spotify      Spotify
	Log          Log
	Webhook      Webhook
	// DataDir holds everything riptide writes locally: the dev Temporal
	// database, the dev S3 store and the worker's temporary files.
	DataDir string `split_words:"true" default:"./.riptide"`
	// AllowPrivateNetworks lists CIDRs (or single addresses) that URLs and
	// webhooks may reach although they are not public: loopback, private,
	// link-local. Empty in production; make dev and the tests allow
	// loopback, where their media and receivers run.
	AllowPrivateNetworks []string `split_words:"true"`
	// MetricsToken, when set, is required of every /metrics scrape (worker
	// and API) as "Authorization: Bearer <token>". The metrics listeners
	// default to loopback; set it wherever they listen beyond (the
	// container image binds them to 0.0.0.0).
	MetricsToken string `envconfig:"METRICS_TOKEN"`
	// TenantsFile is a JSON file of tenants, their API keys (SHA-256
	// digests) and limits (README: Tenants and keys), read again when it
	// changes and on SIGHUP; empty: every key of API.Keys belongs to the
	// default tenant.
	TenantsFile string `split_words:"true"`
	// EncryptionKeys encrypt every payload riptide stores in Temporal
	// (inputs, results, memos, failures): <id>:<base64 of 32 bytes>,
	// comma separated; the first encrypts, all decrypt (internal/codec).
	EncryptionKeys []string `split_words:"true"`
}

// Codec returns the payload codec of EncryptionKeys, nil when none is set
// (payloads stored in plain text, as before encryption existed).
func (c *Config) Codec() (*codec.Codec, error) {
	keys, err := codec.ParseKeys(c.EncryptionKeys)
	if err != nil {
		return nil, fmt.Errorf("config: %s_ENCRYPTION_KEYS: %v", Prefix, err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return codec.New(keys)
}

// Temporal says where the Temporal frontend is.
type Temporal struct {
	Address   string `default:"127.0.0.1:7233"`
	Namespace string `default:"default"`
	TaskQueue string `split_words:"true" default:"riptide"`
	// UIURL is the Temporal Web UI that GET /jobs/{id} links to; empty
	// leaves the link out.
	UIURL string `envconfig:"UI_URL" default:"http://127.0.0.1:8233"`
	// TLS turns on TLS with the system's roots; setting any TLS file or an
	// API key turns it on too.
	TLS bool `envconfig:"TLS"`
	// TLSCert and TLSKey are PEM files of an mTLS client certificate.
	TLSCert string `envconfig:"TLS_CERT"`
	TLSKey  string `envconfig:"TLS_KEY"`
	// TLSCA is a PEM file of the CA that signed the server's certificate,
	// when not a public one.
	TLSCA string `envconfig:"TLS_CA"`
	// TLSServerName overrides the name checked in the server's certificate.
	TLSServerName string `envconfig:"TLS_SERVER_NAME"`
	// APIKey authenticates with an API key (Temporal Cloud).
	APIKey string `envconfig:"API_KEY"`
}

// S3 describes the bucket that receives the media. The settings are
// storage's own type, so storage builds from them without knowing this
// package and every caller keeps passing cfg.S3.
type S3 = storage.Settings

// API configures the HTTP server.
type API struct {
	Addr string `default:"127.0.0.1:8080"`
	// Keys are the accepted x-api-key values, comma separated.
	Keys []string
	// MaxBodyBytes caps a request body; larger bodies get 413.
	MaxBodyBytes int64 `split_words:"true" default:"65536"`
	// MetricsAddr serves Prometheus /metrics apart from the API's routes
	// (no API key); empty disables it.
	MetricsAddr string `split_words:"true" default:"127.0.0.1:9465"`
	// RateLimit is the average requests per second per API key (429 with
	// Retry-After above it), RateBurst the requests allowed at once; 0
	// disables the limit.
	RateLimit float64 `split_words:"true" default:"20"`
	RateBurst int     `split_words:"true" default:"40"`
	// IdleTimeout closes a keep-alive connection that has had no request
	// for this long.
	IdleTimeout time.Duration `split_words:"true" default:"30s"`
	// MaxConnsPerIP bounds the connections one client address holds open
	// at once, MaxConns those of all clients; connections beyond are
	// closed at once. 0 disables a bound. Behind a reverse proxy every
	// connection comes from the proxy's address: raise MaxConnsPerIP to
	// the proxy's pool size (or 0) there.
	MaxConnsPerIP int `envconfig:"MAX_CONNS_PER_IP" default:"64"`
	MaxConns      int `split_words:"true" default:"4096"`
}

// Worker configures the Temporal worker.
type Worker struct {
	// Concurrency is how many jobs one worker holds files for at once,
	// from the start of the download to the upload's end (activities.Holds),
	// and how many downloads it takes at once.
	Concurrency int `default:"2"`
	// WorkDir holds temporary media files; default DataDir/work. Each worker
	// process needs its own: it is emptied at start-up.
	WorkDir string `split_words:"true"`
	// MinFreeBytes is the free space a download must leave on the work
	// directory's disk (counting its muxed copy); 0 disables the check.
	MinFreeBytes int64 `split_words:"true" default:"2147483648"`
	// MaxJobBytes caps what one job downloads: a larger source fails for
	// good ("the source is larger than the N MiB this worker allows"), the
	// native download stopping at the cap, yt-dlp getting it as
	// --max-filesize and being stopped when its files pass it. 0 derives
	// it from the work directory's disk: half of its size above
	// MinFreeBytes, as the download and its muxed copy both land there and
	// a larger source could never finish; -1 disables the cap (the
	// free-space checks still apply, while writing too).
	MaxJobBytes int64 `split_words:"true" default:"0"`
	// MaxListings is how many batch listings (feeds, yt-dlp playlists) one
	// worker runs at once; each can hold a feed of MaxFeedBytes or a
	// playlist of 100,000 episodes in memory.
	MaxListings int `split_words:"true" default:"2"`
	// MaxFeedBytes bounds a feed document; a larger one fails for good
	// ("the feed is over N MiB").
	MaxFeedBytes int64 `split_words:"true" default:"67108864"`
	// MetricsAddr serves Prometheus /metrics; empty disables it.
	MetricsAddr string `split_words:"true" default:"127.0.0.1:9464"`
	// WebhookConcurrency is how many webhook deliveries one worker makes
	// at once, on a task queue of their own: receivers slow to answer fill
	// these slots, never those of batch listings.
	WebhookConcurrency int `split_words:"true" default:"50"`
	// LiveMaxDuration caps a live recording: the default of a job without
	// max_duration and the most one may ask for. LiveMaxWait bounds how
	// long wait_for_video waits for a stream to start. Together they stay
	// below the download activity's timeout (workflows.DownloadTimeout).
	LiveMaxDuration time.Duration `split_words:"true" default:"4h"`
	LiveMaxWait     time.Duration `split_words:"true" default:"1h"`
}

// Subscription tunes subscriptions.
type Subscription struct {
	// MinInterval is the shortest "every" a subscription may ask for.
	MinInterval time.Duration `split_words:"true" default:"15m"`
}

// Batch tunes show, playlist and feed batches.
type Batch struct {
	// Window is how many episodes of one batch run at once.
	Window int `default:"20"`
	// PageSize is how many episodes one run of the batch workflow starts
	// before it continues as new (sooner if Temporal suggests it).
	PageSize int `split_words:"true" default:"500"`
	// ListWait is how long POST /batches waits for the episode list.
	ListWait time.Duration `split_words:"true" default:"5s"`
	// FeedProbe lets POST /jobs send a HEAD request for URLs that name no
	// media file, to recognise feeds by their content type.
	FeedProbe bool `split_words:"true" default:"true"`
	// ReconcileEvery is how often a batch asks Temporal whether episodes it
	// still counts as running have closed without reporting (terminated
	// by hand, timed out), to count them failed.
	ReconcileEvery time.Duration `split_words:"true" default:"5m"`
}

// Spotify holds the Spotify Web API client credentials that list Spotify
// shows; without them Spotify URLs are refused. The base URLs are
// settings so tests can point them at a fake.
type Spotify struct {
	ClientID     string `envconfig:"CLIENT_ID"`
	ClientSecret string `envconfig:"CLIENT_SECRET"`
	APIURL       string `envconfig:"API_URL" default:"https://api.spotify.com"`
	AccountsURL  string `envconfig:"ACCOUNTS_URL" default:"https://accounts.spotify.com"`
	// Market is the country whose catalogue is listed (ISO 3166-1 alpha-2):
	// with client credentials Spotify knows no user country.
	Market string `default:"US"`
}

// Configured reports whether both credentials are set.
func (s Spotify) Configured() bool { return s.ClientID != "" && s.ClientSecret != "" }

// Media locates the external programs.
type Media struct {
	YtdlpPath   string `envconfig:"YTDLP_PATH" default:"yt-dlp"`
	FfmpegPath  string `envconfig:"FFMPEG_PATH" default:"ffmpeg"`
	FfprobePath string `envconfig:"FFPROBE_PATH" default:"ffprobe"`
	// YtdlpConcurrentFragments is yt-dlp's --concurrent-fragments: how
	// many fragments of an HLS or DASH stream it fetches at once.
	YtdlpConcurrentFragments int `envconfig:"YTDLP_CONCURRENT_FRAGMENTS" default:"4"`
	// FragmentConcurrency is how many fragments (or byte ranges) of one
	// stream riptide's native downloader fetches at once: a number, or
	// "auto" (adaptive between 2 and 16, by the time to first byte).
	FragmentConcurrency string `envconfig:"FRAGMENT_CONCURRENCY" default:"auto"`
	// DownloadStrategy is "native" (riptide downloads what yt-dlp
	// resolves, where it can) or "ytdlp" (yt-dlp's own downloader always).
	DownloadStrategy string `envconfig:"DOWNLOAD_STRATEGY" default:"native"`
	// Sandbox confines yt-dlp, ffmpeg and ffprobe to network namespaces of
	// their own that reach only the guarded proxy (internal/childproc):
	// auto where the machine allows it (a loud warning elsewhere), required
	// (refuse to run them unconfined), or off.
	Sandbox string `envconfig:"SANDBOX" default:"auto"`
	// YtdlpMaxAge is the age of a yt-dlp release past which the worker and
	// /healthz warn that it is stale.
	YtdlpMaxAge time.Duration `envconfig:"YTDLP_MAX_AGE" default:"2160h"`
}

// Fragments is FragmentConcurrency as a number: 0 for "auto".
func (m Media) Fragments() (int, error) {
	if strings.EqualFold(m.FragmentConcurrency, "auto") || m.FragmentConcurrency == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(m.FragmentConcurrency)
	if err != nil || n < 1 || n > 64 {
		return 0, fmt.Errorf("RIPTIDE_FRAGMENT_CONCURRENCY=%q: want auto or a number from 1 to 64", m.FragmentConcurrency)
	}
	return n, nil
}

// NativeDownloads tells whether DownloadStrategy lets riptide download
// what yt-dlp resolves.
func (m Media) NativeDownloads() (bool, error) {
	switch strings.ToLower(m.DownloadStrategy) {
	case "", "native":
		return true, nil
	case "ytdlp":
		return false, nil
	}
	return false, fmt.Errorf("RIPTIDE_DOWNLOAD_STRATEGY=%q: want native or ytdlp", m.DownloadStrategy)
}

// Webhook configures webhook signing.
type Webhook struct {
	// Secrets sign every delivery (Standard Webhooks, whsec_<base64>),
	// comma separated; all of them at once while a receiver rotates.
	Secrets []string
}

// Log configures structured logging.
type Log struct {
	Level  string `default:"info"`
	Format string `default:"json"`
}

// Guard returns the outbound-connection guard the settings describe.
func (c *Config) Guard() (*netguard.Guard, error) {
	allow, err := netguard.ParsePrefixes(c.AllowPrivateNetworks)
	if err != nil {
		return nil, fmt.Errorf("config: %s_ALLOW_PRIVATE_NETWORKS: %v", Prefix, err)
	}
	return netguard.New(allow), nil
}

// Load reads the environment.
func Load() (*Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if c.Worker.WorkDir == "" {
		c.Worker.WorkDir = filepath.Join(c.DataDir, "work")
	}
	keys := c.API.Keys[:0]
	for _, k := range c.API.Keys {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	c.API.Keys = keys
	if _, err := netguard.ParsePrefixes(c.AllowPrivateNetworks); err != nil {
		return nil, fmt.Errorf("config: %s_ALLOW_PRIVATE_NETWORKS: %v", Prefix, err)
	}
	if _, err := c.Codec(); err != nil {
		return nil, err
	}
	if _, err := webhook.NewSigner(c.Webhook.Secrets); err != nil {
		return nil, fmt.Errorf("config: %s_WEBHOOK_SECRETS: %v", Prefix, err)
	}
	if c.S3.PartSize < 5<<20 {
		return nil, fmt.Errorf("config: %s_S3_PART_SIZE must be at least 5 MiB (S3's minimum part size)", Prefix)
	}
	if c.Batch.Window < 1 || c.Batch.PageSize < 1 {
		return nil, fmt.Errorf("config: %s_BATCH_WINDOW and %s_BATCH_PAGE_SIZE must be at least 1", Prefix, Prefix)
	}
	if c.Batch.ReconcileEvery < time.Second {
		return nil, fmt.Errorf("config: %s_BATCH_RECONCILE_EVERY must be at least 1s", Prefix)
	}
	if c.API.IdleTimeout <= 0 {
		return nil, fmt.Errorf("config: %s_API_IDLE_TIMEOUT must be positive", Prefix)
	}
	if c.API.MaxConnsPerIP < 0 || c.API.MaxConns < 0 {
		return nil, fmt.Errorf("config: %s_API_MAX_CONNS_PER_IP and %s_API_MAX_CONNS must be 0 (no bound) or more", Prefix, Prefix)
	}
	if c.Worker.WebhookConcurrency < 1 {
		return nil, fmt.Errorf("config: %s_WORKER_WEBHOOK_CONCURRENCY must be at least 1", Prefix)
	}
	if c.Worker.MaxListings < 1 || c.Worker.MaxFeedBytes < 1<<20 {
		return nil, fmt.Errorf("config: %s_WORKER_MAX_LISTINGS must be at least 1 and %s_WORKER_MAX_FEED_BYTES at least 1 MiB", Prefix, Prefix)
	}
	if c.Worker.Concurrency < 1 {
		return nil, fmt.Errorf("config: %s_WORKER_CONCURRENCY must be at least 1", Prefix)
	}
	if err := c.Worker.checkLive(); err != nil {
		return nil, err
	}
	if _, err := childproc.ParseMode(c.Media.Sandbox); err != nil {
		return nil, fmt.Errorf("config: %s_SANDBOX: %v", Prefix, err)
	}
	if err := c.Sites.check(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}
