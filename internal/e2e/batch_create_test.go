//go:build integration

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// TestCreateBatchAnswersWithTheListOrLater drives POST /batches on the real
// server, where it is one update-with-start call: a source that cannot be
// listed is a 422 at once; a feed slower than the API's wait is a 201
// without the list, and the one batch it started lists it and completes.
func TestCreateBatchAnswersWithTheListOrLater(t *testing.T) {
	requireStack(t)
	t.Parallel()
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Slow", 1, 0)
	defer feed.Close()
	feedURL, err := url.Parse(feed.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(feedURL)
	slow := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			time.Sleep(2 * time.Second) // longer than the API waits
		}
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	guard, err := stack.cfg.Guard()
	require.NoError(t, err)
	srv := serve(api.NewRouter(api.Deps{
		Temporal: stack.temporal, TaskQueue: stack.cfg.Temporal.TaskQueue, Store: stack.store,
		Keys: []string{testAPIKey}, Guard: guard, BatchListWait: 500 * time.Millisecond,
	}))
	defer srv.Close()
	create := func(showURL string) (int, map[string]any) {
		return callAt(t, srv.URL, http.MethodPost, "/batches",
			map[string]any{"show_url": showURL, "folder": "e2e/create-" + uuid.NewString()[:8]})
	}

	status, out := create(feed.URL + "/missing.xml")
	require.Equal(t, http.StatusUnprocessableEntity, status, "%v", out)
	require.Equal(t, "unreadable_source", out["code"])
	require.Equal(t, "show_url", out["field"])
	require.Contains(t, out["message"], "404")

	status, out = create(slow.URL + "/feed.xml")
	require.Equal(t, http.StatusCreated, status, "%v", out)
	require.Equal(t, "processing", out["status"])
	require.Equal(t, "resolving", out["riptide_status"])
	require.Equal(t, false, out["paused"])
	require.Nil(t, out["total_episodes"])
	require.Nil(t, out["job_ids"])
	require.Nil(t, out["episode_jobs"])
	batchID := out["batch_id"].(string)
	var got map[string]any
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/batches/"+batchID, nil)
		req.Header.Set("x-api-key", testAPIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		got = nil
		return json.NewDecoder(res.Body).Decode(&got) == nil && got["status"] == "completed"
	}, 2*time.Minute, 200*time.Millisecond, "batch %s never completed: %v", batchID, got)
	require.Equal(t, float64(1), got["total_episodes"])
	require.Equal(t, float64(1), got["completed_episodes"])
	require.Equal(t, batchID, got["id"])
	require.Equal(t, []any{workflows.EpisodeJobID(batchID, 0)}, got["episode_jobs"])

	// One workflow run: the start sent again after the wait joined it.
	runs, err := stack.temporal.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowId = '" + workflows.BatchWorkflowID(batchID) + "'"})
	require.NoError(t, err)
	require.Len(t, runs.GetExecutions(), 1)
	// It came with the listed update, which the batch answered once the
	// list was known, though the caller had stopped waiting.
	var updates []enumspb.EventType
	it := stack.temporal.GetWorkflowHistory(t.Context(), workflows.BatchWorkflowID(batchID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			updates = append(updates, ev.GetEventType())
		}
	}
	require.Equal(t, []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}, updates)
	recordHistory(t, stack.temporal, "batch_listed_update", workflows.BatchWorkflowID(batchID), "")
}
