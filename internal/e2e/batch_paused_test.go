//go:build integration

package e2e

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// TestPausedBatchRenamedAndStarted drives the reference's paused-batch
// flow on the real stack: POST /jobs with paused lists the episodes and
// starts none; PATCH /batch/{id}/jobs renames them (a bad item is refused
// alone); POST /batch/{id}/start runs them, and the objects land under the
// new names.
func TestPausedBatchRenamedAndStarted(t *testing.T) {
	requireStack(t)
	t.Parallel()
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Paused", 2, 0)
	defer feed.Close()
	folder := "e2e/paused-" + uuid.NewString()[:8]

	status, out := call(t, http.MethodPost, "/jobs", map[string]any{"url": feed.URL + "/feed.xml", "paused": true, "folder": folder})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	require.Equal(t, true, out["paused"])
	require.Equal(t, "paused", out["status"])
	require.Equal(t, float64(2), out["total_episodes"])
	batchID := out["batch_id"].(string)
	ep0, ep1 := workflows.EpisodeJobID(batchID, 0), workflows.EpisodeJobID(batchID, 1)
	require.Equal(t, []any{ep0, ep1}, out["episode_jobs"])
	episodes := out["episodes"].([]any)
	require.Equal(t, "Paused Episode 0", episodes[0].(map[string]any)["title"])
	noEpisodeJobs := func(when string) {
		t.Helper()
		for _, id := range []string{ep0, ep1} {
			//lint:ignore SA1019 DescribeWorkflow(...).RawResponse is this same call.
			_, err := stack.temporal.DescribeWorkflowExecution(t.Context(), workflows.JobWorkflowID(id), "")
			var nf *serviceerror.NotFound
			require.True(t, errors.As(err, &nf), "%s: episode job %s exists (%v)", when, id, err)
		}
	}
	noEpisodeJobs("after the create")

	status, got := call(t, http.MethodGet, "/batch/"+batchID, nil)
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, true, got["paused"])
	require.Equal(t, "paused", got["status"])
	// The dashboard reads the memo through visibility, which lags a little.
	var row map[string]any
	require.Eventually(t, func() bool {
		status, dash := call(t, http.MethodGet, "/dashboard/batches", nil)
		if status != http.StatusOK {
			return false
		}
		for _, b := range dash["batches"].([]any) {
			if r := b.(map[string]any); r["id"] == batchID {
				row = r
			}
		}
		return row != nil && row["status"] == "paused"
	}, 30*time.Second, 100*time.Millisecond, "the dashboard's batch list does not say paused: %v", row)

	status, out = call(t, http.MethodPatch, "/batch/"+batchID+"/jobs", map[string]any{"renames": []map[string]any{
		{"job_id": ep0, "filename": "First Episode"}, {"job_id": ep1, "filename": "../escape"}}})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, float64(1), out["updated"])
	require.Equal(t, []any{ep1 + ": filename must not contain / or \\"}, out["errors"])
	// The name ep0 now holds is refused for another episode; a free one
	// is taken, through the riptide spelling of the path.
	status, out = call(t, http.MethodPatch, "/batches/"+batchID+"/jobs", map[string]any{"renames": []map[string]any{
		{"job_id": ep1, "filename": "First Episode"}}})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, float64(0), out["updated"], "%v", out)
	require.Equal(t, []any{ep1 + ": filename First Episode.mp4 is already another episode's"}, out["errors"])
	status, out = call(t, http.MethodPatch, "/batches/"+batchID+"/jobs", map[string]any{"renames": []map[string]any{
		{"job_id": ep1, "filename": "Second"}}})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, float64(1), out["updated"], "%v", out)
	require.Empty(t, out["errors"])
	noEpisodeJobs("after the renames")

	status, out = call(t, http.MethodPost, "/batch/"+batchID+"/start", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, map[string]any{"batch_id": batchID, "started_jobs": float64(2), "status": "processing"}, out)
	status, out = call(t, http.MethodPost, "/batch/"+batchID+"/start", nil)
	require.Equal(t, http.StatusBadRequest, status, "%v", out)
	require.Equal(t, "not_paused", out["code"])
	require.Contains(t, out["error"], "Batch is not paused")
	status, out = call(t, http.MethodPatch, "/batch/"+batchID+"/jobs", map[string]any{"renames": []map[string]any{{"job_id": ep0, "filename": "late"}}})
	require.Equal(t, http.StatusBadRequest, status, "%v", out)
	require.Equal(t, "not_paused", out["code"])

	require.Eventually(t, func() bool {
		_, got = call(t, http.MethodGet, "/batch/"+batchID, nil)
		return got["status"] == "completed"
	}, 2*time.Minute, 250*time.Millisecond, "batch never completed: %v", got)
	require.Equal(t, false, got["paused"])
	require.Equal(t, float64(2), got["completed_episodes"])
	require.Equal(t, clip, stored(t, folder+"/First Episode.mp4"))
	require.Equal(t, clip, stored(t, folder+"/Second.mp4"))
	recordHistory(t, stack.temporal, "batch_paused_renamed_started", workflows.BatchWorkflowID(batchID), "")
}

// TestPausedBatchCancelled: DELETE /batch/{id} ends a paused batch with
// every episode counted failed and none started; a start afterwards is a
// 400.
func TestPausedBatchCancelled(t *testing.T) {
	requireStack(t)
	t.Parallel()
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Cancelled", 2, 0)
	defer feed.Close()
	status, out := call(t, http.MethodPost, "/batches", map[string]any{"show_url": feed.URL + "/feed.xml", "paused": true})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	batchID := out["batch_id"].(string)
	status, out = call(t, http.MethodDelete, "/batch/"+batchID, nil)
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	var got map[string]any
	require.Eventually(t, func() bool {
		_, got = call(t, http.MethodGet, "/batch/"+batchID, nil)
		return got["completed_at"] != nil
	}, time.Minute, 200*time.Millisecond, "batch never ended: %v", got)
	require.Equal(t, "finished", got["status"])
	require.Equal(t, true, got["cancelled"])
	require.Equal(t, false, got["paused"])
	require.Equal(t, float64(2), got["failed_episodes"])
	for i := range 2 {
		//lint:ignore SA1019 DescribeWorkflow(...).RawResponse is this same call.
		_, err := stack.temporal.DescribeWorkflowExecution(t.Context(), workflows.JobWorkflowID(workflows.EpisodeJobID(batchID, i)), "")
		var nf *serviceerror.NotFound
		require.True(t, errors.As(err, &nf), "episode %d started: %v", i, err)
	}
	status, out = call(t, http.MethodPost, "/batch/"+batchID+"/start", nil)
	require.Equal(t, http.StatusBadRequest, status, "%v", out)
	require.Equal(t, "not_paused", out["code"])
}
