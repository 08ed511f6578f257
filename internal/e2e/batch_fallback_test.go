//go:build integration

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/worker"
	"github.com/riptide-dev/riptide/workflows"
)

// TestCreateBatchFallsBackWhenUpdateWithStartIsOff runs POST /batches on a
// dev server whose dynamic config turns update-with-start off
// (frontend.enableExecuteMultiOperation=false, the default of many
// releases): the server refuses the call, and the API starts the batch and
// polls it instead, answering the same 201 with the episode list; the batch
// completes. temporal-server v1.32 (the PostgreSQL backend) has no such
// switch any more, so the test runs on the dev server only.
func TestCreateBatchFallsBackWhenUpdateWithStartIsOff(t *testing.T) {
	requireStack(t)
	if onPostgres() {
		t.Skip("temporal-server v1.32 has no frontend.enableExecuteMultiOperation switch")
	}
	t.Parallel()
	ctx := context.Background()
	bin, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
	require.NoError(t, err)
	port, err := devstack.FreePort()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "temporal.log"))
	require.NoError(t, err)
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--headless",
		"--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "warn",
		"--dynamic-config-value", "frontend.enableExecuteMultiOperation=false"}
	for _, name := range workflows.SearchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var tc client.Client
	require.Eventually(t, func() bool {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: quiet{}})
		if err != nil {
			return false
		}
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			c.Close()
			return false
		}
		tc = c
		return true
	}, 2*time.Minute, 200*time.Millisecond, "dev server on %s", addr)
	defer tc.Close()

	// The switch is really off: update-with-start is refused (with it on,
	// the probe would wait for a worker that never comes).
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op := tc.NewWithStartWorkflowOperation(client.StartWorkflowOptions{ID: "probe-" + uuid.NewString(), TaskQueue: "probe",
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}, "Probe")
	_, err = tc.UpdateWithStartWorkflow(pctx, client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: "probe", WaitForStage: client.WorkflowUpdateStageCompleted}})
	var denied *serviceerror.PermissionDenied
	require.True(t, errors.As(err, &denied), "update-with-start must be refused: %v", err)

	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Fallback", 2, 0)
	defer feed.Close()
	cfg := *stack.cfg
	cfg.Temporal.Address, cfg.Temporal.TaskQueue = addr, "riptide-fallback-"+uuid.NewString()[:8]
	cfg.Worker.WorkDir = filepath.Join(dir, "work")
	cfg.Batch.Window, cfg.Batch.PageSize, cfg.Batch.ListWait = 2, 10, 20*time.Second
	a, err := app.New(ctx, &cfg, log)
	require.NoError(t, err)
	defer a.Close()
	w, err := worker.New(a)
	require.NoError(t, err)
	require.NoError(t, w.Start())
	defer w.Stop()
	h, err := api.New(a)
	require.NoError(t, err)
	srv := serve(h)
	defer srv.Close()

	status, out := callAt(t, srv.URL, http.MethodPost, "/batches",
		map[string]any{"show_url": feed.URL + "/feed.xml", "folder": "e2e/fallback-" + uuid.NewString()[:8]})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	require.Equal(t, float64(2), out["total_episodes"], "the list, polled within the wait: %v", out)
	require.Len(t, out["job_ids"], 2, "%v", out)
	batchID := out["batch_id"].(string)
	var got map[string]any
	require.Eventually(t, func() bool {
		_, got = callAt(t, srv.URL, http.MethodGet, "/batches/"+batchID, nil)
		return got["status"] == "completed"
	}, 2*time.Minute, 200*time.Millisecond, "batch %s never completed: %v", batchID, got)
	require.Equal(t, float64(2), got["completed_episodes"], "%v", got)
	require.Equal(t, float64(0), got["failed_episodes"], "%v", got)
}
