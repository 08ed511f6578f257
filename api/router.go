// Package api is riptide's HTTP API, compatible with the hosted service's
// /jobs endpoints. It keeps no state of its own: jobs are Temporal workflows
// and their state is read from Temporal on each request.
package api

import (
	"context"
	"github.com/riptide-dev/riptide/internal/cookies"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/metrics"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/internal/tenants"
	"github.com/riptide-dev/riptide/internal/webui"
)

// Store is the slice of S3 the API needs; *storage.Store satisfies it.
type Store interface {
	// PresignGet returns a time-limited GET URL for key.
	PresignGet(ctx context.Context, key string) (string, error)
	// Ping checks the bucket is reachable.
	Ping(ctx context.Context) error
}

// Deps are the API's dependencies.
type Deps struct {
	Temporal  client.Client
	TaskQueue string
	Store     Store
	// Keys are the accepted x-api-key values, all of the default tenant;
	// Tenants, when set, replaces them (tenants.Store: RIPTIDE_API_KEYS
	// and RIPTIDE_TENANTS_FILE, reloaded as the file changes).
	Keys    []string
	Tenants *tenants.Store
	// MaxBodyBytes caps request bodies (413 beyond); 64 KiB when zero.
	MaxBodyBytes int64
	Logger       *slog.Logger
	// TemporalUI is the Temporal Web UI's base URL that job views link to
	// (empty: no link); Namespace is the jobs' namespace.
	TemporalUI, Namespace string
	// BatchWindow and BatchPageSize tune new batches (0: the workflow's
	// defaults); BatchListWait is how long POST waits for a batch's
	// episode list (0: 5 s).
	BatchWindow   int
	BatchPageSize int
	BatchListWait time.Duration
	// BatchReconcileEvery is how often a batch checks for episodes that
	// closed without reporting (0: the workflow's default).
	BatchReconcileEvery time.Duration
	// SpotifyConfigured tells whether the workers have Spotify Web API
	// credentials; without them Spotify URLs get a 400.
	SpotifyConfigured bool
	// FeedProbe, when set, sends a HEAD request for a POST /jobs URL that
	// names no media file, to recognise feeds by content type.
	FeedProbe *http.Client
	// WarmDashboard computes the dashboard's slow figures (every
	// completed job's memo: seconds at 10,000 jobs) in the background as
	// the router is built, so the first GET /dashboard/stats or /usage
	// finds them ready instead of waiting for the scan.
	WarmDashboard bool
	// Tools maps a program name ("yt-dlp", "ffmpeg") to the path /healthz
	// reports and asks for its version.
	Tools map[string]string
	// YtdlpMaxAge is the yt-dlp age /healthz warns past (0: 90 days).
	YtdlpMaxAge time.Duration
	// Cookies are the operator's cookie jars, whose health /healthz
	// reports (never their cookies); nil: none configured.
	Cookies *cookies.Store
	// RateLimit is the average requests per second one API key may make,
	// RateBurst how many at once; zero RateLimit disables the limit.
	RateLimit float64
	RateBurst int
	// Now is the clock of the rate limiter; time.Now when nil.
	Now func() time.Time
	// SubscriptionMinInterval is the shortest "every" of a subscription
	// (0: 15 minutes).
	SubscriptionMinInterval time.Duration
	// Guard refuses url and webhook_url values whose host is visibly not
	// public; nil refuses every non-public address.
	Guard *netguard.Guard
	// Codec encrypts and decrypts Temporal payloads for the codec routes
	// (the Temporal UI's codec server); nil: payloads pass through.
	Codec *codec.Codec
	// Targets opens clients' storage targets (per-request and /user/*
	// storage); nil: a storage.Cache dialing through Guard.
	Targets TargetOpener
}

const (
	defaultMaxBodyBytes = 64 << 10
	// temporalTimeout bounds each Temporal call of a request.
	temporalTimeout = 10 * time.Second
	apiKeyHeader    = "x-api-key"
	healthzPath     = "/healthz"
	// uiPath serves the web dashboard's static files (internal/webui).
	uiPath = webui.Prefix + "*filepath"
)

type server struct {
	Deps
	tools    *toolProbe
	dash     *dashboard
	verified verifiedTargets
}

