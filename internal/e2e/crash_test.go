//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// buildBinary builds a main package of this module for the test.
func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	name := filepath.Base(pkg)
	if name == "cmd" { // worker/cmd builds riptide-worker
		name = "riptide-" + filepath.Base(filepath.Dir(pkg))
	}
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// startWorkerProcess runs the real worker binary against the test stack on
// its own task queue and work directory, as a separate host would. env adds
// or overrides settings.
func startWorkerProcess(t *testing.T, bin, name, taskQueue string, env ...string) *devstack.Proc {
	t.Helper()
	c := stack.cfg
	env = append([]string{
		"RIPTIDE_TEMPORAL_ADDRESS=" + c.Temporal.Address,
		"RIPTIDE_TEMPORAL_TASK_QUEUE=" + taskQueue,
		"RIPTIDE_S3_ENDPOINT=" + c.S3.Endpoint,
		"RIPTIDE_S3_BUCKET=" + c.S3.Bucket,
		"RIPTIDE_S3_ACCESS_KEY_ID=" + c.S3.AccessKeyID,
		"RIPTIDE_S3_SECRET_ACCESS_KEY=" + c.S3.SecretAccessKey,
		"RIPTIDE_S3_PATH_STYLE=true",
		"RIPTIDE_WORKER_WORK_DIR=" + filepath.Join(t.TempDir(), name),
		"RIPTIDE_LOG_FORMAT=text",
		// Several workers share this host: none serves metrics.
		"RIPTIDE_WORKER_METRICS_ADDR=",
		"RIPTIDE_ALLOW_PRIVATE_NETWORKS=" + strings.Join(c.AllowPrivateNetworks, ","),
		// The stack's payloads are encrypted: the same keys.
		"RIPTIDE_ENCRYPTION_KEYS=" + strings.Join(testEncryptionKeys, ","),
	}, env...)
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	require.NoError(t, err)
	p, err := devstack.StartProcess(name, bin, env, logf)
	require.NoError(t, err)
	t.Cleanup(func() {
		select {
		case <-p.Done():
		default:
			p.Stop(10 * time.Second)
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return p
}

// TestWorkerCrashRestartsChainOnAnotherWorker kills the worker process in
// the middle of a download with SIGKILL; the job's session fails and the
// workflow runs download → mux → upload again on a second worker.
func TestWorkerCrashRestartsChainOnAnotherWorker(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")

	// A slow source: the first worker is still downloading when it dies.
	media, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	var requests atomic.Int32
	slow := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", fmt.Sprint(len(media)))
		for off := 0; off < len(media); off += 2048 {
			if _, err := w.Write(media[off:min(off+2048, len(media))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	defer slow.Close()

	queue := "riptide-crash-" + uuid.NewString()[:8]
	first := startWorkerProcess(t, bin, "worker-a", queue)
	in := workflows.JobInput{JobID: uuid.NewString(), URL: slow.URL + "/slow.mp4", WebhookURL: stack.hookURL, Folder: "e2e/crash"}
	run, err := jobs.Start(context.Background(), stack.temporal, queue, in)
	require.NoError(t, err)

	require.Eventually(t, func() bool { return requests.Load() > 0 }, time.Minute, 50*time.Millisecond, "download never started")
	time.Sleep(500 * time.Millisecond)
	first.Kill()
	startWorkerProcess(t, bin, "worker-b", queue)

	st := completedOnce(t, run, in.JobID, 3*time.Minute)
	require.GreaterOrEqual(t, requests.Load(), int32(2), "the second worker downloaded again")
	require.Equal(t, len(media), len(stored(t, st.Key)))
	require.True(t, strings.HasPrefix(st.Key, "e2e/crash/"))
}

// completedOnce waits for a job's workflow to complete and for its one
// job_completed webhook.
func completedOnce(t *testing.T, run client.WorkflowRun, jobID string, timeout time.Duration) workflows.JobState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var st workflows.JobState
	require.NoError(t, run.Get(ctx, &st))
	require.Equal(t, workflows.StatusCompleted, st.Status)
	done := stack.hooks.waitTerminal(t, jobID, time.Minute)
	require.Equal(t, "job_completed", done.Body["type"])
	require.Len(t, stack.hooks.forJob(jobID), 1, "one terminal webhook, no duplicates")
	return st
}

// TestWorkerCrashAfterDownloadRestartsChainElsewhere kills the worker with
// SIGKILL while it uploads (parts crawl through a throttling S3 proxy), when
// the job's files exist only on its disk. The upload's retry waits on the
// dead worker's own queue until its schedule-to-start timeout; the workflow
// then runs the whole chain again on a second worker. Nothing is lost,
// nothing is stored twice.
func TestWorkerCrashAfterDownloadRestartsChainElsewhere(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	dir := t.TempDir()
	media := bigMedia(t, dir)
	var requests atomic.Int32
	files := http.FileServer(http.Dir(dir))
	src := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer src.Close()
	proxy := throttledS3()
	defer proxy.Close()

	queue := "riptide-crash-upload-" + uuid.NewString()[:8]
	first := startWorkerProcess(t, bin, "worker-a", queue, "RIPTIDE_S3_ENDPOINT="+proxy.URL)
	folder := "e2e/crash-upload-" + uuid.NewString()[:8]
	in := workflows.JobInput{JobID: uuid.NewString(), URL: src.URL + "/big.mp4", WebhookURL: stack.hookURL, Folder: folder}
	run, err := jobs.Start(context.Background(), stack.temporal, queue, in)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		_, uploads := objectsUnder(t, folder+"/")
		return uploads > 0
	}, 2*time.Minute, 100*time.Millisecond, "the upload never started")
	first.Kill()
	startWorkerProcess(t, bin, "worker-b", queue)

	st := completedOnce(t, run, in.JobID, 4*time.Minute)
	require.GreaterOrEqual(t, requests.Load(), int32(2), "the second worker downloaded again")
	want, err := os.ReadFile(media)
	require.NoError(t, err)
	require.Equal(t, want, stored(t, st.Key), "the source byte for byte")
	objects, _ := objectsUnder(t, folder+"/")
	require.Equal(t, 1, objects, "one object")
	recordHistory(t, stack.temporal, "job_worker_lost", workflows.JobWorkflowID(in.JobID), "")
}
