//go:build integration

package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// TestMetricsCountAJob scrapes /metrics before and after one job through
// the API and checks every family moved: jobs, stages, bytes, webhooks,
// HTTP requests, and the Temporal SDK's own metrics. Other tests run in
// parallel, so the checks are lower bounds on the deltas.
func TestMetricsCountAJob(t *testing.T) {
	requireStack(t)
	before := scrape(t)
	url := stack.media + "/" + devstack.SampleMP4
	// MKV: a remux, so the mux stage runs too.
	id := submit(t, map[string]any{"url": url, "webhook_url": stack.hookURL, "format": "mkv"})
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	var st workflows.JobState
	require.NoError(t, stack.temporal.GetWorkflow(ctx, workflows.JobWorkflowID(id), "").Get(ctx, &st))
	require.Equal(t, workflows.StatusCompleted, st.Status)
	after := scrape(t)

	moved := func(series string) float64 { return after.sum(series) - before.sum(series) }
	require.GreaterOrEqual(t, moved(`riptide_jobs_started_total`), 1.0)
	require.GreaterOrEqual(t, moved(`riptide_jobs_finished_total{status="completed"}`), 1.0)
	for _, stage := range []string{"download", "mux", "upload", "webhook"} {
		require.GreaterOrEqual(t, moved(`riptide_stage_duration_seconds_count{stage="`+stage+`",outcome="success"}`), 1.0, stage)
	}
	require.GreaterOrEqual(t, moved(`riptide_bytes_moved_total{stage="upload"}`), float64(st.FileSizeBytes))
	require.GreaterOrEqual(t, moved(`riptide_bytes_moved_total{stage="download"}`), 1.0)
	require.GreaterOrEqual(t, moved(`riptide_webhook_deliveries_total{outcome="delivered"}`), 1.0)
	require.GreaterOrEqual(t, moved(`riptide_http_requests_total{method="POST",route="/jobs",code="201"}`), 1.0)
	// The SDK counts a completed workflow once the server has accepted the
	// completion, which can be just after run.Get returns.
	require.Eventually(t, func() bool {
		return scrape(t).sum(`temporal_workflow_completed_total{workflow_type="Job"}`)-before.sum(`temporal_workflow_completed_total{workflow_type="Job"}`) >= 1
	}, 10*time.Second, 100*time.Millisecond, "the SDK's own metrics")
	require.True(t, after.has("riptide_jobs_in_flight"), "in-flight gauge from Temporal visibility")
	require.True(t, after.has("riptide_activities_in_flight"))
}

// samples is one scrape: each series line's name{labels} and value.
type samples map[string]float64

func scrape(t *testing.T) samples {
	t.Helper()
	out := samples{}
	for _, line := range strings.Split(string(fetch(t, stack.metricsURL)), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

// sum adds the values of the series named like series whose labels
// include every label series lists.
func (s samples) sum(series string) float64 {
	name, want := splitSeries(series)
	total := 0.0
	for k, v := range s {
		n, labels := splitSeries(k)
		if n != name {
			continue
		}
		ok := true
		for _, l := range strings.Split(want, ",") {
			if l != "" && !strings.Contains(","+labels+",", ","+l+",") {
				ok = false
				break
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

func (s samples) has(name string) bool {
	for k := range s {
		if n, _ := splitSeries(k); n == name {
			return true
		}
	}
	return false
}

// splitSeries splits `name{a="1",b="2"}` into name and `a="1",b="2"`.
func splitSeries(s string) (name, labels string) {
	name, labels, _ = strings.Cut(s, "{")
	return name, strings.TrimSuffix(labels, "}")
}
