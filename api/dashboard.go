package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/internal/jobs"
)

// The dashboard endpoints (GET /dashboard/*) and GET /usage, computed from
// Temporal's visibility store on demand and cached briefly, so a dashboard
// polling every second costs one computation per cache period whatever the
// number of dashboards open.
const (
	// dashClientName is the client_name riptide reports: its API keys
	// have no names.
	dashClientName = "riptide"
	// Cache periods. Counts are cheap (a few CountWorkflowExecutions);
	// the completed-job aggregate pages through every completed job and
	// the cluster's step counts through every processing one, so they are
	// served stale while one refresh runs in the background.
	dashCountsTTL    = 2 * time.Second
	dashAggregateTTL = 10 * time.Second
	dashClusterTTL   = time.Second
	dashDailyTTL     = 5 * time.Second
	dashBatchesTTL   = 2 * time.Second
	// dashBatchLimit is how many batches GET /dashboard/batches lists.
	dashBatchLimit = 100
	dashDays       = 7
	// dashDefaultJobs and dashMaxJobs page GET /dashboard/jobs.
	dashDefaultJobs = 20
	dashMaxJobs     = 100
	// bytesPerGB: the reference's 53687091200 bytes are "50.0" GB.
	bytesPerGB = 1 << 30
	// dashRefreshTimeout bounds a background refresh of the aggregate.
	dashRefreshTimeout = time.Minute
	// dashLoadFactor: a background refresh starts no sooner than this
	// many times the last computation's duration after it, so a figure
	// that takes long to compute (every completed job's memo: seconds at
	// 10,000 jobs) keeps Temporal busy at most a fifth of the time however
	// often dashboards poll.
	dashLoadFactor = 5
)

// dashCache holds one computed value for ttl. get computes it under a
// mutex, so concurrent requests share one computation.
type dashCache[T any] struct {
	mu  sync.Mutex
	val T
	at  time.Time
	ok  bool
	// refreshing: a background refresh runs (getStale); took is how long
	// the last computation took.
	refreshing bool
	took       time.Duration
}

func (c *dashCache[T]) get(now time.Time, ttl time.Duration, compute func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && now.Sub(c.at) < ttl {
		return c.val, nil
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	c.val, c.at, c.ok = v, now, true
	return v, nil
}

// getStale is get, except that once a value exists a stale one is
// returned at once while a single background refresh replaces it. A value
// is stale after ttl or dashLoadFactor times its computation's duration,
// whichever is longer.
func (c *dashCache[T]) getStale(now func() time.Time, ttl time.Duration, compute func(ctx context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	if !c.ok {
		defer c.mu.Unlock()
		start := now()
		v, err := compute(context.Background())
		if err != nil {
			return v, err
		}
		c.val, c.at, c.ok = v, now(), true
		c.took = c.at.Sub(start)
		return v, nil
	}
	v := c.val
	if now().Sub(c.at) >= max(ttl, dashLoadFactor*c.took) && !c.refreshing {
		c.refreshing = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), dashRefreshTimeout)
			defer cancel()
			start := now()
			nv, err := compute(ctx)
			c.mu.Lock()
			defer c.mu.Unlock()
			c.refreshing = false
			if err == nil {
				c.val, c.at = nv, now()
				c.took = c.at.Sub(start)
			}
		}()
	}
	c.mu.Unlock()
	return v, nil
}

// dashboard serves each tenant the figures of its own workflows: every
// query filters on the tenant (jobs.TenantClause) and each tenant has its
// own caches.
type dashboard struct {
	s        *server
	mu       sync.Mutex
	byTenant map[string]*tenantDash
}

// tenantDash are one tenant's caches.
type tenantDash struct {
	counts    dashCache[jobs.StatusCounts]
	aggregate dashCache[jobs.CompletedAggregate]
	cluster   dashCache[jobs.StepCounts]
	daily     dashCache[[]jobs.DayCounts]
	batches   dashCache[[]jobs.DashboardBatch]
}

func newDashboard(s *server) *dashboard { return &dashboard{s: s, byTenant: map[string]*tenantDash{}} }

// of is tenant's caches. Tenants come from the operator's configuration
// (a key's tenant), so the map stays as small as it.
func (d *dashboard) of(tenant string) *tenantDash {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.byTenant[tenant]
	if !ok {
		t = &tenantDash{}
		d.byTenant[tenant] = t
	}
	return t
}

// warm fills the caches of the figures that take long to compute, for
// every configured tenant. A failure is only logged: the first request
// computes them again.
func (d *dashboard) warm() {
	for _, t := range d.s.Tenants.Current().Tenants() {
		d.warmTenant(t)
	}
}

func (d *dashboard) warmTenant(tenant string) {
	if _, err := d.completed(tenant); err != nil {
		d.s.Logger.Warn("Warming the dashboard failed", "error", err)
	}
}

