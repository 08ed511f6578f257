package ytdlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/heartbeat"

	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// fakeYtdlp writes a stand-in yt-dlp that records its arguments in
// <dir>/args and runs the Python body, which prints the JSON.
func fakeYtdlp(t *testing.T, body string) (path, argsFile string) {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	// Outside an activity: no heartbeat may fall due.
	i := heartbeat.Interval
	t.Cleanup(func() { heartbeat.Interval = i })
	heartbeat.Interval = time.Hour
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	path = filepath.Join(dir, "yt-dlp")
	script := "#!" + py + "\nimport sys, json\nopen(" + pyQuote(argsFile) + ", 'w').write(' '.join(sys.argv[1:]))\n" + body
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path, argsFile
}

func pyQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestPlaylistStopsAtTheEntryLimit has yt-dlp print a flat playlist of a
// million entries, a channel tab nesting them: the listing asks yt-dlp
// for one entry more than the limit, decodes the JSON as it streams,
// stops at the limit whatever yt-dlp prints, and fails for good in words,
// with a bounded heap.
func TestPlaylistStopsAtTheEntryLimit(t *testing.T) {
	path, argsFile := fakeYtdlp(t, `
out = sys.stdout
out.write('{"id": "chan", "title": "Channel", "_type": "playlist", "entries": [{"_type": "playlist", "title": "Videos", "entries": [')
for i in range(1000000):
    out.write((',' if i else '') + json.dumps({"_type": "url", "url": "https://video.example/watch?v=%d" % i,
        "title": "Video %d" % i, "description": "d" * 100, "upload_date": "20260105"}))
out.write(']}]}\n')
`)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	eps, err := Runner{Path: path}.Playlist(context.Background(), "https://video.example/channel", 1000)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	require.Nil(t, eps)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	require.Equal(t, workflows.ErrTypeInvalidInput, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Equal(t, "https://video.example/channel lists over 1000 episodes; at most 1000 fit in a batch", appErr.Message())
	args, err := os.ReadFile(argsFile)
	require.NoError(t, err)
	require.Contains(t, string(args), "--playlist-items 1:1001 -- https://video.example/channel")
	// What the decoder allocated in all, garbage included: a whole
	// 150 MB document would be far more.
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(200<<20), "bytes allocated")
}

// A listing within the limit reads as before: nested tabs flattened,
// non-HTTP entries skipped, odd field types ignored.
func TestPlaylistWithinTheLimit(t *testing.T) {
	path, _ := fakeYtdlp(t, `
print(json.dumps({"_type": "playlist", "title": "P", "entries": [
  {"_type": "url", "url": "https://v.example/a", "title": "A", "upload_date": "20260105", "view_count": {"x": [1, 2]}},
  {"_type": "playlist", "entries": [{"url": "https://v.example/b", "webpage_url": "https://v.example/page/b", "timestamp": 1767225600}]},
  {"_type": "playlist", "url": "https://v.example/empty", "entries": []},
  None,
  {"url": "ftp://v.example/c", "title": 7},
]}))
`)
	eps, err := Runner{Path: path}.Playlist(context.Background(), "https://v.example/p", 4)
	require.NoError(t, err)
	require.Equal(t, []workflows.Episode{
		{URL: "https://v.example/a", Title: "A", ReleaseDate: "2026-01-05T00:00:00Z"},
		{URL: "https://v.example/page/b", ReleaseDate: "2026-01-01T00:00:00Z"},
		{URL: "https://v.example/empty"},
	}, eps)

	// Four leaves (the ftp one counts): one over a limit of 3.
	_, err = Runner{Path: path}.Playlist(context.Background(), "https://v.example/p", 3)
	require.ErrorContains(t, err, "lists over 3 episodes")
}

// TestPlaylistRealYtdlpStopsAtTheLimit runs the real yt-dlp on a local
// page of 50 videos: with a limit of 3 it lists 4 (--playlist-items) and
// the listing is refused; with a limit of 60 all 50 are listed.
func TestPlaylistRealYtdlpStopsAtTheLimit(t *testing.T) {
	bin, err := exec.LookPath("yt-dlp")
	if err != nil {
		t.Skip("yt-dlp not installed")
	}
	var page strings.Builder
	page.WriteString("<html><head><title>Many</title></head><body>")
	for i := range 50 {
		fmt.Fprintf(&page, `<video src="/v%d.mp4"></video>`, i)
	}
	page.WriteString("</body></html>")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page.String())
	}))
	defer srv.Close()
	// Outside an activity: no heartbeat may fall due.
	defer func(i time.Duration) { heartbeat.Interval = i }(heartbeat.Interval)
	heartbeat.Interval = time.Hour
	r := Runner{Path: bin}

	_, err = r.Playlist(context.Background(), srv.URL+"/many.html", 3)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	require.Equal(t, workflows.ErrTypeInvalidInput, appErr.Type())
	require.Contains(t, appErr.Message(), "lists over 3 episodes")

	eps, err := r.Playlist(context.Background(), srv.URL+"/many.html", 60)
	require.NoError(t, err)
	require.Len(t, eps, 50)
}
