package activities

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

const testJob = "job-1"

// heartbeats records the Progress details an activity heartbeats. The SDK
// throttles heartbeats, so tests see the first one and, on failure, the last.
type heartbeats struct {
	mu   sync.Mutex
	seen []workflows.Progress
}

func (h *heartbeats) listen(_ *activity.Info, details converter.EncodedValues) {
	var p workflows.Progress
	if details.Get(&p) != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, p)
}

func (h *heartbeats) all() []workflows.Progress {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]workflows.Progress(nil), h.seen...)
}

func newDownloadEnv(t *testing.T, a *Activities) (*testsuite.TestActivityEnvironment, *heartbeats) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	hb := &heartbeats{}
	env.SetOnActivityHeartbeatListener(hb.listen)
	return env, hb
}

func newHTTPActivities(t *testing.T) *Activities {
	return &Activities{HTTP: http.DefaultClient, WorkDir: t.TempDir(), Ffprobe: "ffprobe"}
}

func download(t *testing.T, env *testsuite.TestActivityEnvironment, a *Activities, url string) (*workflows.DownloadResult, error) {
	t.Helper()
	val, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: testJob, URL: url})
	if err != nil {
		return nil, err
	}
	var res workflows.DownloadResult
	if err := val.Get(&res); err != nil {
		t.Fatalf("decoding result: %v", err)
	}
	return &res, nil
}

// randomBytes is n bytes (n >= 44) of media a download accepts: a WAV
// header (16-bit stereo PCM at 44.1 kHz), then random samples.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(b)
	copy(b, "RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x44\xac\x00\x00\x10\xb1\x02\x00\x04\x00\x10\x00data")
	binary.LittleEndian.PutUint32(b[4:], uint32(n-8))
	binary.LittleEndian.PutUint32(b[40:], uint32(n-44))
	return b
}

// mediaServer serves data at any path with http.ServeContent, which honours
// Range, and records the Range header of each GET.
type mediaServer struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
}

func newMediaServer(t *testing.T, data []byte, ignoreRange bool) *mediaServer {
	s := &mediaServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			s.mu.Lock()
			s.ranges = append(s.ranges, r.Header.Get("Range"))
			s.mu.Unlock()
		}
		if ignoreRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *mediaServer) gotRanges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differing from the %d served", path, len(got), len(want))
	}
}

func assertAppError(t *testing.T, err error, errType string, retryable bool) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("got %v, want an application error", err)
	}
	if appErr.Type() != errType || appErr.NonRetryable() == retryable {
		t.Fatalf("got %s (non-retryable %v) %q, want %s retryable=%v",
			appErr.Type(), appErr.NonRetryable(), appErr.Message(), errType, retryable)
	}
	return appErr
}

func TestDownloadHTTP(t *testing.T) {
	// No heartbeat is due in a transfer shorter than the interval.
	defer func(i time.Duration) { heartbeat.Interval = i }(heartbeat.Interval)
	heartbeat.Interval = time.Hour
	data := randomBytes(3<<20 + 12345)
	srv := newMediaServer(t, data, false)
	a := newHTTPActivities(t)
	env, hb := newDownloadEnv(t, a)

	res, err := download(t, env, a, srv.URL+"/media/clip.mp4?token=x")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(a.WorkDir, testJob, "source.mp4")
	if len(res.Files) != 1 || res.Files[0] != want {
		t.Fatalf("files %v, want [%s]", res.Files, want)
	}
	assertFile(t, want, data)
	if res.Bytes != int64(len(data)) || res.Source != "http" {
		t.Errorf("bytes %d source %q, want %d http", res.Bytes, res.Source, len(data))
	}
	if r := srv.gotRanges(); len(r) != 1 || r[0] != "" {
		t.Errorf("GET ranges %q, want one request without Range", r)
	}
	if seen := hb.all(); len(seen) != 0 {
		t.Errorf("heartbeats %+v, want none from a transfer shorter than the interval", seen)
	}
}

