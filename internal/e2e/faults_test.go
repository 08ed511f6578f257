//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// webhookEvent finds the job's delivery record of one event type in GET
// /jobs/{id}/webhooks.
func webhookEvent(t *testing.T, jobID, typ string) map[string]any {
	t.Helper()
	status, body := call(t, http.MethodGet, "/jobs/"+jobID+"/webhooks", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	events, _ := body["webhooks"].([]any)
	for _, e := range events {
		if ev := e.(map[string]any); ev["type"] == typ {
			return ev
		}
	}
	return nil
}

// TestFaultWebhookReceiverDown: the receiver refuses connections (its port
// closed, as a crashed or redeploying service) for longer than every
// delivery attempt riptide makes (4 attempts, 2 s doubling backoff: about
// 15 s). The job still ends Completed, the delivery log says failed with
// each attempt's error, nothing reached the receiver, and once it is back a
// redelivery arrives under the same webhook-id with the same body.
func TestFaultWebhookReceiverDown(t *testing.T) {
	requireStack(t)
	t.Parallel()
	started := time.Now()
	hooks := &receiver{}
	srv := serve(hooks)
	defer srv.Close()
	proxy := newFaultProxy(t, srv.Listener.Addr().String())
	proxy.Set(refuse)
	down := time.Now()

	id := submit(t, map[string]any{"url": stack.media + "/" + devstack.SampleMP4, "webhook_url": proxy.URL() + "/hook"})

	// While it retries, the log shows the event pending with its attempts.
	var pendingSeen int
	require.Eventually(t, func() bool {
		ev := webhookEvent(t, id, "job_completed")
		if ev == nil {
			return false
		}
		if ev["status"] == "pending" && len(ev["attempts"].([]any)) > 0 {
			pendingSeen = len(ev["attempts"].([]any))
		}
		return ev["status"] != "pending"
	}, jobTimeout, 100*time.Millisecond, "the delivery never ended")
	require.Positive(t, pendingSeen, "the log showed the delivery pending between attempts")

	job := waitDone(t, id)
	require.Equal(t, "Completed", job["status"], "a receiver that is down fails no job")
	ev := webhookEvent(t, id, "job_completed")
	require.Equal(t, "failed", ev["status"])
	attempts := ev["attempts"].([]any)
	require.Len(t, attempts, 4, "every attempt was made and recorded")
	for i, a := range attempts {
		at := a.(map[string]any)
		require.NotEmpty(t, at["error"], "attempt %d says why", i)
		require.Nil(t, at["status_code"], "attempt %d got no answer", i)
		require.Equal(t, false, at["delivered"])
	}
	first, _ := time.Parse(time.RFC3339Nano, attempts[0].(map[string]any)["at"].(string))
	last, _ := time.Parse(time.RFC3339Nano, attempts[3].(map[string]any)["at"].(string))
	ws := job["webhook_status"].(map[string]any)
	require.EqualValues(t, 1, ws["failed"])
	require.EqualValues(t, 0, ws["delivered"])
	require.EqualValues(t, 4, ws["attempts"])
	require.Empty(t, hooks.forJob(id), "nothing reached the receiver")

	// The receiver is back: a redelivery arrives under the same id.
	proxy.Set(pass)
	outage := time.Since(down)
	eventID := ev["event_id"].(string)
	status, re := call(t, http.MethodPost, "/jobs/"+id+"/webhooks/"+eventID+"/redeliver", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", re)
	require.Eventually(t, func() bool { return len(hooks.forJob(id)) == 1 }, time.Minute, 100*time.Millisecond, "no redelivery")
	got := hooks.forJob(id)[0]
	require.Equal(t, eventID, got.EventID, "the same webhook-id")
	require.Equal(t, "job_completed", got.Body["type"])
	require.Equal(t, id, got.Body["job_id"])
	require.Eventually(t, func() bool {
		r, _ := webhookEvent(t, id, "job_completed")["redelivery"].(map[string]any)
		return r != nil && r["status"] == "delivered"
	}, time.Minute, 100*time.Millisecond, "the log shows the redelivery delivered")
	require.Len(t, hooks.forJob(id), 1, "one redelivery, one request")
	t.Logf("receiver refused connections for %s; 4 attempts over %s (last seen pending after %d of them; last error %q); redelivered under %s; wall %s",
		outage.Round(time.Second), last.Sub(first).Round(100*time.Millisecond), pendingSeen, attempts[3].(map[string]any)["error"], eventID, time.Since(started).Round(time.Second))
}

// s3OutageLength is how long S3 refuses connections in
// TestFaultS3Unavailable: the two minutes, well past the first
// several upload retries (2 s, 4 s, 8 s, 16 s, 32 s, then a minute apart).
const s3OutageLength = 2 * time.Minute

// s3OutageEpisodes is the size of the outage test's feed.
const s3OutageEpisodes = 6

// queueAPI serves the API on the production wiring for its own task queue,
// against the shared Temporal server and S3.
func queueAPI(t *testing.T, queue string) string {
	t.Helper()
	cfg := *stack.cfg
	cfg.Temporal.TaskQueue = queue
	cfg.Batch.Window, cfg.Batch.ListWait = 4, 10*time.Second
	a, err := app.New(context.Background(), &cfg, io.Discard)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	h, err := api.New(a)
	require.NoError(t, err)
	srv := serve(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// createdBatch is the answer to POST /batches.
type createdBatch struct {
	BatchID       string   `json:"batch_id"`
	TotalEpisodes *int     `json:"total_episodes"`
	JobIDs        []string `json:"job_ids"`
}

func createBatch(t *testing.T, apiURL string, body map[string]any) createdBatch {
	t.Helper()
	status, resp := callAt(t, apiURL, http.MethodPost, "/batches", body)
	require.Equal(t, http.StatusCreated, status, "%v", resp)
	b, err := json.Marshal(resp)
	require.NoError(t, err)
	var c createdBatch
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

// gatedFeed serves an RSS feed at /feed.xml of n episodes, each the file
// at media; episodes from open on wait until gate is closed.
func gatedFeed(t *testing.T, media string, show string, n, open int, gate <-chan struct{}) string {
	t.Helper()
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			w.Header().Set("Content-Type", "application/rss+xml")
			var b strings.Builder
			fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0"><channel><title>%s Show</title>`, show)
			for i := range n {
				fmt.Fprintf(&b, `<item><title>%s Episode %d</title><pubDate>Mon, 19 Jan 2026 06:%02d:00 GMT</pubDate>`+
					`<enclosure url="/ep/%d.mp4" type="video/mp4"/></item>`, show, i, i, i)
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
		if i >= open {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		http.ServeFile(w, r, media)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/feed.xml"
}

// activityAttempts is the highest attempt of each activity type the
// workflow ran, from its history.
func activityAttempts(t *testing.T, workflowID string) map[string]int32 {
	t.Helper()
	types := map[int64]string{}
	out := map[string]int32{}
	it := stack.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[e.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			typ := types[a.GetScheduledEventId()]
			out[typ] = max(out[typ], a.GetAttempt())
		}
	}
	return out
}

// batchCompletedOnce waits for the batch's batch_completed webhook and
// checks it is one event (redeliveries keep its id) counting every episode
// completed.
func batchCompletedOnce(t *testing.T, hooks *receiver, batchID, folder string, episodes int, within time.Duration) {
	t.Helper()
	var done []delivery
	require.Eventually(t, func() bool {
		done = hooks.ofType("batch_completed")
		return len(done) > 0
	}, within, 200*time.Millisecond, "no batch_completed")
	b := done[0].Body
	require.Equal(t, batchID, b["batch_id"])
	require.Equal(t, "completed", b["status"], "%v", b)
	require.Equal(t, float64(episodes), b["total_episodes"])
	require.Equal(t, float64(episodes), b["completed_episodes"])
	require.Equal(t, float64(0), b["failed_episodes"])
	require.Equal(t, folder, b["folder"])
	for _, d := range done {
		require.Equal(t, done[0].EventID, d.EventID, "batch_completed is one event")
	}
}

// TestFaultS3Unavailable: S3 refuses every connection for s3OutageLength
// while a batch uploads (the outage starts once a multipart upload is under
// way, cutting it; the other episodes download meanwhile and meet the
// outage when they upload). Uploads retry; no episode fails, every object
// holds the source's bytes, and no multipart upload is left behind, not even
// the one cut by the outage whose abort could not reach S3.
func TestFaultS3Unavailable(t *testing.T) {
	requireStack(t)
	t.Parallel()
	started := time.Now()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	media := bigMedia(t, t.TempDir())
	want, err := os.ReadFile(media)
	require.NoError(t, err)
	s3 := newFaultProxy(t, strings.TrimPrefix(stack.cfg.S3.Endpoint, "http://"))
	gate := make(chan struct{})
	feed := gatedFeed(t, media, "Outage", s3OutageEpisodes, 1, gate)
	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()

	queue := "riptide-s3-outage-" + uuid.NewString()[:8]
	apiURL := queueAPI(t, queue)
	startWorkerProcess(t, bin, "s3-outage-worker", queue, "RIPTIDE_S3_ENDPOINT="+s3.URL(), "RIPTIDE_WORKER_CONCURRENCY=4")
	folder := "e2e/s3-outage-" + uuid.NewString()[:8]
	created := createBatch(t, apiURL, map[string]any{"show_url": feed, "webhook_url": hookSrv.URL + "/hook", "folder": folder})
	require.NotNil(t, created.TotalEpisodes)
	require.Equal(t, s3OutageEpisodes, *created.TotalEpisodes)

	// Mid-upload: S3 goes away, and the other episodes start downloading.
	require.Eventually(t, func() bool {
		_, uploads := objectsUnder(t, folder+"/")
		return uploads > 0
	}, 2*time.Minute, 50*time.Millisecond, "no upload started")
	s3.Set(refuse)
	close(gate)
	time.Sleep(s3OutageLength)
	s3.Set(pass)

	batchCompletedOnce(t, hooks, created.BatchID, folder, s3OutageEpisodes, 5*time.Minute)
	objects := listSizes(t, folder+"/")
	require.Len(t, objects, s3OutageEpisodes, "one object per episode")
	retries := 0
	for i, id := range created.JobIDs {
		var ids = map[string]bool{}
		var completed delivery
		for _, d := range hooks.forJob(id) {
			switch d.Body["type"] {
			case "job_completed", "job_failed", "job_skipped":
				ids[d.EventID] = true
				completed = d
			}
		}
		require.Len(t, ids, 1, "episode %d: one terminal event", i)
		require.Equal(t, "job_completed", completed.Body["type"], "episode %d: %v", i, completed.Body)
		key := completed.Body["key"].(string)
		require.Equal(t, want, stored(t, key), "episode %d: the source byte for byte", i)
		retries += int(activityAttempts(t, workflows.JobWorkflowID(id))[workflows.Upload.Name()] - 1)
	}
	_, uploads := objectsUnder(t, folder+"/")
	require.Zero(t, uploads, "no multipart upload left behind")
	require.Positive(t, retries, "the outage made uploads retry")
	t.Logf("S3 refused connections for %s; %d episodes of %d bytes, %d upload retries in all; wall %s",
		s3OutageLength, s3OutageEpisodes, len(want), retries, time.Since(started).Round(time.Second))
}

// uploadCompletions lists the identities of the workers whose Upload
// completions the server accepted into the workflow's history.
func uploadCompletions(t *testing.T, workflowID string) []string {
	t.Helper()
	uploads := map[int64]bool{}
	var out []string
	it := stack.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflows.Upload.Name() {
			uploads[e.GetEventId()] = true
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && uploads[a.GetScheduledEventId()] {
			out = append(out, a.GetIdentity())
		}
	}
	return out
}

// workerLog reads the log of the test's worker process name
// (startWorkerProcess writes it into one of the test's temporary
// directories).
func workerLog(t *testing.T, name string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", name+".log"))
	require.NoError(t, err)
	require.Len(t, paths, 1, "the log of %s", name)
	b, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	return string(b)
}

// slowS3 is the test S3 server behind a proxy that sends the body of every
// part upload at about n bytes each 100 ms.
func slowS3(n int) *httptest.Server {
	target, err := url.Parse(stack.cfg.S3.Endpoint)
	if err != nil {
		panic(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	return serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
			r.Body = &slowReader{r: r.Body, n: n, tick: 100 * time.Millisecond}
		}
		rp.ServeHTTP(w, r)
	}))
}

// TestFaultWorkerPartitionedFromTemporal: the worker uploading a job loses
// Temporal mid-upload — its connection through a proxy black-holed, as a
// partition that drops packets — for longer than the heartbeat timeout.
// Unaware, it finishes its upload and removes the job's files; its
// completion cannot reach the server, which times the attempt out
// (heartbeat) and schedules a retry on that worker's queue. The partition
// heals while the worker still retries its completion: the server refuses
// it (the worker logs why; the history holds only the second worker's
// completion), the retry finds the files
// gone, and the workflow runs the chain again on a second worker. The job
// completes once, its one object holds the source's bytes (written twice,
// the same bytes both times), and neither worker keeps a file of it.
func TestFaultWorkerPartitionedFromTemporal(t *testing.T) {
	requireStack(t)
	t.Parallel()
	started := time.Now()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	dir := t.TempDir()
	media := bigMedia(t, dir)
	want, err := os.ReadFile(media)
	require.NoError(t, err)
	var requests atomic.Int32
	files := http.FileServer(http.Dir(dir))
	src := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer src.Close()
	// About 1.3 MB/s over two parts in flight: the upload takes seconds,
	// long enough to be cut, short enough to end inside the partition.
	s3 := slowS3(64 << 10)
	defer s3.Close()
	temporal := newFaultProxy(t, stack.cfg.Temporal.Address)

	queue := "riptide-partition-" + uuid.NewString()[:8]
	workA := filepath.Join(t.TempDir(), "work-a")
	first := startWorkerProcess(t, bin, "worker-a", queue, "RIPTIDE_TEMPORAL_ADDRESS="+temporal.Addr(),
		"RIPTIDE_S3_ENDPOINT="+s3.URL, "RIPTIDE_WORKER_WORK_DIR="+workA)
	folder := "e2e/partition-" + uuid.NewString()[:8]
	in := workflows.JobInput{JobID: uuid.NewString(), URL: src.URL + "/big.mp4", WebhookURL: stack.hookURL, Folder: folder}
	run, err := jobs.Start(context.Background(), stack.temporal, queue, in)
	require.NoError(t, err)
	jobDirA := filepath.Join(workA, in.JobID)

	require.Eventually(t, func() bool {
		_, uploads := objectsUnder(t, folder+"/")
		return uploads > 0
	}, 2*time.Minute, 50*time.Millisecond, "the upload never started")
	temporal.Set(blackHole)
	cut := time.Now()
	startWorkerProcess(t, bin, "worker-b", queue)

	// The server times the attempt out (heartbeat) and retries it on the
	// first worker's queue, where the retry waits 30 s to start: watched
	// from the cut, since on a loaded machine the first worker's upload
	// can end after that window.
	timedOutCh := make(chan string, 1)
	watch, stopWatch := context.WithTimeout(context.Background(), 6*time.Minute)
	defer stopWatch()
	go func() {
		for watch.Err() == nil {
			desc, err := stack.temporal.DescribeWorkflow(watch, workflows.JobWorkflowID(in.JobID), "")
			if err == nil {
				for _, pa := range desc.RawResponse.GetPendingActivities() {
					if pa.GetActivityType().GetName() == workflows.Upload.Name() && pa.GetAttempt() >= 2 {
						timedOutCh <- decodedFailure(pa.GetLastFailure()).GetMessage()
						return
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	// The first worker, unaware, finishes its upload and removes its
	// files, its completion stuck in the partition. The partition heals
	// while the worker still retries its completion, which now reaches a
	// server that has moved on.
	// The throttled upload of the lossless source (tens of MB at about
	// 1.3 MB/s) took over two minutes once, with the whole suite running.
	require.Eventually(t, func() bool {
		_, err := os.Stat(jobDirA)
		return os.IsNotExist(err)
	}, 5*time.Minute, 100*time.Millisecond, "the first worker's upload never ended")
	var timedOut string
	select {
	case timedOut = <-timedOutCh:
	case <-watch.Done():
		t.Fatal("the server never timed the partitioned upload out")
	}
	temporal.Set(pass)
	partition := time.Since(cut)

	// The job moves on: the first worker no longer has the files for the
	// retry, and the chain runs again on the second worker.
	st := completedOnce(t, run, in.JobID, 3*time.Minute)
	require.GreaterOrEqual(t, requests.Load(), int32(2), "the chain ran again: the source was downloaded again")
	require.Equal(t, want, stored(t, st.Key), "the source byte for byte")
	objects, uploads := objectsUnder(t, folder+"/")
	require.Equal(t, 1, objects, "one object")
	require.Zero(t, uploads, "no multipart upload left behind")
	completions := uploadCompletions(t, workflows.JobWorkflowID(in.JobID))
	require.Len(t, completions, 1, "one upload result accepted")
	require.False(t, strings.HasPrefix(completions[0], fmt.Sprintf("%d@", first.Pid())),
		"the partitioned worker's late result was discarded: %v", completions)
	// The first worker's log says the server refused its late result.
	require.Eventually(t, func() bool {
		return strings.Contains(workerLog(t, "worker-a"), "activity already timed out")
	}, time.Minute, 200*time.Millisecond, "the late completion never reached the server")
	entries, err := os.ReadDir(workA)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), in.JobID, "the first worker kept none of the job's files")
	}
	t.Logf("worker partitioned from Temporal for %s (server: %q); source requested %d times; upload completed by %s, not %d@; wall %s",
		partition.Round(time.Second), timedOut, requests.Load(), completions[0], first.Pid(), time.Since(started).Round(time.Second))
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory, or skips the
// test when this process may not (it needs root, as CI runs).
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk full needs a small file system of its own: mounting a tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs failed (no mount privilege here?): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes path until its file system is full.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, err := f.Write(buf)
		n += int64(m)
		if err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return n
		}
	}
}

// TestFaultDiskFullMidDownload: the work directory's disk (a 64 MiB tmpfs)
// fills up while a worker downloads. The download stops with the
// InsufficientDisk failure and removes its partial file at once (a resume
// would only run short again); no object is written. Once the space is
// back the retry (on this worker or the second one) completes the job, its
// object holding the source's bytes.
func TestFaultDiskFullMidDownload(t *testing.T) {
	requireStack(t)
	t.Parallel()
	started := time.Now()
	workA := mountTmpfs(t, 64<<20)
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	dir := t.TempDir()
	media := bigMedia(t, dir)
	want, err := os.ReadFile(media)
	require.NoError(t, err)
	var requests atomic.Int32
	// About 2 MiB/s: the download is under way for seconds.
	src := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", fmt.Sprint(len(want)))
		for off := 0; off < len(want); off += 64 << 10 {
			if _, err := w.Write(want[off:min(off+64<<10, len(want))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(30 * time.Millisecond):
			}
		}
	}))
	defer src.Close()

	queue := "riptide-disk-full-" + uuid.NewString()[:8]
	startWorkerProcess(t, bin, "worker-a", queue, "RIPTIDE_WORKER_WORK_DIR="+filepath.Join(workA, "work"),
		"RIPTIDE_WORKER_MIN_FREE_BYTES="+fmt.Sprint(4<<20))
	folder := "e2e/disk-full-" + uuid.NewString()[:8]
	in := workflows.JobInput{JobID: uuid.NewString(), URL: src.URL + "/big.mp4", WebhookURL: stack.hookURL, Folder: folder}
	run, err := jobs.Start(context.Background(), stack.temporal, queue, in)
	require.NoError(t, err)
	jobDir := filepath.Join(workA, "work", in.JobID)
	require.Eventually(t, func() bool { return dirSize(jobDir) > 2<<20 }, 2*time.Minute, 20*time.Millisecond,
		"the download never got under way")
	startWorkerProcess(t, bin, "worker-b", queue)

	filler := filepath.Join(workA, "filler")
	filled := fillDisk(t, filler)
	var failure string
	require.Eventually(t, func() bool {
		desc, err := stack.temporal.DescribeWorkflow(context.Background(), workflows.JobWorkflowID(in.JobID), "")
		if err != nil {
			return false
		}
		for _, pa := range desc.RawResponse.GetPendingActivities() {
			if f := decodedFailure(pa.GetLastFailure()); pa.GetActivityType().GetName() == workflows.Download.Name() && f != nil {
				failure = f.GetApplicationFailureInfo().GetType() + ": " + f.GetMessage()
			}
		}
		return failure != ""
	}, 2*time.Minute, 100*time.Millisecond, "the download never failed")
	require.True(t, strings.HasPrefix(failure, "InsufficientDisk: "), "the disk check stopped it: %s", failure)
	require.Eventually(t, func() bool {
		_, err := os.Stat(jobDir)
		return os.IsNotExist(err)
	}, time.Minute, 100*time.Millisecond, "the partial download was removed")
	objects, uploads := objectsUnder(t, folder+"/")
	require.Zero(t, objects+uploads, "nothing was written to S3")
	require.NoError(t, os.Remove(filler))

	st := completedOnce(t, run, in.JobID, 3*time.Minute)
	require.Equal(t, want, stored(t, st.Key), "the source byte for byte")
	objects, uploads = objectsUnder(t, folder+"/")
	require.Equal(t, 1, objects, "one object")
	require.Zero(t, uploads, "no multipart upload left behind")
	require.Eventually(t, func() bool {
		_, err := os.Stat(jobDir)
		return os.IsNotExist(err)
	}, time.Minute, 100*time.Millisecond, "the job's files were removed")
	t.Logf("disk (64 MiB tmpfs) filled with %d MiB mid-download; failure %q; source requested %d times; wall %s",
		filled>>20, failure, requests.Load(), time.Since(started).Round(time.Second))
}

// dirSize sums the sizes of the regular files in dir.
func dirSize(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}
