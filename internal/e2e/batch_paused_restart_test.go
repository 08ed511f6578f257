//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// TestPausedBatchSurvivesWorkerAndTemporalRestarts: a paused batch, renamed
// once, outlives a SIGKILLed worker process and a SIGKILLed Temporal server
// restarted on the same database: it is still paused with no episode
// started, takes a second rename, and once started stores both episodes
// under their new names.
func TestPausedBatchSurvivesWorkerAndTemporalRestarts(t *testing.T) {
	requireStack(t)
	t.Parallel()
	ctx := context.Background()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	temporalBin, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
	require.NoError(t, err)
	port, err := devstack.FreePort()
	require.NoError(t, err)
	dir := t.TempDir()
	tlog, err := os.Create(filepath.Join(dir, "temporal.log"))
	require.NoError(t, err)
	topts := devstack.TemporalOptions{Bin: temporalBin, DBFile: filepath.Join(dir, "temporal.db"), Port: port, Namespace: "default", Log: tlog}
	tp, err := devstack.StartTemporal(ctx, topts)
	require.NoError(t, err)
	t.Cleanup(func() { tp.Stop(10 * time.Second) })
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Durable", 2, 0)
	defer feed.Close()
	queue := "riptide-paused-" + uuid.NewString()[:8]
	cfg := *stack.cfg
	cfg.Temporal.Address, cfg.Temporal.TaskQueue = addr, queue
	cfg.Batch.ListWait = 10 * time.Second
	a, err := app.New(ctx, &cfg, tlog)
	require.NoError(t, err)
	defer a.Close()
	h, err := api.New(a)
	require.NoError(t, err)
	apiSrv := serve(h)
	defer apiSrv.Close()
	workerEnv := []string{"RIPTIDE_TEMPORAL_ADDRESS=" + addr}
	first := startWorkerProcess(t, bin, "paused-worker-a", queue, workerEnv...)

	folder := "e2e/paused-restart-" + uuid.NewString()[:8]
	status, out := callAt(t, apiSrv.URL, http.MethodPost, "/batches", map[string]any{"show_url": feed.URL + "/feed.xml", "paused": true, "folder": folder})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	require.Equal(t, "paused", out["status"], "%v", out)
	batchID := out["batch_id"].(string)
	ep0, ep1 := workflows.EpisodeJobID(batchID, 0), workflows.EpisodeJobID(batchID, 1)
	status, out = callAt(t, apiSrv.URL, http.MethodPatch, "/batch/"+batchID+"/jobs",
		map[string]any{"renames": []map[string]any{{"job_id": ep0, "filename": "Before Restart"}}})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, float64(1), out["updated"])

	first.Kill()
	tp.Kill()
	t.Log("worker and temporal killed")
	tp, err = devstack.StartTemporal(ctx, topts)
	require.NoError(t, err)
	startWorkerProcess(t, bin, "paused-worker-b", queue, workerEnv...)

	// Still paused, as the new worker's answer to the state query says.
	var got map[string]any
	require.Eventually(t, func() bool {
		status, got = callAt(t, apiSrv.URL, http.MethodGet, "/batch/"+batchID, nil)
		return status == http.StatusOK && got["paused"] == true && got["status"] == "paused"
	}, time.Minute, 250*time.Millisecond, "batch not paused after the restarts: %v", got)
	for _, id := range []string{ep0, ep1} {
		_, err := jobs.Get(ctx, a.Temporal, id)
		require.ErrorIs(t, err, jobs.ErrNotFound, "episode %s started while paused", id)
	}
	var renamed map[string]any
	require.Eventually(t, func() bool {
		status, renamed = callAt(t, apiSrv.URL, http.MethodPatch, "/batch/"+batchID+"/jobs",
			map[string]any{"renames": []map[string]any{{"job_id": ep1, "filename": "After Restart"}}})
		return status == http.StatusOK
	}, time.Minute, 500*time.Millisecond, "rename after the restarts: %v", renamed)
	require.Equal(t, float64(1), renamed["updated"], "%v", renamed)
	status, out = callAt(t, apiSrv.URL, http.MethodPost, "/batch/"+batchID+"/start", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, float64(2), out["started_jobs"])

	require.Eventually(t, func() bool {
		_, got = callAt(t, apiSrv.URL, http.MethodGet, "/batch/"+batchID, nil)
		return got["status"] == "completed"
	}, 2*time.Minute, 250*time.Millisecond, "batch never completed: %v", got)
	require.Equal(t, clip, stored(t, folder+"/Before Restart.mp4"))
	require.Equal(t, clip, stored(t, folder+"/After Restart.mp4"))
}
