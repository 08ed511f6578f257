package activities

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
)

// TestDownloadDASHNatively: a direct .mpd URL is downloaded by riptide
// alone (yt-dlp is not even installed for it): video and audio apart,
// every segment fetched once through the guard, the manifest's file name
// as the title; with the guard refusing loopback nothing is fetched.
func TestDownloadDASHNatively(t *testing.T) {
	src := t.TempDir()
	ffmpegClip(t, src, "-f", "dash", "-seg_duration", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a", "clip.mpd")
	segments, err := filepath.Glob(filepath.Join(src, "*.m4s"))
	if err != nil || len(segments) < 4 {
		t.Fatalf("ffmpeg wrote %d segments: %v", len(segments), err)
	}
	var gets atomic.Int64
	fs := http.FileServer(http.Dir(src))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	newActs := func(allow ...netip.Prefix) *Activities {
		a := newHTTPActivities(t)
		a.Ffprobe, a.Ytdlp, a.NativeDownload = requireTool(t, "ffprobe"), "/nonexistent/yt-dlp", true
		guarded(t, a, allow...)
		return a
	}

	a := newActs()
	env, _ := newDownloadEnv(t, a)
	_, err = download(t, env, a, srv.URL+"/clip.mpd")
	requireBlocked(t, err)
	if n := gets.Load(); n != 0 {
		t.Fatalf("the guard let %d requests through", n)
	}

	a = newActs(netip.MustParsePrefix("127.0.0.0/8"))
	env, _ = newDownloadEnv(t, a)
	res, err := download(t, env, a, srv.URL+"/clip.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if res.Strategy != workflows.DownloadNativeDASH || res.Source != "dash" || res.Title != "clip" {
		t.Errorf("strategy %q source %q title %q", res.Strategy, res.Source, res.Title)
	}
	if len(res.Files) != 2 {
		t.Fatalf("files %v, want video and audio", res.Files)
	}
	for i, want := range []string{"video", "audio"} {
		if got := streamTypes(t, a.Ffprobe, res.Files[i]); got != want {
			t.Errorf("file %d (%s) has streams %q, want %q", i, res.Files[i], got, want)
		}
	}
	var want int64
	for _, f := range segments { // the init segments too
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		want += st.Size()
	}
	if res.Bytes != want {
		t.Errorf("downloaded %d bytes, the segments hold %d", res.Bytes, want)
	}
	// The manifest, then each init and media segment once.
	if n, segs := gets.Load(), int64(len(segments)); n != segs+1 {
		t.Errorf("%d requests for a manifest and %d segments", n, segs)
	}
	if res.Streams == nil || res.Streams.VideoCodec != "h264" || res.Streams.AudioCodec != "aac" || res.Streams.Height != 240 {
		t.Errorf("streams %+v", res.Streams)
	}
}
