//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/worker"
	"github.com/riptide-dev/riptide/workflows"
)

// The soak's settings (make soak): RIPTIDE_SOAK=1 runs it; the sizes, the
// kill interval and the seed can be set to run it small or to replay a
// kill schedule.
const (
	soakEnv         = "RIPTIDE_SOAK"
	soakEpisodesEnv = "RIPTIDE_SOAK_EPISODES"
	soakJobsEnv     = "RIPTIDE_SOAK_JOBS"
	soakKillMinEnv  = "RIPTIDE_SOAK_KILL_MIN"
	soakKillMaxEnv  = "RIPTIDE_SOAK_KILL_MAX"
	soakSeedEnv     = "RIPTIDE_SOAK_SEED"
	soakDeadlineEnv = "RIPTIDE_SOAK_DEADLINE"
)

// TestSoakWorkerKilledAtRandom runs a batch of RIPTIDE_SOAK_EPISODES tiny
// episodes plus RIPTIDE_SOAK_JOBS single jobs twice on whatever Temporal
// server TestMain started: once without faults (the baseline), once with
// the worker process killed with SIGKILL at random intervals (a seeded
// schedule) for the whole run, a new worker process started on the same
// work directory after each kill. Both runs are checked the same way:
// every job Completed, every object the exact bytes of its source, one
// object per job, batch_completed one event with the right counts, every
// job's terminal event delivered and never two payloads under one
// webhook-id, no multipart upload left, no file left in the work
// directory. It prints what it checked and both wall times.
func TestSoakWorkerKilledAtRandom(t *testing.T) {
	requireStack(t)
	if os.Getenv(soakEnv) != "1" {
		t.Skip("the soak runs with " + soakEnv + "=1 (make soak)")
	}
	load := soakLoad{
		episodes: soakInt(t, soakEpisodesEnv, 500),
		jobs:     soakInt(t, soakJobsEnv, 500),
	}
	killMin := soakDuration(t, soakKillMinEnv, 20*time.Second)
	killMax := soakDuration(t, soakKillMaxEnv, 40*time.Second)
	require.LessOrEqual(t, killMin, killMax, "%s <= %s", soakKillMinEnv, soakKillMaxEnv)
	deadline := soakDuration(t, soakDeadlineEnv, 2*time.Hour)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(soakSeedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, soakSeedEnv)
	}
	info, err := stack.temporal.WorkflowService().GetClusterInfo(context.Background(), &workflowservice.GetClusterInfoRequest{})
	require.NoError(t, err)
	backend := fmt.Sprintf("%s (persistence %s, visibility %s)", info.GetServerVersion(), info.GetPersistenceStore(), info.GetVisibilityStore())
	t.Logf("soak: %d episodes + %d jobs; kills every %s–%s; seed %d (replay: %s=%d); Temporal %s",
		load.episodes, load.jobs, killMin, killMax, seed, soakSeedEnv, seed, backend)

	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)

	base := runSoak(t, "baseline", bin, clip, load, deadline, nil)
	rng := rand.New(rand.NewPCG(seed, 0))
	faults := runSoak(t, "faults", bin, clip, load, deadline, func() time.Duration {
		return killMin + time.Duration(rng.Int64N(int64(killMax-killMin)+1))
	})

	var b strings.Builder
	fmt.Fprintf(&b, "soak summary (seed %d, Temporal %s)\n", seed, backend)
	row := func(name string, a, f any) { fmt.Fprintf(&b, "  %-24s %-20v %v\n", name, a, f) }
	row("", "baseline", "faults")
	row("load", load, load)
	row("worker kills (SIGKILL)", base.kills, faults.kills)
	row("wall time", base.wall.Round(time.Second), faults.wall.Round(time.Second))
	row("episodes checked", base.episodes, faults.episodes)
	row("single jobs checked", base.jobs, faults.jobs)
	row("objects checked", base.objects, faults.objects)
	row("bytes checked", base.bytes, faults.bytes)
	row("terminal event ids", base.eventIDs, faults.eventIDs)
	row("webhook deliveries", base.deliveries, faults.deliveries)
	row("redeliveries", base.redeliveries, faults.redeliveries)
	t.Log(b.String())
}

