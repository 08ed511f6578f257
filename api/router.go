// Package api is riptide's HTTP API, compatible with the hosted service's
// /jobs endpoints. It keeps no state of its own: jobs are Temporal workflows
// and their state is read from Temporal on each request.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/metrics"
	"github.com/riptide-dev/riptide/internal/netguard"
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
	// Keys are the accepted x-api-key values.
	Keys []string
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
}

const (
	defaultMaxBodyBytes = 64 << 10
	// temporalTimeout bounds each Temporal call of a request.
	temporalTimeout = 10 * time.Second
	apiKeyHeader    = "x-api-key"
	healthzPath     = "/healthz"
)

type server struct {
	Deps
	tools *toolProbe
}

// NewRouter builds the API's handler.
func NewRouter(d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Guard == nil {
		d.Guard = netguard.New(nil)
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
	r.Use(recordRoute, requestLogger(d.Logger), recovery(d.Logger), requireAPIKey(d.Keys), rateLimit(lim))
	r.NoRoute(func(c *gin.Context) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "no such endpoint"))
	})
	r.NoMethod(func(c *gin.Context) {
		abort(c, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method not allowed"))
	})

	r.GET(healthzPath, s.healthz)
	r.GET(openAPIPath, serveOpenAPI)
	r.POST("/jobs", s.createJob)
	r.POST("/jobs/bulk", s.createJobsBulk)
	r.GET("/jobs", s.listJobs)
	r.GET("/jobs/:id", s.getJob)
	r.DELETE("/jobs/:id", s.cancelJob)
	r.POST("/jobs/:id/retry", s.retryJob)
	r.DELETE("/jobs/:id/file", s.deleteJobFile)
	r.POST("/metadata", s.getMetadata)
	r.GET("/jobs/:id/webhooks", s.getJobWebhooks)
	r.POST("/jobs/:id/webhooks/:event_id/redeliver", s.redeliverWebhook)
	r.POST("/batches", s.createBatch)
	s.subscriptionRoutes(r)
	for _, p := range []string{"/batch/:id", "/batches/:id"} {
		r.GET(p, s.getBatch)
		r.DELETE(p, s.cancelBatch)
		r.PATCH(p+"/jobs", s.renameBatchJobs)
		r.POST(p+"/start", s.startPausedBatch)
	}
	dash := newDashboard(s)
	if d.WarmDashboard {
		go dash.warm()
	}
	r.GET("/dashboard/stats", dash.stats)
	r.GET("/dashboard/jobs", dash.jobs)
	r.GET("/dashboard/batches", dash.listBatches)
	r.GET("/dashboard/cluster", dash.clusterStats)
	r.GET("/dashboard/daily", dash.dailyStats)
	r.GET("/usage", dash.usage)
	return r
}

// recordRoute tells the metrics (metrics.InstrumentHTTP) which registered
// route matched, before anything can abort the request: only registered
// routes become labels, whatever path a client invents.
func recordRoute(c *gin.Context) {
	metrics.SetRoute(c.Request.Context(), c.FullPath())
	c.Next()
}

// requireAPIKey accepts requests whose x-api-key header matches one of keys.
// Every route but GET /healthz needs one, unknown routes included, so the
// API reveals nothing to anonymous clients. Keys are compared as SHA-256
// digests in constant time, so neither a key's bytes nor its length leak.
func requireAPIKey(keys []string) gin.HandlerFunc {
	digests := make([][sha256.Size]byte, len(keys))
	for i, k := range keys {
		digests[i] = sha256.Sum256([]byte(k))
	}
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodGet && (c.FullPath() == healthzPath || c.FullPath() == openAPIPath) {
			c.Next()
			return
		}
		key := c.GetHeader(apiKeyHeader)
		got := sha256.Sum256([]byte(key))
		ok := 0
		for _, d := range digests {
			ok |= subtle.ConstantTimeCompare(got[:], d[:])
		}
		if key == "" || ok != 1 {
			abort(c, unauthorized(key == ""))
			return
		}
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
