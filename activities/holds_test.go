package activities

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func TestHoldsBoundJobsAndWaitForRoom(t *testing.T) {
	h := NewHolds(1)
	ctx := context.Background()
	require.NoError(t, h.acquire(ctx, "a"))
	require.NoError(t, h.acquire(ctx, "a"), "a retry here holds no more room")
	require.Equal(t, 1, h.Held())

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, h.acquire(short, "b"), context.DeadlineExceeded, "the worker is full")

	got := make(chan error)
	go func() { got <- h.acquire(ctx, "b") }()
	select {
	case err := <-got:
		t.Fatalf("b got room while a holds it: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	h.release("a")
	require.NoError(t, <-got)
	require.Equal(t, 1, h.Held())
	h.release("nobody")
	require.Equal(t, 1, h.Held())
}

// serveFile serves body at /ep.mp3 and answers 404 and 503 elsewhere.
func serveFile(t *testing.T, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ep.mp3":
			w.Header().Set("Content-Type", "audio/mpeg")
			_, _ = w.Write([]byte(body))
		case "/busy.mp3":
			w.Header().Set("Content-Type", "audio/mpeg")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDownloadHoldsRoomUntilTheUploadRemovesTheFiles follows one job's
// files on a worker: the download holds room and names the worker's queue;
// the upload that asks for it removes the files and frees the room.
func TestDownloadHoldsRoomUntilTheUploadRemovesTheFiles(t *testing.T) {
	srv := serveFile(t, "not really mp3")
	a := newHTTPActivities(t)
	a.HostQueue, a.Holds = "riptide-host-w1", NewHolds(2)
	env, _ := newDownloadEnv(t, a)
	dl, err := download(t, env, a, srv.URL+"/ep.mp3")
	require.NoError(t, err)
	require.Equal(t, "riptide-host-w1", dl.HostQueue)
	require.Equal(t, 1, a.Holds.Held())

	a.Store = &memStore{objects: map[string][]byte{}, types: map[string]string{}}
	_, err = env.ExecuteActivity(a.Upload, workflows.UploadInput{JobID: testJob, Path: dl.Files[0], Key: "f/ep.mp3", Cleanup: true})
	require.NoError(t, err)
	require.NoDirExists(t, a.jobDir(testJob))
	require.Zero(t, a.Holds.Held())
	// The files themselves go in the background: nothing is left once
	// that ends.
	WaitDiscards(a)
	left, err := os.ReadDir(a.WorkDir)
	require.NoError(t, err)
	require.Empty(t, left)

	// A retry of that upload finds nothing to upload: the workflow starts
	// the chain again.
	_, err = env.ExecuteActivity(a.Upload, workflows.UploadInput{JobID: testJob, Path: dl.Files[0], Key: "f/ep.mp3", Cleanup: true})
	requireErrType(t, err, workflows.ErrTypeFilesGone, true)
	_, err = env.ExecuteActivity(a.Mux, workflows.MuxInput{JobID: testJob, Inputs: dl.Files})
	requireErrType(t, err, workflows.ErrTypeFilesGone, true)
}

// TestFailedDownloadCleansUpAfterItself: no workflow knows which worker
// to clean up after a failed download. A final failure removes the files;
// a retryable one keeps the partial file for a retry here; neither holds
// room.
func TestFailedDownloadCleansUpAfterItself(t *testing.T) {
	srv := serveFile(t, "x")
	a := newHTTPActivities(t)
	a.Holds = NewHolds(1)
	env, _ := newDownloadEnv(t, a)

	_, err := download(t, env, a, srv.URL+"/missing.mp3")
	requireErrType(t, err, workflows.ErrTypeNotFound, true)
	require.NoDirExists(t, a.jobDir(testJob))
	require.Zero(t, a.Holds.Held())

	_, err = download(t, env, a, srv.URL+"/busy.mp3")
	requireErrType(t, err, workflows.ErrTypeTechnical, false)
	require.DirExists(t, a.jobDir(testJob))
	require.Zero(t, a.Holds.Held())
}

func requireErrType(t *testing.T, err error, typ string, nonRetryable bool) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, typ, appErr.Type(), "%v", err)
	require.Equal(t, nonRetryable, appErr.NonRetryable(), "%v", err)
}

func TestSweepWorkDirRemovesAbandonedFilesOnly(t *testing.T) {
	a := &Activities{WorkDir: t.TempDir(), Holds: NewHolds(8)}
	now := time.Now()
	old := now.Add(-2 * time.Hour)
	mkJob := func(job string, mtime time.Time) {
		dir := a.jobDir(job)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		f := filepath.Join(dir, "source.mp4")
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o644))
		require.NoError(t, os.Chtimes(f, mtime, mtime))
		require.NoError(t, os.Chtimes(dir, mtime, mtime))
	}
	hold := func(job string, idleFor time.Duration) {
		require.NoError(t, a.Holds.acquire(context.Background(), job))
		a.Holds.use(job)()
		a.Holds.mu.Lock()
		a.Holds.idleSince[job] = now.Add(-idleFor)
		a.Holds.mu.Unlock()
	}
	// Partial downloads nobody holds: removed once old.
	mkJob("old-partial", old)
	mkJob("recent-partial", now)
	// Held jobs: removed once no activity has used them for holdAge,
	// however fresh their files; never while an activity runs.
	mkJob("abandoned", now)
	hold("abandoned", 3*time.Minute)
	mkJob("between-activities", old)
	hold("between-activities", 10*time.Second)
	mkJob("muxing", old)
	hold("muxing", 3*time.Minute)
	done := a.Holds.use("muxing")
	defer done()

	removed, err := a.SweepWorkDir(now, 2*time.Minute, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 2, removed)
	require.NoDirExists(t, a.jobDir("old-partial"))
	require.NoDirExists(t, a.jobDir("abandoned"))
	for _, job := range []string{"recent-partial", "between-activities", "muxing"} {
		require.DirExists(t, a.jobDir(job))
	}
	require.Equal(t, 2, a.Holds.Held(), "the abandoned job's room is free")
}
