//go:build integration

package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// liveStream is an HLS EVENT stream ffmpeg writes in real time (-re) into
// a directory served on loopback: its playlist grows by a one-second
// segment a second, and gets EXT-X-ENDLIST when ffmpeg ends it after
// seconds. It records who fetched its segments.
type liveStream struct {
	url string
	mu  sync.Mutex
	uas map[string]int // User-Agent → segment requests
}

func startLiveStream(t *testing.T, seconds int) *liveStream {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "event",
		"-hls_segment_filename", filepath.Join(dir, "seg%03d.ts"), filepath.Join(dir, "live.m3u8"))
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	s := &liveStream{uas: map[string]int{}}
	files := http.FileServer(http.Dir(dir))
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".ts") {
			s.mu.Lock()
			s.uas[r.UserAgent()]++
			s.mu.Unlock()
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/live.m3u8"
	// Submit once the stream is up: its first segment is listed.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "live.m3u8"))
		if err == nil && strings.Contains(string(b), "#EXTINF") {
			return s
		}
		require.True(t, time.Now().Before(deadline), "ffmpeg's live stream did not start")
		time.Sleep(100 * time.Millisecond)
	}
}

// fetchedNatively tells whether every segment request came from the
// worker's own Go HTTP client (the live recorder), none from yt-dlp.
func (s *liveStream) fetchedNatively(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.uas)
	for ua := range s.uas {
		require.True(t, strings.HasPrefix(ua, "Go-http-client"), "segments fetched by %q: %v", ua, s.uas)
	}
}

func TestLiveRecording(t *testing.T) {
	requireStack(t)
	t.Parallel()
	t.Run("capped by max_duration", func(t *testing.T) {
		t.Parallel()
		// The stream would run 40 s; the recording stops at its 6 s cap.
		s := startLiveStream(t, 40)
		b := completed(t, map[string]any{"url": s.url, "live_recording": true, "max_duration": 6, "folder": "e2e/live"})
		key := b["key"].(string)
		require.True(t, strings.HasSuffix(key, ".mp4"), key)
		p := probeObject(t, key)
		require.ElementsMatch(t, []string{"video", "audio"}, []string{p["stream.0.codec_type"], p["stream.1.codec_type"]}, "%v", p)
		d := duration(t, p)
		t.Logf("a 6 s cap recorded %.2f s", d)
		require.True(t, d >= 4 && d <= 10, "a 6 s cap recorded %.1f s: %v", d, p)
		s.fetchedNatively(t)
	})
	t.Run("the stream ends before the cap", func(t *testing.T) {
		t.Parallel()
		// No live_recording: the live playlist is detected. ffmpeg ends
		// the stream (ENDLIST) after 5 s, long before the 60 s cap.
		s := startLiveStream(t, 5)
		b := completed(t, map[string]any{"url": s.url, "max_duration": "60", "format": "mkv", "folder": "e2e/live"})
		key := b["key"].(string)
		require.True(t, strings.HasSuffix(key, ".mkv"), key)
		d := duration(t, probeObject(t, key))
		t.Logf("a 5 s stream recorded %.2f s", d)
		require.True(t, d >= 1 && d <= 7, "a 5 s stream recorded %.1f s", d)
		s.fetchedNatively(t)
	})
}