type soakLoad struct{ episodes, jobs int }

func (l soakLoad) String() string { return fmt.Sprintf("%d ep + %d jobs", l.episodes, l.jobs) }

// soakResult is what one run checked.
type soakResult struct {
	wall                               time.Duration
	kills                              int
	episodes, jobs, objects            int
	bytes                              int64
	eventIDs, deliveries, redeliveries int
}

// soakSource is single job i's source: the clip followed by a top-level
// MP4 "free" box naming i, so that every job has bytes of its own and an
// object holding another job's bytes is caught.
func soakSource(clip []byte, i int) []byte {
	tag := fmt.Sprintf("riptide-soak-job-%06d", i)
	out := make([]byte, 0, len(clip)+8+len(tag))
	out = append(out, clip...)
	out = binary.BigEndian.AppendUint32(out, uint32(8+len(tag)))
	out = append(out, "free"...)
	return append(out, tag...)
}

// runSoak runs the load once; nextKill nil runs it without faults, else it
// gives the wait before each SIGKILL of the worker.
func runSoak(t *testing.T, name, bin string, clip []byte, load soakLoad, deadline time.Duration, nextKill func() time.Duration) soakResult {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()[:8]
	queue := "riptide-soak-" + name + "-" + id
	folder := "e2e/soak-" + name + "-" + id

	feed := serveClipFeed(clip, "Soak", load.episodes, 0)
	defer feed.Close()
	sources := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/src/"), ".mp4"))
		if err != nil || i < 0 || i >= load.jobs {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(soakSource(clip, i)))
	}))
	defer sources.Close()
	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()

	// The API on the production wiring, its jobs on this run's queue.
	logf, err := os.Create(filepath.Join(t.TempDir(), "soak-api.log"))
	require.NoError(t, err)
	cfg := *stack.cfg
	cfg.Temporal.TaskQueue = queue
	cfg.Batch.Window, cfg.Batch.PageSize, cfg.Batch.ListWait = 20, 100, 30*time.Second
	a, err := app.New(ctx, &cfg, logf)
	require.NoError(t, err)
	defer a.Close()
	h, err := api.New(a)
	require.NoError(t, err)
	apiSrv := serve(h)
	defer apiSrv.Close()

	// One work directory for every worker process of the run, as on one
	// host whose worker is restarted after each crash.
	workDir := filepath.Join(t.TempDir(), "work")
	env := []string{"RIPTIDE_WORKER_WORK_DIR=" + workDir, "RIPTIDE_WORKER_CONCURRENCY=8"}
	procs := 0
	startWorker := func() *devstack.Proc {
		procs++
		return startWorkerProcess(t, bin, fmt.Sprintf("soak-%s-worker-%d", name, procs), queue, env...)
	}
	current := startWorker()

	start := time.Now()
	status, created := callAt(t, apiSrv.URL, http.MethodPost, "/batches", map[string]any{
		"show_url": feed.URL + "/feed.xml", "webhook_url": hookSrv.URL + "/hook", "folder": folder + "/batch"})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	batchID, _ := created["batch_id"].(string)
	require.NotEmpty(t, batchID)

	// The single jobs, submitted while the batch runs (and the worker dies).
	jobIDs := make([]string, load.jobs)
	var submitErr error
	var submitMu sync.Mutex
	var submitted sync.WaitGroup
	next := make(chan int)
	for range 4 {
		submitted.Go(func() {
			for i := range next {
				status, out, err := soakPost(apiSrv.URL+"/jobs", map[string]any{
					"url": fmt.Sprintf("%s/src/%d.mp4", sources.URL, i), "webhook_url": hookSrv.URL + "/hook", "folder": folder + "/jobs"})
				submitMu.Lock()
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("job %d: %d %v", i, status, out)
				}
				if err != nil && submitErr == nil {
					submitErr = err
				}
				jobIDs[i], _ = out["job_id"].(string)
				submitMu.Unlock()
			}
		})
	}
	go func() {
		for i := range load.jobs {
			next <- i
		}
		close(next)
	}()

	// Until batch_completed and every single job's terminal webhook: kill
	// the worker on the schedule, a new one in its place each time.
	kills := 0
	var killAt time.Time
	if nextKill != nil {
		killAt = time.Now().Add(nextKill())
	}
	allSubmitted := make(chan struct{})
	go func() { submitted.Wait(); close(allSubmitted) }()
	done := func() bool {
		select {
		case <-allSubmitted:
		default:
			return false
		}
		if len(hooks.ofType("batch_completed")) == 0 {
			return false
		}
		ended := hooks.terminalJobs()
		for _, id := range jobIDs {
			if !ended[id] {
				return false
			}
		}
		return true
	}
	lastReport := time.Now()
	for !done() {
		if time.Since(start) > deadline {
			t.Fatalf("%s: not done within %s: %d jobs ended, batch_completed %d", name, deadline, len(hooks.terminalJobs()), len(hooks.ofType("batch_completed")))
		}
		if submitMu.Lock(); submitErr != nil {
			submitMu.Unlock()
			t.Fatalf("%s: submit: %v", name, submitErr)
		}
		submitMu.Unlock()
		if nextKill != nil && time.Now().After(killAt) {
			current.Kill()
			kills++
			current = startWorker()
			killAt = time.Now().Add(nextKill())
		}
		if time.Since(lastReport) > 30*time.Second {
			t.Logf("%s: %s: %d of %d jobs ended, %d kills", name, time.Since(start).Round(time.Second), len(hooks.terminalJobs()), load.episodes+load.jobs, kills)
			lastReport = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	wall := time.Since(start)
	// A redelivery may trail the end: a moment for it, then a clean stop.
	time.Sleep(2 * time.Second)
	current.Stop(30 * time.Second)
	t.Logf("%s: done in %s with %d kills", name, wall.Round(time.Second), kills)
	if nextKill != nil {
		require.Positive(t, kills, "%s: the load ended before the first kill: raise the load or lower %s/%s", name, soakKillMinEnv, soakKillMaxEnv)
	}

	res := soakResult{wall: wall, kills: kills}
	res.check(t, name, folder, batchID, clip, load, jobIDs, hooks, a, workDir)
	return res
}

// check runs the end-of-run checks, printing each with its count.
func (res *soakResult) check(t *testing.T, name, folder, batchID string, clip []byte, load soakLoad, jobIDs []string, hooks *receiver, a *app.App, workDir string) {
	t.Helper()
	ctx := context.Background()
	logf := func(format string, args ...any) { t.Logf(name+": check: "+format, args...) }

	// batch_completed: one event, the right counts.
	bc := hooks.ofType("batch_completed")
	ids := map[string]bool{}
	for _, d := range bc {
		ids[d.EventID] = true
		require.Equal(t, bc[0].Raw, d.Raw, "batch_completed redeliveries carry the same payload")
	}
	require.Len(t, ids, 1, "batch_completed is one event")
	b := bc[0].Body
	require.Equal(t, batchID, b["batch_id"])
	require.Equal(t, "completed", b["status"], "%v", b)
	require.Equal(t, float64(load.episodes), b["total_episodes"])
	require.Equal(t, float64(load.episodes), b["completed_episodes"])
	require.Equal(t, float64(0), b["failed_episodes"])
	logf("batch_completed: 1 event (%d deliveries), total=%v completed=%v failed=%v", len(bc), b["total_episodes"], b["completed_episodes"], b["failed_episodes"])

	// No two payloads under one webhook-id.
	hooks.mu.Lock()
	all := append([]delivery(nil), hooks.got...)
	hooks.mu.Unlock()
	byID := map[string][]byte{}
	for _, d := range all {
		require.NotEmpty(t, d.EventID)
		if prev, ok := byID[d.EventID]; ok {
			require.Equal(t, string(prev), string(d.Raw), "webhook-id %s carries two payloads", d.EventID)
			res.redeliveries++
		}
		byID[d.EventID] = d.Raw
	}
	res.deliveries = len(all)
	logf("webhook-ids: %d distinct over %d deliveries (%d redeliveries), none with two payloads", len(byID), len(all), res.redeliveries)

	// Every job: Completed, its terminal event one identity, delivered.
	terminal := map[string]delivery{}
	termIDs := map[string]map[string]bool{}
	for _, d := range all {
		switch d.Body["type"] {
		case "job_completed", "job_failed", "job_skipped":
			j, _ := d.Body["job_id"].(string)
			if termIDs[j] == nil {
				termIDs[j] = map[string]bool{}
			}
			termIDs[j][d.EventID] = true
			terminal[j] = d
		}
	}
	everyJob := append([]string(nil), jobIDs...)
	for i := range load.episodes {
		everyJob = append(everyJob, workflows.EpisodeJobID(batchID, i))
	}
	for _, j := range everyJob {
		require.Len(t, termIDs[j], 1, "job %s: one terminal event id, got %v", j, termIDs[j])
		require.Equal(t, "job_completed", terminal[j].Body["type"], "job %s: %v", j, terminal[j].Body)
		v, err := jobs.Get(ctx, a.Temporal, j)
		require.NoError(t, err, "job %s", j)
		require.Equal(t, workflows.StatusCompleted, v.Status, "job %s", j)
	}
	res.eventIDs = len(everyJob)
	logf("jobs Completed: %d (%d episodes + %d single), each with one terminal event id, delivered", len(everyJob), load.episodes, load.jobs)

	// Objects: one per job, the exact bytes of its source.
	objects := listSizes(t, folder+"/")
	require.Len(t, objects, len(everyJob), "one object per job, no stray keys")
	want := func(i int) []byte {
		if i < len(jobIDs) {
			return soakSource(clip, i)
		}
		return clip
	}
	seen := map[string]bool{}
	for i, j := range everyJob {
		key, _ := terminal[j].Body["key"].(string)
		require.False(t, seen[key], "job %s: key %s is another job's", j, key)
		seen[key] = true
		size, ok := objects[key]
		require.True(t, ok, "job %s: object %s", j, key)
		src := want(i)
		require.Equal(t, int64(len(src)), size, "job %s: object %s size", j, key)
		require.Equal(t, float64(size), terminal[j].Body["file_size_bytes"], "job %s: reported size", j)
		got := stored(t, key)
		require.Equal(t, sha256.Sum256(src), sha256.Sum256(got), "job %s: object %s is not its source's bytes", j, key)
		res.bytes += int64(len(got))
	}
	res.objects, res.episodes, res.jobs = len(objects), load.episodes, load.jobs
	logf("objects: %d, %d bytes, each the size and sha256 of its source (%d single-job sources of their own, %d episodes of the clip)",
		len(objects), res.bytes, load.jobs, load.episodes)

	// No multipart upload left behind.
	mp, err := stack.store.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(stack.cfg.S3.Bucket), Prefix: aws.String(folder + "/")})
	require.NoError(t, err)
	require.Empty(t, mp.Uploads, "multipart uploads left under %s", folder)
	logf("multipart uploads left: 0")

	// The work directory: nothing but the lock file.
	var left []string
	require.NoError(t, filepath.WalkDir(workDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == workDir {
			return err
		}
		if d.Name() != worker.LockFile {
			left = append(left, p)
		}
		return nil
	}))
	require.Empty(t, left, "files left in the work directory")
	logf("work directory: empty but for %s", worker.LockFile)
}

// soakPost POSTs JSON to the run's API without failing the test from a
// submitting goroutine.
func soakPost(url string, body map[string]any) (int, map[string]any, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("x-api-key", testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return res.StatusCode, nil, fmt.Errorf("%d %s", res.StatusCode, b)
	}
	return res.StatusCode, out, nil
}

func soakInt(t *testing.T, env string, def int) int {
	t.Helper()
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	require.NoError(t, err, env)
	require.Positive(t, n, env)
	return n
}

func soakDuration(t *testing.T, env string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	require.NoError(t, err, env)
	require.Positive(t, d, env)
	return d
}
