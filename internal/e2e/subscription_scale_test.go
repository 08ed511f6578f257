//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/workflows"
)

// TestSubscriptionBackCatalogue subscribes, with backfill all, to a feed of
// RIPTIDE_SUBSCRIPTION_SCALE episodes (unset: skipped; the figure
// is 10000) on its own Temporal server and worker process, waits for every
// episode's object, checks a second sweep starts nothing, and logs the
// largest history of the subscription's workflows (entity, sweeps,
// batch runs): bounded by continue-as-new whatever the catalogue's size.
func TestSubscriptionBackCatalogue(t *testing.T) {
	requireStack(t)
	n, _ := strconv.Atoi(os.Getenv("RIPTIDE_SUBSCRIPTION_SCALE"))
	if n <= 0 {
		t.Skip("RIPTIDE_SUBSCRIPTION_SCALE unset")
	}
	ctx := context.Background()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	dir := t.TempDir()
	tlog, err := os.Create(filepath.Join(dir, "temporal.log"))
	require.NoError(t, err)
	tp, err := startTemporal(ctx, dir, tlog)
	require.NoError(t, err)
	t.Cleanup(func() { tp.Stop() })
	f := newSubFeed(t, n)
	queue := "riptide-subs-scale-" + uuid.NewString()[:8]
	cfg := *stack.cfg
	cfg.Temporal.Address, cfg.Temporal.TaskQueue = tp.Addr(), queue
	a, err := app.New(ctx, &cfg, tlog)
	require.NoError(t, err)
	defer a.Close()
	h, err := api.New(a)
	require.NoError(t, err)
	apiSrv := serve(h)
	defer apiSrv.Close()
	startWorkerProcess(t, bin, "subs-scale-worker", queue, "RIPTIDE_TEMPORAL_ADDRESS="+tp.Addr(), "RIPTIDE_WORKER_CONCURRENCY=16")

	start := time.Now()
	folder := "e2e/sub-scale-" + uuid.NewString()[:8]
	status, out := apiCall(t, apiSrv.URL, http.MethodPost, "/subscriptions", map[string]any{
		"url": f.URL + "/feed.xml", "folder": folder, "every": "24h"})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	id := out["subscription_id"].(string)
	var v map[string]any
	require.Eventually(t, func() bool {
		_, v = apiCall(t, apiSrv.URL, http.MethodGet, "/subscriptions/"+id, nil)
		return v != nil && v["sweeps"] == float64(1) && v["sweep_running"] == false
	}, 90*time.Minute, 2*time.Second, "the first sweep never ended: %v", v)
	t.Logf("%d episodes in %s", n, time.Since(start).Round(time.Second))
	require.Equal(t, float64(n), v["episodes_downloaded"], "%v", v)
	require.Len(t, mediaKeys(t, folder), n)

	status, _ = apiCall(t, apiSrv.URL, http.MethodPost, "/subscriptions/"+id+"/check", nil)
	require.Equal(t, http.StatusAccepted, status)
	require.Eventually(t, func() bool {
		_, v = apiCall(t, apiSrv.URL, http.MethodGet, "/subscriptions/"+id, nil)
		return v != nil && v["sweeps"] == float64(2) && v["sweep_running"] == false
	}, 10*time.Minute, time.Second)
	require.Equal(t, float64(0), v["recent_sweeps"].([]any)[0].(map[string]any)["new"])

	largest, name := int64(0), ""
	for _, q := range []string{
		fmt.Sprintf("WorkflowType = '%s'", workflows.SubscriptionWorkflowType),
		fmt.Sprintf("WorkflowType = '%s'", workflows.SweepWorkflowType),
		fmt.Sprintf("WorkflowType = '%s'", workflows.BatchWorkflowType),
	} {
		var token []byte
		for {
			resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
			require.NoError(t, err)
			for _, e := range resp.GetExecutions() {
				if e.GetHistoryLength() > largest {
					largest, name = e.GetHistoryLength(), e.GetType().GetName()+" "+e.GetExecution().GetWorkflowId()
				}
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
	}
	t.Logf("largest run: %d events (%s)", largest, name)
	require.Less(t, largest, int64(20_000), "history bounded by continue-as-new")
}
