//go:build integration

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/worker"
	"github.com/riptide-dev/riptide/workflows"
)

// ftpTrap is an "internal" FTP server on 127.0.0.2, an address the test's
// guard does not allow: it greets like FTP and logs every connection.
type ftpTrap struct {
	ln   net.Listener
	mu   sync.Mutex
	hits []string
}

func startFTPTrap(t *testing.T) *ftpTrap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	f := &ftpTrap{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.hits = append(f.hits, c.RemoteAddr().String())
			f.mu.Unlock()
			go func() {
				defer c.Close()
				_, _ = io.WriteString(c, "220 internal FTP ready\r\n")
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return f
}

func (f *ftpTrap) url() string { return "ftp://" + f.ln.Addr().String() + "/internal-only.mp4" }

func (f *ftpTrap) connections() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.hits...)
}

// downloadAttempts counts the attempts of the job's Download activity.
func downloadAttempts(t *testing.T, jobID string) int {
	t.Helper()
	it := stack.temporal.GetWorkflowHistory(context.Background(), workflows.JobWorkflowID(jobID), "", false,
		enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]bool{}
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "Download" {
			scheduled[ev.GetEventId()] = true
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] {
			n += int(a.GetAttempt())
		}
	}
	return n
}

// TestNonHTTPProtocolsRefused runs issue 13's item 1 for real, with
// Debian's yt-dlp: an ftp:// URL given directly, an http page redirecting
// to ftp://, and a page whose <video> is an ftp:// URL, all pointing at an
// internal FTP server. Each job fails, not retried, with a clear error;
// nothing lands in the bucket and the internal server logs no connection.
// A normal page on the same worker still downloads through the proxy.
func TestNonHTTPProtocolsRefused(t *testing.T) {
	requireStack(t)
	t.Parallel()
	if st := childproc.Current(); !st.Active {
		t.Logf("sandbox unavailable (%s): only the info JSON checks protect this run", st.Reason)
	}
	ctx := context.Background()
	dir := t.TempDir()
	trap := startFTPTrap(t)

	// The "public" site, on 127.0.0.1.
	site := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, trap.url(), http.StatusFound)
		case "/attack.html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<html><head><title>Internal file</title></head><body><video src="%s"></video></body></html>`, trap.url())
		default:
			http.FileServer(http.Dir(stack.mediaDir)).ServeHTTP(w, r)
		}
	}))
	defer site.Close()

	// A worker of its own whose guard allows 127.0.0.1 only (the shared
	// stack's allows all of loopback).
	cfg := *stack.cfg
	cfg.AllowPrivateNetworks = []string{"127.0.0.1/32"}
	cfg.Temporal.TaskQueue = "riptide-protocols-" + uuid.NewString()[:8]
	cfg.Worker.WorkDir = filepath.Join(dir, "work")
	a, err := app.New(ctx, &cfg, io.Discard)
	require.NoError(t, err)
	defer a.Close()
	w, err := worker.New(a)
	require.NoError(t, err)
	require.NoError(t, w.Start())
	defer w.Stop()

	// The API refuses an ftp:// URL outright.
	status, body := call(t, http.MethodPost, "/jobs", map[string]any{"url": trap.url()})
	require.Equal(t, http.StatusBadRequest, status, "%v", body)

	for _, tc := range []struct {
		name, url, errType, want string
	}{
		// Past the API (a job started directly): the worker refuses too.
		{"ftp URL given directly", trap.url(), workflows.ErrTypeInvalidInput, "not an http(s) URL"},
		// yt-dlp follows the redirect during extraction; confined, its
		// direct FTP connection has nowhere to go.
		{"http to ftp redirect", site.URL + "/redirect", workflows.ErrTypeBlockedAddress, "outside riptide's guarded proxy"},
		// The page's only format is ftp://: refused from the info JSON.
		{"video src ftp", site.URL + "/attack.html", workflows.ErrTypeBlockedAddress, "riptide only fetches http and https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, folder := uuid.NewString(), "e2e/protocols-"+uuid.NewString()[:8]
			_, err := jobs.Start(ctx, stack.temporal, cfg.Temporal.TaskQueue, workflows.JobInput{JobID: id, URL: tc.url, Folder: folder})
			require.NoError(t, err)
			job := waitDone(t, id)
			require.Equal(t, "Failed", job["status"], "%v", job)
			t.Logf("job error: %v", job["error"])
			require.Contains(t, job["error"], tc.want, "%v", job)
			require.Equal(t, 1, downloadAttempts(t, id), "refused, not retried")
			objects, uploads := objectsUnder(t, folder+"/")
			require.Zero(t, objects+uploads, "nothing in the bucket")
			require.Empty(t, trap.connections(), "the internal FTP server was reached")
		})
	}

	t.Run("a normal page downloads through the proxy", func(t *testing.T) {
		id, folder := uuid.NewString(), "e2e/protocols-ok-"+uuid.NewString()[:8]
		_, err := jobs.Start(ctx, stack.temporal, cfg.Temporal.TaskQueue, workflows.JobInput{
			JobID: id, URL: site.URL + "/" + devstack.SamplePage, Folder: folder,
		})
		require.NoError(t, err)
		job := waitDone(t, id)
		require.Equal(t, "Completed", job["status"], "%v", job)
		objects, _ := objectsUnder(t, folder+"/")
		require.Equal(t, 1, objects)
	})
	require.Empty(t, trap.connections(), "the internal FTP server was reached")
}
