package activities

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
)

// sizeWatch records the largest size the job's files reached, measured
// every time the downloader checks free space (every SpaceCheckEvery
// bytes), and simulates a disk whose free space is start minus what the
// job wrote.
type sizeWatch struct {
	a     *Activities
	start int64 // simulated free space before the download
	mu    sync.Mutex
	most  int64 // largest size of the job's files seen
	least int64 // smallest simulated free space handed out
}

func (w *sizeWatch) diskFree(dir string) (int64, error) {
	n := dirBytes(w.a.jobDir(testJob))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.most = max(w.most, n)
	free := w.start - n
	if w.least == 0 || free < w.least {
		w.least = free
	}
	return free, nil
}

func (w *sizeWatch) largest() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.most
}

// endless serves an endless chunked "video/mp4" body, 64 KiB at a time,
// until the client goes away, and counts what it sent.
func endless(sent *atomic.Int64) http.HandlerFunc {
	chunk := bytes.Repeat([]byte("riptide!"), 8<<10)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		if r.Method == http.MethodHead {
			return
		}
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

// assertJobDirGone checks a refused download left nothing behind.
func assertJobDirGone(t *testing.T, a *Activities) {
	t.Helper()
	if entries, err := os.ReadDir(a.jobDir(testJob)); err == nil && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("partial files left in the job directory: %v", names)
	}
}

// TestDownloadRefusesAGzipBomb serves a 200 MiB run of zeros gzipped to a
// few hundred KiB with Content-Encoding: gzip. Go's transport would ask
// for gzip and inflate it transparently, past any size the server
// announced; the downloader asks for identity and refuses an encoded body
// for good, having written nothing.
func TestDownloadRefusesAGzipBomb(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 200 {
		_, _ = zw.Write(zeros)
	}
	_ = zw.Close()
	if bomb.Len() > 1<<20 {
		t.Fatalf("the bomb is %d bytes, want a small one", bomb.Len())
	}

	var acceptEncoding atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			acceptEncoding.Store(r.Header.Get("Accept-Encoding"))
		}
		// Whatever the client asked for.
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(bomb.Len()))
		_, _ = w.Write(bomb.Bytes())
	}))
	t.Cleanup(srv.Close)

	a := newHTTPActivities(t)
	a.MaxJobBytes = 20 << 20
	a.MinFreeBytes = 1
	w := &sizeWatch{a: a, start: 1 << 40}
	a.DiskFree = w.diskFree
	env, _ := newDownloadEnv(t, a)

	_, err := download(t, env, a, srv.URL+"/bomb.mp4")
	appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
	if !strings.Contains(appErr.Message(), `Content-Encoding "gzip"`) {
		t.Errorf("error %q does not name the encoding", appErr.Message())
	}
	if got, _ := acceptEncoding.Load().(string); got != "identity" {
		t.Errorf("GET sent Accept-Encoding %q, want identity", got)
	}
	if most := w.largest(); most > 0 {
		t.Errorf("the bomb wrote %d bytes", most)
	}
	assertJobDirGone(t, a)
}

// TestDownloadStopsAtTheJobCap runs an endless chunked body (no length) and
// one announcing a length over the cap into the downloader: each fails for
// good with the cap in words, the file never larger than the cap, its
// partial file removed. The cap comes from the setting, or else from the
// disk's size (half of it above the free-space floor).
func TestDownloadStopsAtTheJobCap(t *testing.T) {
	const limit = 8 << 20
	const floor = 1 << 20
	cases := []struct {
		name        string
		maxJobBytes int64
		diskSize    int64
		handler     func(sent *atomic.Int64) http.HandlerFunc
	}{
		{name: "endless body, set cap", maxJobBytes: limit, handler: endless},
		{name: "endless body, cap from disk size", diskSize: floor + 2*limit, handler: endless},
		{name: "announced length over the cap", maxJobBytes: limit,
			handler: func(sent *atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "video/mp4")
					w.Header().Set("Content-Length", strconv.Itoa(limit+1))
					if r.Method == http.MethodHead {
						return
					}
					buf := make([]byte, 64<<10)
					for left := limit + 1; left > 0 && r.Context().Err() == nil; left -= len(buf) {
						n, err := w.Write(buf[:min(left, len(buf))])
						sent.Add(int64(n))
						if err != nil {
							return
						}
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			srv := httptest.NewServer(tc.handler(&sent))
			t.Cleanup(srv.Close)
			a := newHTTPActivities(t)
			a.MaxJobBytes = tc.maxJobBytes
			a.MinFreeBytes = floor
			if tc.diskSize > 0 {
				a.DiskSize = func(string) (int64, error) { return tc.diskSize, nil }
			}
			w := &sizeWatch{a: a, start: 1 << 40}
			a.DiskFree = w.diskFree
			env, _ := newDownloadEnv(t, a)

			_, err := download(t, env, a, srv.URL+"/movie.mp4")
			appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
			if want := "the source is larger than the 8 MiB this worker allows"; appErr.Message() != want {
				t.Errorf("error %q, want %q", appErr.Message(), want)
			}
			if most := w.largest(); most > limit {
				t.Errorf("the file grew to %d bytes, past the %d-byte cap", most, limit)
			}
			assertJobDirGone(t, a)
		})
	}
}

