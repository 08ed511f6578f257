//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// slowMedia serves the sample clip in chunks with a pause between them, so
// a download lasts about d.
func slowMedia(t *testing.T, d time.Duration) string {
	t.Helper()
	media, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	const chunks = 20
	step := (len(media) + chunks - 1) / chunks
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", fmt.Sprint(len(media)))
		for off := 0; off < len(media); off += step {
			if _, err := w.Write(media[off:min(off+step, len(media))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(d / chunks):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// transferWorkers returns, for each of Download, Mux and Upload, the
// identities of the workers that ran its attempts, from the job's history.
func transferWorkers(t *testing.T, jobID string) map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := stack.temporal.GetWorkflowHistory(ctx, workflows.JobWorkflowID(jobID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	names := map[int64]string{}
	ran := map[string][]string{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			names[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			switch name := names[a.GetScheduledEventId()]; name {
			case "Download", "Mux", "Upload":
				ran[name] = append(ran[name], a.GetIdentity())
			}
		}
	}
	return ran
}

// TestJobsSpreadOverWorkersAndChainsStayOnOne runs two worker processes,
// each with its own work directory and one job slot, on one task queue. Four
// overlapping jobs must use both workers, and each job's download, mux and
// upload must all run on the same one: the history records which worker
// started each activity.
func TestJobsSpreadOverWorkersAndChainsStayOnOne(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	queue := "riptide-scale-" + uuid.NewString()[:8]
	startWorkerProcess(t, bin, "worker-a", queue, "RIPTIDE_WORKER_CONCURRENCY=1")
	startWorkerProcess(t, bin, "worker-b", queue, "RIPTIDE_WORKER_CONCURRENCY=1")
	waitPollers(t, queue, 2)
	src := slowMedia(t, 2*time.Second)

	ids := make([]string, 4)
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i := range ids {
		ids[i] = uuid.NewString()
		// MKV: a remux, so each job runs all three transfer activities.
		run, err := jobs.Start(context.Background(), stack.temporal, queue,
			workflows.JobInput{JobID: ids[i], URL: fmt.Sprintf("%s/clip-%d.mp4", src, i), Folder: "e2e/scale", Format: "mkv"})
		require.NoError(t, err)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var st workflows.JobState
			if errs[i] = run.Get(ctx, &st); errs[i] == nil && st.Status != workflows.StatusCompleted {
				errs[i] = fmt.Errorf("job %s: %s %s", ids[i], st.Status, st.Error)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	used := map[string]bool{}
	for _, id := range ids {
		ran := transferWorkers(t, id)
		require.Len(t, ran["Download"], 1, "job %s: %v", id, ran)
		worker := ran["Download"][0]
		require.NotEmpty(t, worker)
		require.Equal(t, []string{worker}, ran["Mux"], "job %s: mux on the download's worker", id)
		require.Equal(t, []string{worker}, ran["Upload"], "job %s: upload on the download's worker", id)
		used[worker] = true
	}
	require.Len(t, used, 2, "four overlapping jobs on two one-slot workers use both: %v", used)
}

// waitPollers waits until n distinct workers poll queue for activities.
func waitPollers(t *testing.T, queue string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := stack.temporal.DescribeTaskQueue(context.Background(), queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false
		}
		ids := map[string]bool{}
		for _, p := range resp.GetPollers() {
			ids[p.GetIdentity()] = true
		}
		return len(ids) >= n
	}, time.Minute, 100*time.Millisecond, "%d workers never polled %s", n, queue)
}