// TestDownloadHTTPHeartbeats shows a download that lasts longer than the
// heartbeat interval reporting its progress.
func TestDownloadHTTPHeartbeats(t *testing.T) {
	defer func(i time.Duration) { heartbeat.Interval = i }(heartbeat.Interval)
	heartbeat.Interval = 20 * time.Millisecond
	data := randomBytes(400_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		for chunk := range slices.Chunk(data, 100_000) {
			_, _ = w.Write(chunk)
			w.(http.Flusher).Flush()
			time.Sleep(60 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	a := newHTTPActivities(t)
	env, hb := newDownloadEnv(t, a)

	if _, err := download(t, env, a, srv.URL+"/clip.mp4"); err != nil {
		t.Fatal(err)
	}
	// The SDK throttles what follows the first heartbeat.
	seen := hb.all()
	if len(seen) == 0 || seen[0].Bytes <= 0 || seen[0].Total != int64(len(data)) {
		t.Fatalf("heartbeats %+v, want progress over %d bytes", seen, len(data))
	}
}

func TestDownloadHTTPResumes(t *testing.T) {
	data := randomBytes(2<<20 + 777)
	const n = 1<<20 + 123
	srv := newMediaServer(t, data, false)
	a := newHTTPActivities(t)
	env, _ := newDownloadEnv(t, a)

	// The previous attempt heartbeated n bytes and wrote some more before
	// dying; what follows the heartbeat is not trusted.
	dir := filepath.Join(a.WorkDir, testJob)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	partial := append(bytes.Clone(data[:n]), bytes.Repeat([]byte{0xff}, 4096)...)
	if err := os.WriteFile(filepath.Join(dir, "source.mp4"), partial, 0o644); err != nil {
		t.Fatal(err)
	}
	env.SetHeartbeatDetails(workflows.Progress{Bytes: n, Total: int64(len(data))})

	res, err := download(t, env, a, srv.URL+"/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if r := srv.gotRanges(); len(r) != 1 || r[0] != "bytes=1048699-" {
		t.Errorf("GET ranges %q, want [bytes=1048699-]", r)
	}
	assertFile(t, res.Files[0], data)
	if res.Bytes != int64(len(data)) {
		t.Errorf("bytes %d, want %d", res.Bytes, len(data))
	}
}

func TestDownloadHTTPServerIgnoresRange(t *testing.T) {
	data := randomBytes(1<<20 + 5)
	srv := newMediaServer(t, data, true)
	a := newHTTPActivities(t)
	env, _ := newDownloadEnv(t, a)

	dir := filepath.Join(a.WorkDir, testJob)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "source.mp4"), data[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	env.SetHeartbeatDetails(workflows.Progress{Bytes: 1000})

	res, err := download(t, env, a, srv.URL+"/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if r := srv.gotRanges(); len(r) != 1 || r[0] != "bytes=1000-" {
		t.Errorf("GET ranges %q, want [bytes=1000-]", r)
	}
	assertFile(t, res.Files[0], data)
	if res.Bytes != int64(len(data)) {
		t.Errorf("bytes %d, want %d", res.Bytes, len(data))
	}
}

func TestDownloadHTTPAlreadyComplete(t *testing.T) {
	data := randomBytes(4096)
	srv := newMediaServer(t, data, false)
	a := newHTTPActivities(t)
	env, _ := newDownloadEnv(t, a)

	// The previous attempt got everything but failed before returning: the
	// server answers 416 to a range starting at the end.
	dir := filepath.Join(a.WorkDir, testJob)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "source.mp4"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	env.SetHeartbeatDetails(workflows.Progress{Bytes: int64(len(data))})

	res, err := download(t, env, a, srv.URL+"/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if r := srv.gotRanges(); len(r) != 1 || r[0] != "bytes=4096-" {
		t.Errorf("GET ranges %q, want [bytes=4096-]", r)
	}
	assertFile(t, res.Files[0], data)
	if res.Bytes != int64(len(data)) {
		t.Errorf("bytes %d, want %d", res.Bytes, len(data))
	}
}

// A URL without a media extension is fetched natively when HEAD says it is
// media, and the file is named after its Content-Type.
func TestDownloadHTTPSniffsContentType(t *testing.T) {
	data := randomBytes(10000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	a := newHTTPActivities(t)
	a.Ytdlp = "/nonexistent/yt-dlp" // must not be needed
	env, _ := newDownloadEnv(t, a)

	res, err := download(t, env, a, srv.URL+"/stream?id=42")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(a.WorkDir, testJob, "source.mp3"); res.Files[0] != want {
		t.Errorf("file %s, want %s", res.Files[0], want)
	}
	assertFile(t, res.Files[0], data)
}

func TestDownloadHTTPStatus(t *testing.T) {
	tests := []struct {
		status    int
		errType   string
		retryable bool
	}{
		{http.StatusNotFound, workflows.ErrTypeNotFound, false},
		{http.StatusGone, workflows.ErrTypeNotFound, false},
		{http.StatusForbidden, workflows.ErrTypeContentUnavailable, false},
		{http.StatusUnauthorized, workflows.ErrTypeContentUnavailable, false},
		{http.StatusTooManyRequests, workflows.ErrTypeRateLimited, true},
		{http.StatusServiceUnavailable, workflows.ErrTypeTechnical, true},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
			}))
			t.Cleanup(srv.Close)
			a := newHTTPActivities(t)
			env, _ := newDownloadEnv(t, a)

			url := srv.URL + "/clip.mp4"
			_, err := download(t, env, a, url)
			appErr := assertAppError(t, err, tc.errType, tc.retryable)
			if tc.status == http.StatusNotFound {
				if want := "HTTP 404 Not Found fetching " + url; appErr.Message() != want {
					t.Errorf("message %q, want %q", appErr.Message(), want)
				}
			}
		})
	}
}