// TestDownloadStopsWhenTheDiskRunsShort runs an endless body into a disk
// with 10 MiB above the free-space floor, every byte written taking a byte
// of it: the free space is checked again while writing, so the download
// stops while it and its muxed copy still fit, with a retryable
// InsufficientDisk error (the disk's state, not the source's fault), and
// gives its space back.
func TestDownloadStopsWhenTheDiskRunsShort(t *testing.T) {
	const floor = 1 << 30
	var sent atomic.Int64
	srv := httptest.NewServer(endless(&sent))
	t.Cleanup(srv.Close)
	a := newHTTPActivities(t)
	a.MaxJobBytes = -1 // no cap: the disk is the limit here
	a.MinFreeBytes = floor
	w := &sizeWatch{a: a, start: floor + 10<<20}
	a.DiskFree = w.diskFree
	env, _ := newDownloadEnv(t, a)

	_, err := download(t, env, a, srv.URL+"/movie.mp4")
	appErr := assertAppError(t, err, ErrTypeInsufficientDisk, true)
	if !strings.Contains(appErr.Message(), "not enough disk space on this worker") {
		t.Errorf("error %q does not say the disk is short", appErr.Message())
	}
	if w.least < floor {
		t.Errorf("free space fell to %d, below the %d-byte floor", w.least, floor)
	}
	if most := w.largest(); most > 5<<20+httpget.SpaceCheckEvery {
		t.Errorf("the file grew to %d bytes; its muxed copy no longer fits above the floor", most)
	}
	assertJobDirGone(t, a)
}

// TestDownloadYtdlpStopsAtTheJobCap runs the real yt-dlp on a page whose
// <video> is an endless chunked body: yt-dlp's --max-filesize only trusts
// a Content-Length, so the worker watches the job directory and stops
// yt-dlp once its files pass the cap; the job fails for good and its
// files are removed.
func TestDownloadYtdlpStopsAtTheJobCap(t *testing.T) {
	const limit = 4 << 20
	var sent atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/endless.mp4", func(w http.ResponseWriter, r *http.Request) {
		// Paced, so the test's disk use stays small between two looks of
		// the watch; no assertion depends on it.
		w.Header().Set("Content-Type", "video/mp4")
		chunk := bytes.Repeat([]byte{0}, 256<<10)
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Endless</title></head><body><video src="/endless.mp4"></video></body></html>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	a, _ := ytdlpEnv(t, t.TempDir())
	a.MaxJobBytes = limit
	defer func(d time.Duration) { watchInterval = d }(watchInterval)
	watchInterval = 20 * time.Millisecond
	env, _ := newDownloadEnv(t, a)
	env.SetTestTimeout(2 * time.Minute)

	_, err := download(t, env, a, srv.URL+"/page.html")
	appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
	if want := "the source is larger than the 4 MiB this worker allows"; appErr.Message() != want {
		t.Errorf("error %q, want %q", appErr.Message(), want)
	}
	assertJobDirGone(t, a)
	if _, err := os.Stat(filepath.Join(a.WorkDir, testJob)); err == nil {
		t.Errorf("job directory still there")
	}
}

// TestDownloadYtdlpRefusesALengthOverTheCap: a source that announces more
// than the cap is skipped by yt-dlp's own --max-filesize (which exits 0,
// leaving no file); the job fails for good with the same clear message,
// not a retried "no file".
func TestDownloadYtdlpRefusesALengthOverTheCap(t *testing.T) {
	const limit = 4 << 20
	var sent atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/big.mp4", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.Itoa(8<<20))
		if r.Method == http.MethodHead {
			return
		}
		n, _ := w.Write(bytes.Repeat([]byte{0}, 8<<20))
		sent.Add(int64(n))
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Big</title></head><body><video src="/big.mp4"></video></body></html>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	a, _ := ytdlpEnv(t, t.TempDir())
	a.MaxJobBytes = limit
	env, _ := newDownloadEnv(t, a)
	env.SetTestTimeout(2 * time.Minute)

	_, err := download(t, env, a, srv.URL+"/page.html")
	appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
	if want := "the source is larger than the 4 MiB this worker allows"; appErr.Message() != want {
		t.Errorf("error %q, want %q", appErr.Message(), want)
	}
	assertJobDirGone(t, a)
}
