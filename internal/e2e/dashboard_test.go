//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
)

// requireInt asserts m[key] is a JSON integer and returns it.
func requireInt(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	v, ok := m[key].(float64)
	require.True(t, ok, "%s is a number: %v", key, m)
	require.Equal(t, float64(int64(v)), v, "%s is an integer", key)
	return int64(v)
}

func requireNumber(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	require.True(t, ok, "%s is a number: %v", key, m)
	return v
}

func requireString(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	v, ok := m[key].(string)
	require.True(t, ok, "%s is a string: %v", key, m)
	return v
}

// TestDashboardAndUsageFromVisibility: after three jobs complete, every
// dashboard endpoint and /usage answer the reference's fields with the
// reference's types, and the counts include those jobs. Other tests run
// beside this one on the same stack, so counts are lower bounds.
func TestDashboardAndUsageFromVisibility(t *testing.T) {
	requireStack(t)
	t.Parallel()
	const n = 3
	ids := make([]string, n)
	var sizes int64
	for i := range ids {
		ids[i] = submit(t, map[string]any{"url": stack.media + "/" + devstack.SampleMP4, "folder": "e2e/dashboard",
			"filename": fmt.Sprintf("dash-%d", i)})
	}
	for _, id := range ids {
		job := waitDone(t, id)
		require.Equal(t, "Completed", job["status"], "%v", job)
		sizes += requireInt(t, job, "file_size_bytes")
	}

	// The sums are served stale while a refresh runs: poll until they
	// include the jobs above.
	var stats map[string]any
	require.Eventually(t, func() bool {
		status, m := call(t, http.MethodGet, "/dashboard/stats", nil)
		require.Equal(t, http.StatusOK, status, "%v", m)
		stats = m
		return m["storage_used_bytes"].(float64) >= float64(sizes) && m["completed_jobs"].(float64) >= n
	}, time.Minute, 500*time.Millisecond)
	total := requireInt(t, stats, "total_jobs")
	completed := requireInt(t, stats, "completed_jobs")
	require.GreaterOrEqual(t, completed, int64(n))
	require.GreaterOrEqual(t, total, completed+requireInt(t, stats, "pending_jobs")+requireInt(t, stats, "processing_jobs")+
		requireInt(t, stats, "failed_jobs"))
	stored := requireInt(t, stats, "storage_used_bytes")
	require.InDelta(t, float64(stored)/(1<<30), requireNumber(t, stats, "storage_used_gb"), 0.01)
	require.Equal(t, "riptide", requireString(t, stats, "client_name"))
	require.Greater(t, requireNumber(t, stats, "avg_processing_time_seconds"), 0.0)
	require.GreaterOrEqual(t, requireInt(t, stats, "today_throughput_bytes"), sizes)

	// Latency of a cached and an uncached-count answer, for the notes.
	start := time.Now()
	for range 20 {
		status, _ := call(t, http.MethodGet, "/dashboard/stats", nil)
		require.Equal(t, http.StatusOK, status)
	}
	t.Logf("GET /dashboard/stats: %v per request over 20 back-to-back requests", time.Since(start)/20)
	ctx := context.Background()
	start = time.Now()
	_, err := jobs.CountJobStatuses(ctx, stack.temporal, "")
	require.NoError(t, err)
	t.Logf("uncached status counts: %v", time.Since(start))
	start = time.Now()
	agg, err := jobs.AggregateCompleted(ctx, stack.temporal, "", time.Now())
	require.NoError(t, err)
	t.Logf("uncached completed-job sums: %v over %d jobs", time.Since(start), agg.Jobs)

	status, page := call(t, http.MethodGet, "/dashboard/jobs?limit=2&status=completed", nil)
	require.Equal(t, http.StatusOK, status, "%v", page)
	require.GreaterOrEqual(t, requireInt(t, page, "total"), int64(n))
	require.Equal(t, int64(2), requireInt(t, page, "limit"))
	require.Equal(t, int64(0), requireInt(t, page, "offset"))
	rows := page["jobs"].([]any)
	require.Len(t, rows, 2)
	for _, r := range rows {
		row := r.(map[string]any)
		requireString(t, row, "id")
		requireString(t, row, "url")
		require.Equal(t, "Completed", requireString(t, row, "status"))
		require.Contains(t, row, "error")
		require.Nil(t, row["error"])
		requireString(t, row, "s3_key")
		created := requireInt(t, row, "created_at")
		require.InDelta(t, time.Now().UnixMilli(), created, float64(time.Hour.Milliseconds()), "epoch milliseconds")
	}
	status, next := call(t, http.MethodGet, "/dashboard/jobs?limit=1&offset=1&status=Completed", nil)
	require.Equal(t, http.StatusOK, status, "%v", next)
	require.Equal(t, rows[1].(map[string]any)["id"], next["jobs"].([]any)[0].(map[string]any)["id"], "offset skips rows")
	status, bad := call(t, http.MethodGet, "/dashboard/jobs?limit=101", nil)
	require.Equal(t, http.StatusBadRequest, status, "%v", bad)
	require.Equal(t, "limit", bad["field"])

	status, batches := call(t, http.MethodGet, "/dashboard/batches", nil)
	require.Equal(t, http.StatusOK, status, "%v", batches)
	list, ok := batches["batches"].([]any)
	require.True(t, ok, "%v", batches)
	for _, b := range list {
		row := b.(map[string]any)
		for _, k := range []string{"id", "show_url", "folder", "status"} {
			requireString(t, row, k)
		}
		for _, k := range []string{"total_episodes", "completed_episodes", "failed_episodes"} {
			requireInt(t, row, k)
		}
	}

	status, cluster := call(t, http.MethodGet, "/dashboard/cluster", nil)
	require.Equal(t, http.StatusOK, status, "%v", cluster)
	for _, k := range []string{"total_downloading", "total_muxing", "total_uploading"} {
		require.GreaterOrEqual(t, requireInt(t, cluster, k), int64(0))
	}

	status, daily := call(t, http.MethodGet, "/dashboard/daily", nil)
	require.Equal(t, http.StatusOK, status, "%v", daily)
	days := daily["daily_stats"].([]any)
	require.Len(t, days, 7)
	today := time.Now().UTC().Format(time.DateOnly)
	last := days[6].(map[string]any)
	if requireString(t, last, "date") == today { // not just past midnight
		require.GreaterOrEqual(t, requireInt(t, last, "completed"), int64(n))
	}
	for i, d := range days {
		day := d.(map[string]any)
		date, err := time.Parse(time.DateOnly, requireString(t, day, "date"))
		require.NoError(t, err)
		requireInt(t, day, "completed")
		requireInt(t, day, "failed")
		if i > 0 {
			prev, _ := time.Parse(time.DateOnly, days[i-1].(map[string]any)["date"].(string))
			require.Equal(t, prev.AddDate(0, 0, 1), date, "oldest first, one per day")
		}
	}

	status, usage := call(t, http.MethodGet, "/usage", nil)
	require.Equal(t, http.StatusOK, status, "%v", usage)
	require.Equal(t, "riptide", requireString(t, usage, "client_name"))
	require.GreaterOrEqual(t, requireInt(t, usage, "usage_count"), int64(n))
	require.GreaterOrEqual(t, requireNumber(t, usage, "storage_usage_gb"), 0.0)
	require.GreaterOrEqual(t, requireNumber(t, usage, "current_period_usage_gb"), 0.0)
	for _, k := range []string{"storage_limit_gb", "storage_limit_bytes", "storage_remaining_gb", "max_resolution_limit",
		"max_duration_limit_seconds", "max_filesize_limit_bytes"} {
		require.Contains(t, usage, k)
		require.Nil(t, usage[k], "%s: no quota", k)
	}
	from, err := time.Parse(time.RFC3339, requireString(t, usage, "billing_period_start"))
	require.NoError(t, err)
	to, err := time.Parse(time.RFC3339, requireString(t, usage, "billing_period_end"))
	require.NoError(t, err)
	require.Equal(t, 1, from.Day())
	require.Equal(t, from.AddDate(0, 1, 0), to)
	require.GreaterOrEqual(t, requireInt(t, usage, "current_period_usage_bytes"), sizes)
}