func (d *dashboard) now() time.Time {
	if d.s.Now != nil {
		return d.s.Now()
	}
	return time.Now()
}

func (d *dashboard) fail(c *gin.Context, what string, err error) {
	d.s.Logger.ErrorContext(c.Request.Context(), "Dashboard query failed", "figure", what, "error", err)
	abort(c, temporalError(err))
}

// noParams refuses any query parameter: these endpoints take none.
func noParams(c *gin.Context) bool {
	for name := range c.Request.URL.Query() {
		abort(c, fieldError(codeUnknownField, name, "unknown query parameter %q; this endpoint takes none", name))
		return false
	}
	return true
}

func (d *dashboard) statusCounts(ctx context.Context, tenant string) (jobs.StatusCounts, error) {
	return d.of(tenant).counts.get(d.now(), dashCountsTTL, func() (jobs.StatusCounts, error) {
		ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
		defer cancel()
		return jobs.CountJobStatuses(ctx, d.s.Temporal, tenant)
	})
}

func (d *dashboard) completed(tenant string) (jobs.CompletedAggregate, error) {
	return d.of(tenant).aggregate.getStale(d.now, dashAggregateTTL, func(ctx context.Context) (jobs.CompletedAggregate, error) {
		ctx, cancel := context.WithTimeout(ctx, dashRefreshTimeout)
		defer cancel()
		return jobs.AggregateCompleted(ctx, d.s.Temporal, tenant, d.now())
	})
}

// dashStats is GET /dashboard/stats. The reference's fields, then
// riptide's: the other statuses and whether the storage sum is partial.
type dashStats struct {
	TotalJobs        int64    `json:"total_jobs"`
	PendingJobs      int64    `json:"pending_jobs"`
	ProcessingJobs   int64    `json:"processing_jobs"`
	CompletedJobs    int64    `json:"completed_jobs"`
	FailedJobs       int64    `json:"failed_jobs"`
	StorageUsedBytes int64    `json:"storage_used_bytes"`
	StorageUsedGB    float64  `json:"storage_used_gb"`
	ClientName       string   `json:"client_name"`
	AvgProcessing    *float64 `json:"avg_processing_time_seconds"`
	TodayThroughput  int64    `json:"today_throughput_bytes"`
	WarningJobs      int64    `json:"warning_jobs"`
	SkippedJobs      int64    `json:"skipped_jobs"`
	CancelledJobs    int64    `json:"cancelled_jobs"`
	StoragePartial   bool     `json:"storage_partial"`
}

// totals are the status counts and the completed jobs' sums that
// /dashboard/stats and /usage both report; false when the answer was an
// error.
func (d *dashboard) totals(c *gin.Context) (jobs.StatusCounts, jobs.CompletedAggregate, bool) {
	sc, err := d.statusCounts(c.Request.Context(), tenantOf(c))
	if err != nil {
		d.fail(c, "counts", err)
		return sc, jobs.CompletedAggregate{}, false
	}
	agg, err := d.completed(tenantOf(c))
	if err != nil {
		d.fail(c, "storage", err)
		return sc, jobs.CompletedAggregate{}, false
	}
	return sc, agg, true
}

func (d *dashboard) stats(c *gin.Context) {
	if !noParams(c) {
		return
	}
	sc, agg, ok := d.totals(c)
	if !ok {
		return
	}
	out := dashStats{
		TotalJobs: sc.Total, PendingJobs: sc.Pending, ProcessingJobs: sc.Processing,
		CompletedJobs: sc.Completed, FailedJobs: sc.Failed,
		WarningJobs: sc.Warning, SkippedJobs: sc.Skipped, CancelledJobs: sc.Cancelled,
		StorageUsedBytes: agg.StoredBytes, StorageUsedGB: toGB(agg.StoredBytes),
		ClientName: clientName(tenantOf(c)), TodayThroughput: agg.TodayBytes, StoragePartial: agg.Truncated,
	}
	if agg.Last24h > 0 {
		avg := round2(agg.Last24hSeconds / float64(agg.Last24h))
		out.AvgProcessing = &avg
	}
	c.JSON(http.StatusOK, out)
}

func toGB(b int64) float64 { return round2(float64(b) / bytesPerGB) }

// round2 rounds to hundredths, as the reference shows figures.
func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

// dashJobParams are the query parameters of GET /dashboard/jobs.
var dashJobParams = []string{"limit", "offset", "status"}

type dashJob struct {
	ID        string  `json:"id"`
	URL       string  `json:"url"`
	Status    string  `json:"status"`
	Error     *string `json:"error"`
	S3Key     *string `json:"s3_key"`
	CreatedAt int64   `json:"created_at"`
}