func TestDownloadHTTPStall(t *testing.T) {
	defer func(i, s time.Duration) { heartbeat.Interval, httpget.StallTimeout = i, s }(heartbeat.Interval, httpget.StallTimeout)
	heartbeat.Interval, httpget.StallTimeout = 20*time.Millisecond, 200*time.Millisecond

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		_, _ = w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	a := newHTTPActivities(t)
	env, hb := newDownloadEnv(t, a)

	start := time.Now()
	_, err := download(t, env, a, srv.URL+"/clip.mp4")
	assertAppError(t, err, workflows.ErrTypeTechnical, true)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stall detected after %s", d)
	}
	// The failed attempt's last heartbeat is what the retry resumes from.
	seen := hb.all()
	if len(seen) == 0 || seen[len(seen)-1].Bytes != 1000 {
		t.Errorf("heartbeats %+v, want the last at 1000 bytes", seen)
	}
}

func TestDownloadInvalidInput(t *testing.T) {
	a := newHTTPActivities(t)
	for _, in := range []workflows.DownloadInput{
		{JobID: testJob, URL: "ftp://127.0.0.1/clip.mp4"},
		{JobID: testJob, URL: "file:///etc/passwd"},
		{JobID: testJob, URL: "not a url"},
		{JobID: "..", URL: "http://127.0.0.1/clip.mp4"},
		{JobID: "", URL: "http://127.0.0.1/clip.mp4"},
	} {
		env, _ := newDownloadEnv(t, a)
		_, err := env.ExecuteActivity(a.Download, in)
		assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
	}
}

// The metadata of a direct file comes from its container tags.
func TestDownloadHTTPTags(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	requireTool(t, "ffprobe")
	clip := filepath.Join(t.TempDir(), "tagged.mp4")
	out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1",
		"-c:a", "aac", "-metadata", "title=Tagged Clip", "-metadata", "date=2021-04-05",
		"-metadata", "comment=From the test", clip).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(clip))))
	t.Cleanup(srv.Close)
	a := newHTTPActivities(t)
	env, _ := newDownloadEnv(t, a)

	res, err := download(t, env, a, srv.URL+"/tagged.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if res.Title != "Tagged Clip" || res.Description != "From the test" || res.ReleaseDate != "2021-04-05T00:00:00Z" {
		t.Errorf("got title %q description %q date %q", res.Title, res.Description, res.ReleaseDate)
	}
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("%s is required: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}
