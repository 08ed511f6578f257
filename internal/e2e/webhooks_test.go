//go:build integration

package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// standardWebhooksEnv names the directory holding node_modules/standardwebhooks
// (make tools installs it; the Makefile exports the variable).
const standardWebhooksEnv = "RIPTIDE_STANDARDWEBHOOKS_DIR"

// verifiedDelivery is one entry of the Node receiver's log.
type verifiedDelivery struct {
	ID         string   `json:"id"`
	Timestamp  string   `json:"timestamp"`
	Signatures int      `json:"signatures"`
	Verified   []int    `json:"verified"`
	Errors     []string `json:"errors"`
	Type       string   `json:"type"`
	Answered   int      `json:"answered"`
}

// startVerifier runs the Node receiver that checks signatures with the
// official Standard Webhooks library, and returns its base URL.
func startVerifier(t *testing.T, secrets []string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	dir := os.Getenv(standardWebhooksEnv)
	if err == nil && dir != "" {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json"))
	} else if err == nil {
		err = os.ErrNotExist
	}
	if err != nil {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("node and the standardwebhooks package (%s) are needed: %v; run make tools", standardWebhooksEnv, err)
		}
		t.Skipf("node or the standardwebhooks package missing: %v", err)
	}
	cmd := exec.Command(node, append([]string{"testdata/standardwebhooks-receiver.js"}, secrets...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "PORT ")
	require.True(t, ok, "receiver said %q", line)
	return "http://127.0.0.1:" + port
}

func verifierLog(t *testing.T, base string) []verifiedDelivery {
	t.Helper()
	resp, err := http.Get(base + "/log")
	require.NoError(t, err)
	defer resp.Body.Close()
	var log []verifiedDelivery
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&log))
	return log
}

// waitDone polls GET /jobs/{id} until the job has ended; the workflow ends
// only once its webhooks are delivered or given up on.
func waitDone(t *testing.T, id string) map[string]any {
	t.Helper()
	var job map[string]any
	require.Eventually(t, func() bool {
		_, job = call(t, http.MethodGet, "/jobs/"+id, nil)
		return job["completed_at"] != nil
	}, jobTimeout, 200*time.Millisecond)
	return job
}

// TestWebhooksVerifiedByStandardWebhooksLibrary: every delivery verifies
// with the official library under each of the two active secrets, the
// webhook-id is stable across a retry and distinct between events, the
// receiver's Retry-After is honoured, and every attempt is recorded.
func TestWebhooksVerifiedByStandardWebhooksLibrary(t *testing.T) {
	requireStack(t)
	t.Parallel()
	hook := startVerifier(t, testWebhookSecrets)
	id := submit(t, map[string]any{
		"url": stack.media + "/" + devstack.SampleMP4, "webhook_url": hook + "/hook", "enable_progress_webhook": true,
	})
	job := waitDone(t, id)
	require.Equal(t, "Completed", job["status"])

	log := verifierLog(t, hook)
	require.NotEmpty(t, log)
	ids := map[string]int{}
	for _, d := range log {
		require.Empty(t, d.Errors, "delivery %s", d.ID)
		require.Equal(t, []int{0, 1}, d.Verified, "both secrets verify delivery %s", d.ID)
		require.Equal(t, 2, d.Signatures)
		ids[d.ID]++
	}
	// Six events (five progress stages, then job_completed); only the
	// completion was answered 503 once and retried under the same id.
	require.Len(t, ids, 6, "distinct webhook-id per event")
	last := log[len(log)-1]
	require.Equal(t, "job_completed", last.Type)
	require.Equal(t, 200, last.Answered)
	require.Equal(t, 2, ids[last.ID], "the retry reuses the webhook-id")
	require.Equal(t, 503, log[len(log)-2].Answered)
	require.Equal(t, last.ID, log[len(log)-2].ID)

	status, hooks := call(t, http.MethodGet, "/jobs/"+id+"/webhooks", nil)
	require.Equal(t, http.StatusOK, status)
	events := hooks["webhooks"].([]any)
	require.Len(t, events, 6)
	completed := events[5].(map[string]any)
	require.Equal(t, "job_completed", completed["type"])
	require.Equal(t, "delivered", completed["status"])
	require.Equal(t, last.ID, completed["event_id"])
	attempts := completed["attempts"].([]any)
	require.Len(t, attempts, 2)
	first, second := attempts[0].(map[string]any), attempts[1].(map[string]any)
	require.EqualValues(t, 503, first["status_code"])
	require.EqualValues(t, 1, first["retry_after_seconds"])
	require.EqualValues(t, 200, second["status_code"])
	t1, err := time.Parse(time.RFC3339Nano, first["at"].(string))
	require.NoError(t, err)
	t2, err := time.Parse(time.RFC3339Nano, second["at"].(string))
	require.NoError(t, err)
	require.GreaterOrEqual(t, t2.Sub(t1), time.Second, "Retry-After honoured")

	ws := job["webhook_status"].(map[string]any)
	require.EqualValues(t, 6, ws["delivered"])
	require.EqualValues(t, 0, ws["failed"])
	require.EqualValues(t, 7, ws["attempts"])
	require.EqualValues(t, 200, ws["last_status_code"])

	// Redelivery: the same event again, same webhook-id, freshly signed.
	status, re := call(t, http.MethodPost, "/jobs/"+id+"/webhooks/"+last.ID+"/redeliver", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", re)
	require.Eventually(t, func() bool { return len(verifierLog(t, hook)) == len(log)+1 }, time.Minute, 100*time.Millisecond)
	again := verifierLog(t, hook)[len(log)]
	require.Equal(t, last.ID, again.ID)
	require.Equal(t, "job_completed", again.Type)
	require.Equal(t, []int{0, 1}, again.Verified)
	require.Equal(t, 200, again.Answered)
	require.Eventually(t, func() bool {
		_, hooks = call(t, http.MethodGet, "/jobs/"+id+"/webhooks", nil)
		r, _ := hooks["webhooks"].([]any)[5].(map[string]any)["redelivery"].(map[string]any)
		return r != nil && r["status"] == "delivered"
	}, time.Minute, 100*time.Millisecond)
	// Events the job never sent are not found.
	status, _ = call(t, http.MethodPost, "/jobs/"+id+"/webhooks/evt_"+id+"_job_failed/redeliver", nil)
	require.Equal(t, http.StatusNotFound, status)
	recordHistory(t, stack.temporal, "job_completed_webhook_retried", workflows.JobWorkflowID(id), "")
	recordHistory(t, stack.temporal, "redeliver_webhook", workflows.RedeliverWorkflowID(last.ID), "")
}
