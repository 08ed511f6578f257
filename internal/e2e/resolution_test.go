//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/mediatest"
)

// TestMaxResolutionComparesTheShorterSide: "max_resolution": "720" (the
// reference's string spelling) on a vertical HLS ladder (1080x1920,
// 720x1280, 360x640) stores the 720x1280 rendition: the shorter side is
// what is compared, so a vertical video is not pushed down to 360x640.
func TestMaxResolutionComparesTheShorterSide(t *testing.T) {
	requireStack(t)
	t.Parallel()
	dir := t.TempDir()
	var master strings.Builder
	master.WriteString("#EXTM3U\n")
	for _, w := range []int{1080, 720, 360} {
		h := w * 16 / 9
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=5", w, h),
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "1",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "5", "-c:a", "aac", "-b:a", "64k",
			"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", filepath.Join(dir, fmt.Sprintf("v%d.m3u8", w)))
		fmt.Fprintf(&master, "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=%dx%d,CODECS=\"avc1.42c01e,mp4a.40.2\"\nv%d.m3u8\n",
			w*1000, w, h, w)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "master.m3u8"), []byte(master.String()), 0o644))
	src := serve(http.FileServer(http.Dir(dir)))
	t.Cleanup(src.Close)

	b := completed(t, map[string]any{"url": src.URL + "/master.m3u8", "max_resolution": "720", "folder": "e2e/res-vertical"})
	key, _ := b["key"].(string)
	require.NotEmpty(t, key, "%v", b)
	p := probeObject(t, key)
	require.Equal(t, "native_hls", downloadStrategy(t, b["job_id"].(string)))
	require.Equal(t, "720", p["stream.0.width"], "%v", p)
	require.Equal(t, "1280", p["stream.0.height"], "%v", p)
}

// TestMaxResolutionOnALandscapeLadder: on a 240/720/1080 HLS ladder,
// "max_resolution" picks the tallest rendition not above the cap: "720"
// the 720p one, "best" the 1080p one, 240 the 240p one.
func TestMaxResolutionOnALandscapeLadder(t *testing.T) {
	requireStack(t)
	t.Parallel()
	dir := t.TempDir()
	var master strings.Builder
	master.WriteString("#EXTM3U\n")
	for _, h := range []int{240, 720, 1080} {
		w := h * 16 / 9 / 2 * 2 // 426, 1280, 1920: even, as yuv420p needs
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=5", w, h),
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "1",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "5", "-c:a", "aac", "-b:a", "64k",
			"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", filepath.Join(dir, fmt.Sprintf("v%d.m3u8", h)))
		fmt.Fprintf(&master, "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=%dx%d,CODECS=\"avc1.42c01e,mp4a.40.2\"\nv%d.m3u8\n",
			h*1000, w, h, h)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "master.m3u8"), []byte(master.String()), 0o644))
	src := serve(http.FileServer(http.Dir(dir)))
	t.Cleanup(src.Close)

	for _, tt := range []struct {
		name   string
		res    any
		height string
	}{
		{"720", "720", "720"},
		{"best", "best", "1080"},
		{"240", 240, "240"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := completed(t, map[string]any{"url": src.URL + "/master.m3u8", "max_resolution": tt.res, "folder": "e2e/res-landscape-" + tt.name})
			key, _ := b["key"].(string)
			require.NotEmpty(t, key, "%v", b)
			p := probeObject(t, key)
			require.Equal(t, tt.height, p["stream.0.height"], "%v", p)
			require.Equal(t, "native_hls", downloadStrategy(t, b["job_id"].(string)))
		})
	}
}
