//go:build integration

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// TestWorkerSIGTERMFinishesActivityAndJobMovesOn sends SIGTERM to the worker
// running a job's download. The worker lets the download finish and exits
// cleanly, and the job completes, with a second worker up to take what the
// first no longer polls for. Which worker runs the mux and the upload depends
// on timing: tasks that the first worker's long polls had already been
// handed when SIGTERM came still run there during its stop window (the Go
// SDK's graceful stop), so the test asserts no more than that. The hand-over
// of a chain whose worker is gone is tested by
// TestWorkerCrashRestartsChainOnAnotherWorker.
func TestWorkerSIGTERMFinishesActivityAndJobMovesOn(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	queue := "riptide-sigterm-" + uuid.NewString()[:8]
	first := startWorkerProcess(t, bin, "worker-a", queue)
	waitPollers(t, queue, 1)
	src := slowMedia(t, 4*time.Second)

	in := workflows.JobInput{JobID: uuid.NewString(), URL: src + "/clip.mp4", Folder: "e2e/sigterm"}
	run, err := jobs.Start(context.Background(), stack.temporal, queue, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(transferWorkers(t, in.JobID)["Download"]) > 0 },
		time.Minute, 50*time.Millisecond, "download never started")
	// SIGTERM before worker-b starts: worker-a stops taking tasks at once,
	// so whatever follows its download must run on worker-b however fast
	// the download ends (the mux of this file takes no time at all).
	stopped := make(chan struct{})
	go func() { first.Stop(time.Minute); close(stopped) }()
	second := startWorkerProcess(t, bin, "worker-b", queue)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var st workflows.JobState
	require.NoError(t, run.Get(ctx, &st))
	require.Equal(t, workflows.StatusCompleted, st.Status, st.Error)
	<-stopped
	require.NoError(t, first.Err(), "the worker exits 0 on SIGTERM")

	a, b := strconv.Itoa(first.Pid())+"@", strconv.Itoa(second.Pid())+"@"
	ran := transferWorkers(t, in.JobID)
	require.True(t, strings.HasPrefix(ran["Download"][0], a), "first download on worker-a: %v", ran)
	require.True(t, downloadCompleted(t, in.JobID), "worker-a finished its running download before exiting")
	for stage, workers := range ran {
		for _, w := range workers {
			require.True(t, strings.HasPrefix(w, a) || strings.HasPrefix(w, b), "%s ran on %s, neither worker", stage, w)
		}
	}
	require.NotEmpty(t, stored(t, st.Key))
}

// downloadCompleted tells whether the job's first Download attempt
// completed (rather than failing or timing out).
func downloadCompleted(t *testing.T, jobID string) bool {
	t.Helper()
	it := stack.temporal.GetWorkflowHistory(context.Background(), workflows.JobWorkflowID(jobID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var first int64
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && first == 0 && a.GetActivityType().GetName() == "Download" {
			first = ev.GetEventId()
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && first != 0 && a.GetScheduledEventId() == first {
			return true
		}
	}
	return false
}

// TestAPISIGTERMDrainsInFlightRequests sends SIGTERM to the API while a
// POST /jobs is half sent: the API stops accepting connections but answers
// that request, then exits 0.
func TestAPISIGTERMDrainsInFlightRequests(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "riptide-api")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/riptide-dev/riptide/api/cmd").CombinedOutput()
	require.NoError(t, err, "%s", out)
	port, err := devstack.FreePort()
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := stack.cfg
	logf, err := os.Create(filepath.Join(t.TempDir(), "api.log"))
	require.NoError(t, err)
	p, err := devstack.StartProcess("api", bin, []string{
		"RIPTIDE_TEMPORAL_ADDRESS=" + c.Temporal.Address,
		"RIPTIDE_TEMPORAL_TASK_QUEUE=riptide-drain-no-worker",
		"RIPTIDE_S3_ENDPOINT=" + c.S3.Endpoint, "RIPTIDE_S3_BUCKET=" + c.S3.Bucket,
		"RIPTIDE_S3_ACCESS_KEY_ID=" + c.S3.AccessKeyID, "RIPTIDE_S3_SECRET_ACCESS_KEY=" + c.S3.SecretAccessKey,
		"RIPTIDE_S3_PATH_STYLE=true", "RIPTIDE_API_ADDR=" + addr, "RIPTIDE_API_KEYS=" + testAPIKey,
		"RIPTIDE_API_METRICS_ADDR=",
		"RIPTIDE_ALLOW_PRIVATE_NETWORKS=" + strings.Join(c.AllowPrivateNetworks, ","),
		"RIPTIDE_ENCRYPTION_KEYS=" + strings.Join(testEncryptionKeys, ","),
	}, logf)
	require.NoError(t, err)
	t.Cleanup(func() {
		select {
		case <-p.Done():
		default:
			p.Kill()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("api log:\n%s", b)
		}
	})
	require.Eventually(t, func() bool {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil
	}, time.Minute, 100*time.Millisecond, "API never listened")

	body := `{"url":"` + stack.media + `/clip.mp4","folder":"e2e/drain"}`
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /jobs HTTP/1.1\r\nHost: %s\r\nx-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, testAPIKey, len(body), body[:10])
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond) // the handler is now reading the body

	stopped := make(chan struct{})
	go func() { p.Stop(30 * time.Second); close(stopped) }()
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 10*time.Second, 50*time.Millisecond, "the API still accepts connections after SIGTERM")
	select {
	case <-stopped:
		t.Fatal("the API exited with a request in flight")
	default:
	}

	_, err = conn.Write([]byte(body[10:]))
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
	var created struct {
		JobID string `json:"job_id"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&created))
	require.NotEmpty(t, created.JobID)
	_ = stack.temporal.TerminateWorkflow(context.Background(), workflows.JobWorkflowID(created.JobID), "", "test over")
	<-stopped
	require.NoError(t, p.Err(), "the API exits 0 after draining")
}
