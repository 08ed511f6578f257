//go:build integration

package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/worker"
	"github.com/riptide-dev/riptide/workflows"
)

// slowReader lets n bytes through per tick.
type slowReader struct {
	r    io.ReadCloser
	n    int
	tick time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.tick)
	return s.r.Read(p[:min(len(p), s.n)])
}

func (s *slowReader) Close() error { return s.r.Close() }

// bigMedia writes big.mp4 to dir: a file of several parts (over 16 MiB,
// so multipart whichever the threshold).
func bigMedia(t *testing.T, dir string) string {
	t.Helper()
	media := filepath.Join(dir, "big.mp4")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440", "-t", "14", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
		"-c:a", "aac", "-shortest", media).CombinedOutput()
	require.NoError(t, err, "%s", out)
	st, err := os.Stat(media)
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(16<<20), "the upload must be multipart")
	return media
}

// throttledS3 is the test S3 server behind a proxy that slows the body of
// every part upload to a crawl.
func throttledS3() *httptest.Server {
	target, err := url.Parse(stack.cfg.S3.Endpoint)
	if err != nil {
		panic(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	return serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
			r.Body = &slowReader{r: r.Body, n: 16 << 10, tick: 100 * time.Millisecond}
		}
		rp.ServeHTTP(w, r)
	}))
}

// TestCancelDuringMultipartUpload cancels a job while its upload's parts
// crawl to S3 through a throttling proxy: the upload aborts its multipart
// upload, so neither an object nor uploaded parts stay behind, and the
// job's files are removed.
func TestCancelDuringMultipartUpload(t *testing.T) {
	requireStack(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()

	bigMedia(t, dir)
	src := serve(http.FileServer(http.Dir(dir)))
	defer src.Close()
	proxy := throttledS3()
	defer proxy.Close()

	// A worker of its own that uploads through the proxy.
	cfg := *stack.cfg
	cfg.S3.Endpoint = proxy.URL
	cfg.Temporal.TaskQueue = "riptide-slow-s3-" + uuid.NewString()[:8]
	cfg.Worker.WorkDir = filepath.Join(dir, "work")
	a, err := app.New(ctx, &cfg, io.Discard)
	require.NoError(t, err)
	defer a.Close()
	w, err := worker.New(a)
	require.NoError(t, err)
	require.NoError(t, w.Start())
	defer w.Stop()

	id, folder := uuid.NewString(), "e2e/cancel-upload-"+uuid.NewString()[:8]
	_, err = jobs.Start(ctx, stack.temporal, cfg.Temporal.TaskQueue, workflows.JobInput{
		JobID: id, URL: src.URL + "/big.mp4", Folder: folder,
	})
	require.NoError(t, err)
	var job map[string]any
	require.Eventually(t, func() bool {
		_, job = call(t, http.MethodGet, "/jobs/"+id, nil)
		require.Nil(t, job["completed_at"], "the job ended before its upload: %v", job)
		_, uploads := objectsUnder(t, folder+"/")
		return uploads > 0
	}, jobTimeout, 100*time.Millisecond, "multipart upload started: %v", job)
	_, job = call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, "Uploading", job["step"])

	status, body := call(t, http.MethodDelete, "/jobs/"+id, nil)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	job = waitDone(t, id)
	require.Equal(t, "Cancelled", job["status"], "%v", job)
	objects, uploads := objectsUnder(t, folder+"/")
	require.Zero(t, objects, "no object")
	require.Zero(t, uploads, "multipart upload aborted")
	_, err = os.Stat(filepath.Join(cfg.Worker.WorkDir, id))
	require.True(t, os.IsNotExist(err), "temporary files removed: %v", err)
	recordHistory(t, stack.temporal, "job_cancelled_uploading", workflows.JobWorkflowID(id), "")
}
