//go:build integration

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// batchAPI serves an API of its own on the shared stack's Temporal and
// task queue, with a short reconciliation period and Spotify configured as
// the shared worker is.
func batchAPI(t *testing.T) string {
	t.Helper()
	guard, err := stack.cfg.Guard()
	require.NoError(t, err)
	srv := serve(api.NewRouter(api.Deps{
		Temporal: stack.temporal, TaskQueue: stack.cfg.Temporal.TaskQueue, Store: stack.store,
		Keys: []string{testAPIKey}, Guard: guard, BatchListWait: 20 * time.Second,
		BatchReconcileEvery: time.Second, SpotifyConfigured: stack.cfg.Spotify.Configured(),
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func post(t *testing.T, base, path string, body map[string]any) map[string]any {
	t.Helper()
	status, out := callAt(t, base, http.MethodPost, path, body)
	require.Equal(t, http.StatusCreated, status, "%v", out)
	return out
}

// waitBatchCompleted waits for batch_completed, then a little longer to be
// sure no second one follows.
func waitBatchCompleted(t *testing.T, r *receiver, within time.Duration) map[string]any {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.ofType("batch_completed")) > 0 }, within, 200*time.Millisecond, "no batch_completed")
	time.Sleep(2 * time.Second)
	done := r.ofType("batch_completed")
	ids := map[string]bool{}
	for _, d := range done {
		ids[d.EventID] = true
	}
	require.Len(t, ids, 1, "batch_completed is one event")
	return done[0].Body
}

// slowFeed serves a feed of n episodes; the media of those in hold answers
// only once release is closed (or the request is abandoned).
func slowFeed(t *testing.T, n int, hold func(i int) bool) (feedURL string, started chan int, release chan struct{}) {
	t.Helper()
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	started, release = make(chan int, 100), make(chan struct{})
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/show.rss" {
			w.Header().Set("Content-Type", "application/rss+xml")
			var b strings.Builder
			b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>`)
			for i := range n {
				fmt.Fprintf(&b, `<item><title>Slow %d</title><enclosure url="/ep/%d.mp4" type="video/mp4"/></item>`, i, i)
			}
			b.WriteString(`</channel></rss>`)
			_, _ = w.Write([]byte(b.String()))
			return
		}
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/ep/%d.mp4", &i); err != nil {
			http.NotFound(w, r)
			return
		}
		if hold(i) && r.Method == http.MethodGet {
			select {
			case started <- i:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(clip))
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		srv.Close()
	})
	return srv.URL + "/show.rss", started, release
}

// TestBatchCountsTerminatedEpisodeFailed terminates one running episode
// workflow by hand (it never reports to its batch): the batch's
// reconciliation finds it closed and counts it failed, and batch_completed
// arrives once with the others completed.
func TestBatchCountsTerminatedEpisodeFailed(t *testing.T) {
	requireStack(t)
	ctx := context.Background()
	base := batchAPI(t)
	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()
	feed, started, _ := slowFeed(t, 4, func(i int) bool { return i == 0 })

	created := post(t, base, "/batches", map[string]any{"show_url": feed, "webhook_url": hookSrv.URL + "/hook",
		"folder": "e2e/terminate-" + uuid.NewString()[:8]})
	batchID := created["batch_id"].(string)
	requireReferenceBatch(t, created, 4, "Slow %d")
	select {
	case <-started:
	case <-time.After(2 * time.Minute):
		t.Fatal("episode 0 never started downloading")
	}
	victim := workflows.EpisodeJobID(batchID, 0)
	require.NoError(t, stack.temporal.TerminateWorkflow(ctx, workflows.JobWorkflowID(victim), "", "terminated by the test"))

	b := waitBatchCompleted(t, hooks, 3*time.Minute)
	require.Equal(t, batchID, b["batch_id"])
	require.Equal(t, "finished", b["status"])
	require.Equal(t, float64(4), b["total_episodes"])
	require.Equal(t, float64(3), b["completed_episodes"])
	require.Equal(t, float64(1), b["failed_episodes"])
	require.Empty(t, hooks.forJob(victim), "a terminated job sends nothing")

	recordHistory(t, stack.temporal, "batch_reconciled_episode", workflows.BatchWorkflowID(batchID), "")
}

// TestCancelledBatchReportsEveryEpisodeFailed cancels a batch with three
// episodes downloading and three not started: batch_completed arrives once,
// status finished, every episode counted failed; the cancelled episodes
// send no job webhook of their own and read Cancelled.
func TestCancelledBatchReportsEveryEpisodeFailed(t *testing.T) {
	requireStack(t)
	ctx := context.Background()
	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()
	feed, started, _ := slowFeed(t, 6, func(int) bool { return true })

	guard, err := stack.cfg.Guard()
	require.NoError(t, err)
	// A window of 3, so three episodes never start.
	srv := serve(api.NewRouter(api.Deps{
		Temporal: stack.temporal, TaskQueue: stack.cfg.Temporal.TaskQueue, Store: stack.store,
		Keys: []string{testAPIKey}, Guard: guard, BatchListWait: 20 * time.Second, BatchWindow: 3,
		BatchReconcileEvery: time.Second,
	}))
	defer srv.Close()
	base := srv.URL
	created := post(t, base, "/batches", map[string]any{"show_url": feed, "webhook_url": hookSrv.URL + "/hook"})
	batchID := created["batch_id"].(string)
	for range 3 {
		select {
		case <-started:
		case <-time.After(2 * time.Minute):
			t.Fatal("episodes never started downloading")
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/batch/"+batchID, nil)
	req.Header.Set("x-api-key", testAPIKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusAccepted, res.StatusCode)

	b := waitBatchCompleted(t, hooks, 2*time.Minute)
	require.Equal(t, "finished", b["status"])
	require.Equal(t, float64(6), b["total_episodes"])
	require.Equal(t, float64(0), b["completed_episodes"])
	require.Equal(t, float64(6), b["failed_episodes"])
	for i := range 6 {
		jobID := workflows.EpisodeJobID(batchID, i)
		require.Empty(t, hooks.forJob(jobID), "episode %d: no job webhook for a cancelled episode", i)
		if i < 3 {
			v, err := jobs.Get(ctx, stack.temporal, jobID)
			require.NoError(t, err)
			require.Equal(t, jobs.StatusCancelled, v.Status, "episode %d", i)
		}
	}
}

// requireReferenceBatch checks a batch create answer has the hosted
// service's fields: episode_jobs (riptide's job_ids), episodes with job_id,
// url and title from the listing, paused false, status processing.
func requireReferenceBatch(t *testing.T, created map[string]any, n int, titleFormat string) {
	t.Helper()
	batchID := created["batch_id"].(string)
	require.Equal(t, "processing", created["status"], "%v", created)
	require.Equal(t, false, created["paused"])
	require.EqualValues(t, n, created["total_episodes"])
	require.Equal(t, created["job_ids"], created["episode_jobs"])
	eps, ok := created["episodes"].([]any)
	require.True(t, ok, "episodes is %T", created["episodes"])
	require.Len(t, eps, n)
	for i, e := range eps {
		ep := e.(map[string]any)
		require.Equal(t, workflows.EpisodeJobID(batchID, i), ep["job_id"])
		require.Equal(t, fmt.Sprintf(titleFormat, i), ep["title"])
		require.True(t, strings.HasSuffix(ep["url"].(string), fmt.Sprintf("/ep/%d.mp4", i)), "%v", ep)
	}
}
