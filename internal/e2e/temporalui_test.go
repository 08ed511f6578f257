//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/pgtemporal"
	"github.com/riptide-dev/riptide/workflows"
)

// TestJobLinksToItsRunInTheTemporalUI runs the real Temporal Web UI server
// (temporalio/ui-server, the UI embedded) against the shared Temporal
// server, points an API at it and follows a finished job's
// temporal_ui_url: the UI serves the page, and the UI server's own API,
// asked for the namespace, workflow ID and run ID the link names, answers
// that very run of the job workflow, completed.
func TestJobLinksToItsRunInTheTemporalUI(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin, err := pgtemporal.Bin(pgtemporal.UIBinEnv, "temporal-ui-server")
	if err != nil {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "ui.log"))
	require.NoError(t, err)
	ui, err := pgtemporal.StartUI(ctx, pgtemporal.UIOptions{Bin: bin, Dir: dir,
		TemporalAddr: stack.cfg.Temporal.Address, Namespace: stack.cfg.Temporal.Namespace, Log: log})
	require.NoError(t, err)
	defer ui.Stop()

	cfg := *stack.cfg
	cfg.Temporal.UIURL = ui.URL() + "/"
	a, err := app.New(ctx, &cfg, log)
	require.NoError(t, err)
	defer a.Close()
	h, err := api.New(a)
	require.NoError(t, err)
	srv := serve(h)
	defer srv.Close()

	status, created := call(t, http.MethodPost, "/jobs", map[string]any{
		"url": stack.media + "/" + devstack.SampleMP4, "folder": "e2e/ui"})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	id := created["job_id"].(string)
	waitDone(t, id)
	status, job := callAt(t, srv.URL, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status, "%v", job)
	link, _ := job["temporal_ui_url"].(string)
	require.True(t, strings.HasPrefix(link, ui.URL()+"/namespaces/"), "temporal_ui_url %q", link)

	res, err := http.Get(link)
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", page)
	require.Contains(t, res.Header.Get("Content-Type"), "text/html")

	// /namespaces/{ns}/workflows/{workflow id}/{run id}/history
	parts := strings.Split(strings.TrimPrefix(link, ui.URL()+"/"), "/")
	require.Len(t, parts, 6, link)
	require.Equal(t, []string{"namespaces", "workflows", "history"}, []string{parts[0], parts[2], parts[5]}, link)
	ns, err := url.PathUnescape(parts[1])
	require.NoError(t, err)
	wid, err := url.PathUnescape(parts[3])
	require.NoError(t, err)
	rid, err := url.PathUnescape(parts[4])
	require.NoError(t, err)
	require.Equal(t, stack.cfg.Temporal.Namespace, ns)

	describe := ui.URL() + "/api/v1/namespaces/" + url.PathEscape(ns) + "/workflows/" + url.PathEscape(wid) +
		"?execution.runId=" + url.QueryEscape(rid)
	res, err = http.Get(describe)
	require.NoError(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	var d struct {
		WorkflowExecutionInfo struct {
			Execution struct{ WorkflowID, RunID string }
			Type      struct{ Name string }
			Status    string
		}
	}
	require.NoError(t, json.Unmarshal(body, &d), "%s", body)
	info := d.WorkflowExecutionInfo
	require.Equal(t, wid, info.Execution.WorkflowID, "%s", body)
	require.Equal(t, rid, info.Execution.RunID, "%s", body)
	require.Equal(t, workflows.JobWorkflowType, info.Type.Name, "%s", body)
	require.Equal(t, "WORKFLOW_EXECUTION_STATUS_COMPLETED", info.Status, "%s", body)
}