// NewRouter builds the API's handler.
func NewRouter(d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Guard == nil {
		d.Guard = netguard.New(nil)
	}
	if d.Targets == nil {
		d.Targets = &storage.Cache{Tuning: storage.Settings{PresignTTL: 24 * time.Hour, PartSize: 16 << 20, Concurrency: 4},
			HTTP: &http.Client{Transport: d.Guard.Transport()}}
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = defaultMaxBodyBytes
	}
	s := &server{Deps: d, tools: newToolProbe(d.Tools, d.YtdlpMaxAge)}

	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Log the peer's address, not a header any client can set.
	_ = r.SetTrustedProxies(nil)
	if d.Now == nil {
		d.Now = time.Now
	}
	var lim *limiter
	if d.RateLimit > 0 {
		lim = newLimiter(d.RateLimit, d.RateBurst, d.Now)
	}
	if d.Tenants == nil {
		d.Tenants = tenants.Static(d.Keys)
	}
	s.Tenants = d.Tenants
	// Handlers read each workflow's tenant before acting on it (own.go);
	// the client hands a handler's own first describe of that workflow
	// the answer the check got, so the check costs no extra call.
	s.Temporal = describeOnce{s.Temporal}
	r.Use(recordRoute, requestLogger(d.Logger), recovery(d.Logger), codecCORS(d.TemporalUI), requireAPIKey(d.Tenants), rateLimit(lim))
	r.NoRoute(func(c *gin.Context) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "no such endpoint"))
	})
	r.NoMethod(func(c *gin.Context) {
		abort(c, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method not allowed"))
	})

	r.GET(healthzPath, s.healthz)
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, webui.Prefix) })
	r.GET(uiPath, func(c *gin.Context) { webui.Serve(c.Writer, c.Request, c.Param("filepath")) })
	r.GET(openAPIPath, serveOpenAPI)
	r.POST("/jobs", s.createJob)
	r.POST("/jobs/bulk", s.createJobsBulk)
	r.GET("/jobs", s.listJobs)
	// Every route naming a job or batch checks its tenant first (own.go).
	r.GET("/jobs/:id", s.ownJob, s.getJob)
	r.DELETE("/jobs/:id", s.ownJob, s.cancelJob)
	r.POST("/jobs/:id/retry", s.ownJob, s.retryJob)
	r.DELETE("/jobs/:id/file", s.ownJob, s.deleteJobFile)
	r.POST("/metadata", s.getMetadata)
	r.GET("/jobs/:id/webhooks", s.ownJob, s.getJobWebhooks)
	r.POST("/jobs/:id/webhooks/:event_id/redeliver", s.ownJob, s.redeliverWebhook)
	r.POST("/batches", s.createBatch)
	s.subscriptionRoutes(r)
	for _, p := range []string{"/batch/:id", "/batches/:id"} {
		r.GET(p, s.ownBatch, s.getBatch)
		r.DELETE(p, s.ownBatch, s.cancelBatch)
		r.PATCH(p+"/jobs", s.ownBatch, s.renameBatchJobs)
		r.POST(p+"/start", s.ownBatch, s.startPausedBatch)
		r.POST(p+"/pause", s.ownBatch, s.pauseBatch)
	}
	dash := newDashboard(s)
	s.dash = dash
	if d.WarmDashboard {
		go dash.warm()
	}
	r.GET("/dashboard/stats", dash.stats)
	r.GET("/dashboard/jobs", dash.jobs)
	r.GET("/dashboard/batches", dash.listBatches)
	r.GET("/dashboard/cluster", dash.clusterStats)
	r.GET("/dashboard/daily", dash.dailyStats)
	r.GET("/usage", dash.usage)
	r.POST(codecPrefix+"decode", s.codecDecode)
	r.POST(codecPrefix+"encode", s.codecEncode)
	for p, provider := range userStorageRoutes {
		r.POST(p, s.saveUserStorage(provider))
		r.DELETE(p, s.deleteUserStorage(provider))
	}
	return r
}

// recordRoute tells the metrics (metrics.InstrumentHTTP) which registered
// route matched, before anything can abort the request: only registered
// routes become labels, whatever path a client invents.
func recordRoute(c *gin.Context) {
	metrics.SetRoute(c.Request.Context(), c.FullPath())
	c.Next()
}

// requireAPIKey accepts requests whose x-api-key header is one of the
// configured keys and records its tenant (tenantOf). Every route but GET
// /healthz, /openapi.json and the web dashboard's static files (/,
// /ui/...: no data in them; the page sends the key on each data call)
// needs one, unknown routes included, so the API reveals nothing to
// anonymous clients. Keys are compared as SHA-256 digests in constant
// time (tenants.Set.Lookup), so neither a key's bytes nor its length leak.
func requireAPIKey(store *tenants.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodGet && (c.FullPath() == healthzPath || c.FullPath() == openAPIPath ||
			c.FullPath() == "/" || c.FullPath() == uiPath) {
			c.Next()
			return
		}
		key := c.GetHeader(apiKeyHeader)
		tenant, ok := store.Current().Lookup(key)
		if !ok {
			abort(c, unauthorized(key == ""))
			return
		}
		c.Set(tenantContextKey, tenant)
		c.Next()
	}
}

// requestLogger logs one line per request. It logs no header and no query
// string, so neither the API key nor a signed URL ends up in the logs.
func requestLogger(l *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= http.StatusInternalServerError:
			level = slog.LevelError
		case c.Request.URL.Path == healthzPath && status == http.StatusOK:
			level = slog.LevelDebug // probes would drown everything else
		}
		l.LogAttrs(c.Request.Context(), level, "HTTP request",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.Int("bytes", c.Writer.Size()),
			slog.String("client_ip", c.ClientIP()),
		)
	}
}

// recovery turns a panic into a JSON 500. Unlike gin's, it never dumps the
// request headers (and with them the API key).
func recovery(l *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { // net/http aborts the response quietly
				panic(rec)
			}
			l.ErrorContext(c.Request.Context(), "Handler panicked",
				"method", c.Request.Method, "path", c.Request.URL.Path, "panic", rec)
			if c.Writer.Written() {
				c.Abort()
				return
			}
			abort(c, newError(http.StatusInternalServerError, codeInternal, "internal error"))
		}()
		c.Next()
	}
}
