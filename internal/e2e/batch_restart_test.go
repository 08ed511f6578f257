//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// restartEpisodes is the size of the restart test's feed.
const restartEpisodes = 50

// TestBatchSurvivesWorkerAndTemporalCrashes runs a 50-episode podcast feed
// as one batch on its own Temporal server (the dev server, or the server on
// PostgreSQL with RIPTIDE_TEMPORAL_BACKEND=postgres), kills the worker
// process with SIGKILL, later kills the Temporal server with SIGKILL and
// restarts it on the same database and port (on PostgreSQL, then kills and
// restarts PostgreSQL itself, a cluster of the test's own), and checks that nothing was
// lost or doubled: one object per episode with the size its job reported, one terminal event
// identity per episode, one batch_completed with the right counts, and no
// failed workflow.
func TestBatchSurvivesWorkerAndTemporalCrashes(t *testing.T) {
	requireStack(t)
	t.Parallel()
	ctx := context.Background()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")

	// A Temporal server of its own: the shared one must survive.
	dir := t.TempDir()
	tlog, err := os.Create(filepath.Join(dir, "temporal.log"))
	require.NoError(t, err)
	tp, err := startTemporalOwnDatabase(ctx, dir, tlog)
	require.NoError(t, err)
	t.Cleanup(func() { tp.Stop() })
	addr := tp.Addr()

	// One small clip served under 50 paths, and a feed listing them.
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	// Slow enough that the crashes land while episodes are in flight.
	feed := serveClipFeed(clip, "Restart", restartEpisodes, 150*time.Millisecond)
	defer feed.Close()

	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()
	queue := "riptide-batch-" + uuid.NewString()[:8]
	// The API on the production wiring, against this test's own server.
	cfg := *stack.cfg
	cfg.Temporal.Address, cfg.Temporal.TaskQueue = addr, queue
	cfg.Batch.Window, cfg.Batch.PageSize, cfg.Batch.ListWait = 8, 15, 10*time.Second
	a, err := app.New(ctx, &cfg, tlog)
	require.NoError(t, err)
	defer a.Close()
	tc := a.Temporal
	h, err := api.New(a)
	require.NoError(t, err)
	apiSrv := serve(h)
	defer apiSrv.Close()

	workerEnv := []string{"RIPTIDE_TEMPORAL_ADDRESS=" + addr, "RIPTIDE_WORKER_CONCURRENCY=4"}
	first := startWorkerProcess(t, bin, "batch-worker-a", queue, workerEnv...)

	folder := "e2e/restart-" + uuid.NewString()[:8]
	body, _ := json.Marshal(map[string]any{"show_url": feed.URL + "/feed.xml", "webhook_url": hookSrv.URL + "/hook", "folder": folder})
	req, _ := http.NewRequest(http.MethodPost, apiSrv.URL+"/batches", bytes.NewReader(body))
	req.Header.Set("x-api-key", testAPIKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var created struct {
		BatchID       string   `json:"batch_id"`
		TotalEpisodes *int     `json:"total_episodes"`
		JobIDs        []string `json:"job_ids"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&created))
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
	require.NotNil(t, created.TotalEpisodes, "the feed is listed within the wait")
	require.Equal(t, restartEpisodes, *created.TotalEpisodes)
	require.Len(t, created.JobIDs, restartEpisodes)

	// Crash the worker once a few episodes are done, then the server.
	waitTerminals(t, hooks, 8, 2*time.Minute)
	first.Kill()
	t.Log("worker killed")
	startWorkerProcess(t, bin, "batch-worker-b", queue, workerEnv...)
	waitTerminals(t, hooks, 25, 3*time.Minute)
	tp.Kill()
	t.Log("temporal killed")
	require.NoError(t, tp.Restart(ctx))
	t.Log("temporal restarted")
	if db, ok := tp.(databaseCrasher); ok {
		// On PostgreSQL, crash the database too while episodes run, then
		// roll the Temporal server once the database is back, as README's
		// runbook says: temporal-server v1.32.1 can leave a history shard
		// acquiring for good after its database crashed (its activity
		// dispatches and visibility records stall; the other shards
		// recover in seconds), and a restart reloads it from the database.
		waitTerminals(t, hooks, 35, 3*time.Minute)
		db.KillDatabase()
		t.Log("postgresql killed")
		time.Sleep(3 * time.Second)
		require.NoError(t, db.RestartDatabase(ctx))
		t.Log("postgresql restarted")
		time.Sleep(10 * time.Second)
		require.NoError(t, db.RollServer(ctx))
		t.Log("temporal rolled")
	}

	// The end: batch_completed, once, with every episode completed.
	var done []delivery
	if !assert.Eventually(t, func() bool {
		done = hooks.ofType("batch_completed")
		return len(done) > 0
	}, 3*time.Minute, 200*time.Millisecond, "no batch_completed") {
		dumpStall(t, tc, workflows.BatchWorkflowID(created.BatchID))
		t.FailNow()
	}
	b := done[0].Body
	if b["status"] != "completed" {
		for i, id := range created.JobIDs {
			if v, err := jobs.Get(ctx, tc, id); err != nil || v.Status != workflows.StatusCompleted {
				t.Errorf("episode %d (%s): %+v %v", i, id, v, err)
			}
		}
	}
	require.Equal(t, created.BatchID, b["batch_id"])
	require.Equal(t, "completed", b["status"])
	require.Equal(t, float64(restartEpisodes), b["total_episodes"])
	require.Equal(t, float64(restartEpisodes), b["completed_episodes"])
	require.Equal(t, float64(0), b["failed_episodes"])
	require.Equal(t, folder, b["folder"])
	for _, d := range done {
		require.Equal(t, done[0].EventID, d.EventID, "batch_completed is one event (redeliveries keep its id)")
	}

	// Every episode: one terminal event identity, its object stored once
	// with the size its job reported.
	objects := listSizes(t, folder+"/")
	require.Len(t, objects, restartEpisodes, "one object per episode")
	for i, jobID := range created.JobIDs {
		require.Equal(t, workflows.EpisodeJobID(created.BatchID, i), jobID)
		var ids = map[string]bool{}
		var completed delivery
		for _, d := range hooks.forJob(jobID) {
			switch d.Body["type"] {
			case "job_completed", "job_failed", "job_skipped":
				ids[d.EventID] = true
				completed = d
			}
		}
		require.Len(t, ids, 1, "episode %d: terminal event ids %v", i, ids)
		require.Equal(t, "job_completed", completed.Body["type"])
		require.Equal(t, fmt.Sprintf("Restart Episode %d", i), completed.Body["title"], "feed metadata")
		key := completed.Body["key"].(string)
		size, ok := objects[key]
		require.True(t, ok, "episode %d object %s", i, key)
		require.Equal(t, completed.Body["file_size_bytes"], float64(size))
		v, err := jobs.Get(ctx, tc, jobID)
		require.NoError(t, err)
		require.Equal(t, workflows.StatusCompleted, v.Status)
	}

	// No workflow failed, and the batch continued as new along the way.
	list := func(query string) []string {
		var ids []string
		var token []byte
		for {
			resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
			require.NoError(t, err)
			for _, e := range resp.GetExecutions() {
				ids = append(ids, e.GetExecution().GetWorkflowId()+"/"+e.GetStatus().String())
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				return ids
			}
		}
	}
	if !assert.Eventually(t, func() bool {
		return len(list(`WorkflowType = "Job" AND ExecutionStatus = "Completed"`)) == restartEpisodes
	}, time.Minute, 500*time.Millisecond, "visibility lists every job completed") {
		t.Logf("not completed in visibility: %v", list(`WorkflowType = "Job" AND ExecutionStatus != "Completed"`))
		t.FailNow()
	}
	require.Empty(t, list(`ExecutionStatus != "Completed" AND ExecutionStatus != "ContinuedAsNew"`))
	runs := list(fmt.Sprintf(`WorkflowId = %q`, workflows.BatchWorkflowID(created.BatchID)))
	require.GreaterOrEqual(t, len(runs), 3, "the batch continued as new: %v", runs)
	desc, err := tc.DescribeWorkflow(ctx, workflows.BatchWorkflowID(created.BatchID), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.RawResponse.GetWorkflowExecutionInfo().GetStatus())

	// GET /usage (this server holds only this batch) counts every episode
	// once and the bytes the bucket holds, whatever crashed on the way.
	var stored int64
	for _, n := range objects {
		stored += n
	}
	var usage map[string]any
	require.Eventually(t, func() bool {
		var status int
		status, usage = callAt(t, apiSrv.URL, http.MethodGet, "/usage", nil)
		return status == http.StatusOK && usage["usage_count"] == float64(restartEpisodes) &&
			usage["storage_usage_bytes"] == float64(stored)
	}, time.Minute, time.Second, "usage matches the bucket (%d objects, %d bytes): %v", restartEpisodes, stored, usage)

	recordBatchHistories(t, tc, created.BatchID, created.JobIDs[0])
}

// recordBatchHistories records the batch's first run, its last (a run
// continued as new) and one episode's history.
func recordBatchHistories(t *testing.T, tc client.Client, batchID, jobID string) {
	t.Helper()
	if os.Getenv(recordHistoriesEnv) == "" {
		return
	}
	wid := workflows.BatchWorkflowID(batchID)
	resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf(`WorkflowId = %q`, wid)})
	require.NoError(t, err)
	execs := resp.GetExecutions()
	slices.SortFunc(execs, func(a, b *workflowpb.WorkflowExecutionInfo) int {
		return a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime())
	})
	recordHistory(t, tc, "batch_first_run", wid, execs[0].GetExecution().GetRunId())
	recordHistory(t, tc, "batch_continued_as_new", wid, execs[len(execs)-1].GetExecution().GetRunId())
	recordHistory(t, tc, "job_batch_episode", workflows.JobWorkflowID(jobID), "")
}

// waitTerminals waits until n distinct episodes have a terminal webhook.
func waitTerminals(t *testing.T, r *receiver, n int, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.terminalJobs()) >= n }, within, 100*time.Millisecond,
		"fewer than %d episodes ended", n)
}

func (r *receiver) terminalJobs() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for _, d := range r.got {
		switch d.Body["type"] {
		case "job_completed", "job_failed", "job_skipped":
			out[d.Body["job_id"].(string)] = true
		}
	}
	return out
}

func (r *receiver) ofType(typ string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.Body["type"] == typ {
			out = append(out, d)
		}
	}
	return out
}

// listSizes maps every key under prefix to its size.
func listSizes(t *testing.T, prefix string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(stack.store.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(stack.cfg.S3.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	return out
}

// quiet drops the SDK client's logs (its reconnect warnings while the
// server is down are expected).
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