type dashJobs struct {
	Jobs   []dashJob `json:"jobs"`
	Total  int64     `json:"total"`
	Limit  int       `json:"limit"`
	Offset int       `json:"offset"`
}

func (d *dashboard) jobs(c *gin.Context) {
	q := c.Request.URL.Query()
	for name, vals := range q {
		if !slices.Contains(dashJobParams, name) {
			abort(c, fieldError(codeUnknownField, name, "unknown query parameter %q; accepted: %s",
				name, strings.Join(dashJobParams, ", ")))
			return
		}
		if len(vals) > 1 {
			abort(c, fieldError(codeInvalidField, name, "%s must be given once", name))
			return
		}
	}
	f := jobs.Filter{Tenant: tenantOf(c)}
	if raw := q.Get("status"); raw != "" {
		i := slices.IndexFunc(jobs.Statuses, func(st string) bool { return strings.EqualFold(st, raw) })
		if i < 0 {
			abort(c, fieldError(codeInvalidField, "status", "status must be one of %s", strings.Join(jobs.Statuses, ", ")))
			return
		}
		f.Status = jobs.Statuses[i]
	}
	limit, e := intParam(c, "limit", dashDefaultJobs, 1, dashMaxJobs)
	if e != nil {
		abort(c, e)
		return
	}
	offset, e := intParam(c, "offset", 0, 0, jobs.MaxOffset)
	if e != nil {
		abort(c, e)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	rows, total, err := jobs.ListJobsAt(ctx, d.s.Temporal, f, limit, offset)
	if err != nil {
		d.fail(c, "jobs", err)
		return
	}
	out := dashJobs{Jobs: make([]dashJob, 0, len(rows)), Total: total, Limit: limit, Offset: offset}
	for _, r := range rows {
		out.Jobs = append(out.Jobs, dashJob{ID: r.ID, URL: r.URL, Status: r.Status, Error: r.Error, S3Key: r.Key,
			CreatedAt: r.CreatedAt.UnixMilli()})
	}
	c.JSON(http.StatusOK, out)
}

type dashBatch struct {
	ID        string `json:"id"`
	ShowURL   string `json:"show_url"`
	Folder    string `json:"folder"`
	Total     int    `json:"total_episodes"`
	Completed int    `json:"completed_episodes"`
	Failed    int    `json:"failed_episodes"`
	Status    string `json:"status"`
	CreatedAt int64  `json:"created_at"`
}

func (d *dashboard) listBatches(c *gin.Context) {
	if !noParams(c) {
		return
	}
	tenant := tenantOf(c)
	rows, err := d.of(tenant).batches.get(d.now(), dashBatchesTTL, func() ([]jobs.DashboardBatch, error) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
		defer cancel()
		return jobs.ListRecentBatches(ctx, d.s.Temporal, tenant, dashBatchLimit)
	})
	if err != nil {
		d.fail(c, "batches", err)
		return
	}
	out := make([]dashBatch, 0, len(rows))
	for _, b := range rows {
		out = append(out, dashBatch{ID: b.ID, ShowURL: b.ShowURL, Folder: b.Folder, Total: b.Total,
			Completed: b.Completed, Failed: b.Failed, Status: b.Status, CreatedAt: b.CreatedAt.UnixMilli()})
	}
	c.JSON(http.StatusOK, gin.H{"batches": out})
}

func (d *dashboard) clusterStats(c *gin.Context) {
	if !noParams(c) {
		return
	}
	// Served stale while one refresh runs: it lists every processing
	// job, which a dashboard polling every second must not wait for.
	tenant := tenantOf(c)
	sc, err := d.of(tenant).cluster.getStale(d.now, dashClusterTTL, func(ctx context.Context) (jobs.StepCounts, error) {
		ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
		defer cancel()
		return jobs.CountRunningSteps(ctx, d.s.Temporal, tenant)
	})
	if err != nil {
		d.fail(c, "cluster", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"total_downloading": sc.Downloading, "total_muxing": sc.Muxing,
		"total_uploading": sc.Uploading, "partial": sc.Truncated})
}

type dashDay struct {
	Date      string `json:"date"`
	Completed int64  `json:"completed"`
	Failed    int64  `json:"failed"`
}

func (d *dashboard) dailyStats(c *gin.Context) {
	if !noParams(c) {
		return
	}
	tenant := tenantOf(c)
	days, err := d.of(tenant).daily.get(d.now(), dashDailyTTL, func() ([]jobs.DayCounts, error) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
		defer cancel()
		return jobs.DailyCounts(ctx, d.s.Temporal, tenant, d.now(), dashDays)
	})
	if err != nil {
		d.fail(c, "daily", err)
		return
	}
	out := make([]dashDay, 0, len(days))
	for _, day := range days {
		out = append(out, dashDay(day))
	}
	c.JSON(http.StatusOK, gin.H{"daily_stats": out})
}
