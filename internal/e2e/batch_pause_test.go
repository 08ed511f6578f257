//go:build integration

package e2e

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/workflows"
)

// TestRunningBatchPausedAndStarted pauses a running batch on the real
// stack: with a window of one and its first episode held downloading,
// POST /batch/{id}/pause is accepted (a second answers 409), the held
// episode finishes and is counted while the next is never started, and
// POST /batches/{id}/start resumes it: batch_completed arrives once with
// every episode.
func TestRunningBatchPausedAndStarted(t *testing.T) {
	requireStack(t)
	t.Parallel()
	guard, err := stack.cfg.Guard()
	require.NoError(t, err)
	srv := serve(api.NewRouter(api.Deps{
		Temporal: stack.temporal, TaskQueue: stack.cfg.Temporal.TaskQueue, Store: stack.store,
		Keys: []string{testAPIKey}, Guard: guard, BatchListWait: 20 * time.Second, BatchWindow: 1,
		BatchReconcileEvery: 5 * time.Second,
	}))
	t.Cleanup(srv.Close)
	base := srv.URL
	hooks := &receiver{}
	hookSrv := serve(hooks)
	t.Cleanup(hookSrv.Close)
	feed, started, release := slowFeed(t, 3, func(i int) bool { return i == 0 })

	created := post(t, base, "/batches", map[string]any{"show_url": feed, "webhook_url": hookSrv.URL + "/hook",
		"folder": "e2e/pause-" + uuid.NewString()[:8]})
	batchID := created["batch_id"].(string)
	select {
	case <-started:
	case <-time.After(2 * time.Minute):
		t.Fatal("episode 0 never started downloading")
	}

	status, out := callAt(t, base, http.MethodPost, "/batch/"+batchID+"/pause", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, map[string]any{"batch_id": batchID, "running_jobs": float64(1), "paused": true,
		"status": "paused", "riptide_status": "paused"}, out)
	status, out = callAt(t, base, http.MethodPost, "/batches/"+batchID+"/pause", nil)
	require.Equal(t, http.StatusConflict, status, "%v", out)
	require.Equal(t, "conflict", out["code"])
	require.Contains(t, out["error"], "already paused")

	// The held episode finishes while paused and is counted.
	close(release)
	var got map[string]any
	require.Eventually(t, func() bool {
		_, got = callAt(t, base, http.MethodGet, "/batch/"+batchID, nil)
		return got["completed_episodes"] == float64(1) && got["running_episodes"] == float64(0)
	}, 2*time.Minute, 250*time.Millisecond, "the running episode never finished: %v", got)
	require.Equal(t, true, got["paused"], "%v", got)
	require.Equal(t, "paused", got["status"])
	require.Equal(t, float64(2), got["pending_episodes"])
	//lint:ignore SA1019 DescribeWorkflow(...).RawResponse is this same call.
	_, err = stack.temporal.DescribeWorkflowExecution(t.Context(), workflows.JobWorkflowID(workflows.EpisodeJobID(batchID, 1)), "")
	var nf *serviceerror.NotFound
	require.True(t, errors.As(err, &nf), "episode 1 started while paused (%v)", err)
	require.Empty(t, hooks.ofType("batch_completed"))

	status, out = callAt(t, base, http.MethodPost, "/batches/"+batchID+"/start", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, map[string]any{"batch_id": batchID, "started_jobs": float64(2), "status": "processing"}, out)

	b := waitBatchCompleted(t, hooks, 3*time.Minute)
	require.Equal(t, batchID, b["batch_id"])
	require.Equal(t, "completed", b["status"])
	require.Equal(t, float64(3), b["total_episodes"])
	require.Equal(t, float64(3), b["completed_episodes"])
	status, out = callAt(t, base, http.MethodPost, "/batch/"+batchID+"/pause", nil)
	require.Equal(t, http.StatusConflict, status, "%v", out)
	require.Contains(t, out["error"], "not running")
	recordHistory(t, stack.temporal, "batch_paused_running_started", workflows.BatchWorkflowID(batchID), "")
}
