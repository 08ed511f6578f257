//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
)

// apiCall sends a request with the test key to base.
func apiCall(t *testing.T, base, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("x-api-key", testAPIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestSubscriptionExactlyOnceAcrossCrashes: a 20-episode feed subscribed
// with backfill all on its own Temporal server; the worker process is
// killed with SIGKILL mid-sweep, then the Temporal server; a check while
// the sweep runs is dropped (overlap policy); the feed gains 5 episodes
// and a later check downloads those. In the end every episode has exactly
// one object and one terminal event identity, and no workflow failed.
func TestSubscriptionExactlyOnceAcrossCrashes(t *testing.T) {
	requireStack(t)
	t.Parallel()
	ctx := context.Background()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	dir := t.TempDir()
	tlog, err := os.Create(filepath.Join(dir, "temporal.log"))
	require.NoError(t, err)
	tp, err := startTemporal(ctx, dir, tlog)
	require.NoError(t, err)
	t.Cleanup(func() { tp.Stop() })
	addr := tp.Addr()

	f := newSubFeed(t, 20)
	f.delay.Store(int64(200 * time.Millisecond))
	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()
	queue := "riptide-subs-" + uuid.NewString()[:8]
	cfg := *stack.cfg
	cfg.Temporal.Address, cfg.Temporal.TaskQueue = addr, queue
	cfg.Batch.Window, cfg.Batch.PageSize = 4, 8
	a, err := app.New(ctx, &cfg, tlog)
	require.NoError(t, err)
	defer a.Close()
	h, err := api.New(a)
	require.NoError(t, err)
	apiSrv := serve(h)
	defer apiSrv.Close()
	workerEnv := []string{"RIPTIDE_TEMPORAL_ADDRESS=" + addr, "RIPTIDE_WORKER_CONCURRENCY=4"}
	first := startWorkerProcess(t, bin, "subs-worker-a", queue, workerEnv...)

	folder := "e2e/sub-crash-" + uuid.NewString()[:8]
	status, out := apiCall(t, apiSrv.URL, http.MethodPost, "/subscriptions", map[string]any{
		"url": f.URL + "/feed.xml", "folder": folder, "webhook_url": hookSrv.URL + "/hook", "every": "1h"})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	id := out["subscription_id"].(string)

	waitTerminals(t, hooks, 5, 2*time.Minute)
	first.Kill()
	t.Log("worker killed")
	// A check while the sweep runs: dropped, never a second sweep.
	status, out = apiCall(t, apiSrv.URL, http.MethodPost, "/subscriptions/"+id+"/check", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	startWorkerProcess(t, bin, "subs-worker-b", queue, workerEnv...)
	waitTerminals(t, hooks, 10, 3*time.Minute)
	tp.Kill()
	t.Log("temporal killed")
	require.NoError(t, tp.Restart(ctx))
	t.Log("temporal restarted")

	get := func() map[string]any {
		var v map[string]any
		require.Eventually(t, func() bool {
			status, out := apiCall(t, apiSrv.URL, http.MethodGet, "/subscriptions/"+id, nil)
			v = out
			return status == http.StatusOK && out["sweep_running"] == false && out["sweeps"].(float64) >= 1
		}, 4*time.Minute, 300*time.Millisecond, "the sweep never ended: %v", v)
		return v
	}
	v := get()
	require.Equal(t, float64(1), v["sweeps"], "the check during the sweep was dropped: %v", v)
	require.Equal(t, float64(20), v["episodes_downloaded"], "%v", v)

	f.delay.Store(0)
	f.n.Store(25)
	status, out = apiCall(t, apiSrv.URL, http.MethodPost, "/subscriptions/"+id+"/check", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	require.Eventually(t, func() bool {
		status, out := apiCall(t, apiSrv.URL, http.MethodGet, "/subscriptions/"+id, nil)
		return status == http.StatusOK && out["sweeps"].(float64) == 2 && out["sweep_running"] == false
	}, 2*time.Minute, 300*time.Millisecond)
	_, v = apiCall(t, apiSrv.URL, http.MethodGet, "/subscriptions/"+id, nil)
	require.Equal(t, float64(25), v["episodes_downloaded"], "%v", v)

	objects := listSizes(t, folder+"/")
	require.Len(t, objects, 25, "one object per episode: %v", objects)
	terminal := map[string]map[string]bool{}
	for _, d := range hooks.where(func(d delivery) bool {
		return d.Body["type"] == "job_completed" || d.Body["type"] == "job_failed" || d.Body["type"] == "job_skipped"
	}) {
		jid := d.Body["job_id"].(string)
		if terminal[jid] == nil {
			terminal[jid] = map[string]bool{}
		}
		terminal[jid][d.EventID] = true
		require.Equal(t, "job_completed", d.Body["type"], "%v", d.Body)
	}
	require.Len(t, terminal, 25, "one job per episode")
	for jid, ids := range terminal {
		require.Len(t, ids, 1, "job %s: terminal event ids %v", jid, ids)
	}
	require.Len(t, hooks.ofType("batch_completed"), 2, "one batch_completed per sweep with new episodes")
	resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: `ExecutionStatus = "Failed" OR ExecutionStatus = "Terminated" OR ExecutionStatus = "TimedOut"`})
	require.NoError(t, err)
	require.Empty(t, resp.GetExecutions(), "no workflow failed")
	t.Logf("objects %d, jobs %d", len(objects), len(terminal))
}

// TestSubscriptionPauseStopsScheduledSweeps: on a server whose minimum
// interval is 1s, a subscription every 1s sweeps by itself; paused, it
// does not (while its listing would show a sweep); resumed, it does again.
func TestSubscriptionPauseStopsScheduledSweeps(t *testing.T) {
	requireStack(t)
	t.Parallel()
	guard, err := stack.cfg.Guard()
	require.NoError(t, err)
	srv := serve(api.NewRouter(api.Deps{
		Temporal: stack.temporal, TaskQueue: stack.cfg.Temporal.TaskQueue, Store: stack.store,
		Keys: []string{testAPIKey}, Guard: guard, SubscriptionMinInterval: time.Second,
	}))
	defer srv.Close()
	f := newSubFeed(t, 1)
	status, out := apiCall(t, srv.URL, http.MethodPost, "/subscriptions", map[string]any{
		"url": f.URL + "/feed.xml", "folder": "e2e/sub-pause-" + uuid.NewString()[:8], "every": "1s"})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	id := out["subscription_id"].(string)
	defer apiCall(t, srv.URL, http.MethodDelete, "/subscriptions/"+id, nil)
	require.Eventually(t, func() bool { return f.lists.Load() >= 3 }, time.Minute, 100*time.Millisecond, "scheduled sweeps")

	status, out = apiCall(t, srv.URL, http.MethodPatch, "/subscriptions/"+id, map[string]any{"paused": true})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, true, out["paused"])
	// A sweep triggered just before the pause may still list.
	time.Sleep(2 * time.Second)
	paused := f.lists.Load()
	time.Sleep(4 * time.Second)
	require.Equal(t, paused, f.lists.Load(), "no sweep while paused")

	status, out = apiCall(t, srv.URL, http.MethodPatch, "/subscriptions/"+id, map[string]any{"paused": false})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Eventually(t, func() bool { return f.lists.Load() >= paused+2 }, time.Minute, 100*time.Millisecond, "sweeps resume")
}
