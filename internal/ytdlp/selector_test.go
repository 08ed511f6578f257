package ytdlp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/workflows"
)

// TestFormatSelectorComparesTheShorterSide runs the real yt-dlp on HLS
// ladders generated with ffmpeg, one landscape and one portrait, each with
// renditions whose shorter side is 360, 240 and 144: max_resolution picks
// by the shorter side in both orientations, and the smallest rendition
// when all are larger.
func TestFormatSelectorComparesTheShorterSide(t *testing.T) {
	mediatest.RequireTools(t, "yt-dlp", "ffmpeg")
	dir := t.TempDir()
	short := []int{360, 240, 144}
	for _, orient := range []string{"landscape", "portrait"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, orient), 0o755))
		var master strings.Builder
		master.WriteString("#EXTM3U\n")
		for _, s := range short {
			w, h := s*16/9/2*2, s
			if orient == "portrait" {
				w, h = h, w
			}
			mediatest.FFmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=5", w, h),
				"-f", "lavfi", "-i", "sine", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
				"-c:a", "aac", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
				filepath.Join(dir, orient, fmt.Sprintf("v%d.m3u8", s)))
			fmt.Fprintf(&master, "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=%dx%d,CODECS=\"avc1.42c01e,mp4a.40.2\"\nv%d.m3u8\n",
				s*1000, w, h, s)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, orient, "master.m3u8"), []byte(master.String()), 0o644))
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	for _, tc := range []struct {
		orient    string
		max, want int // want: the shorter side of the pick
	}{
		{"landscape", 0, 360}, {"landscape", 240, 240}, {"landscape", 300, 240}, {"landscape", 100, 144},
		{"portrait", 0, 360}, {"portrait", 240, 240}, {"portrait", 300, 240}, {"portrait", 100, 144},
		{"portrait", 360, 360},
	} {
		t.Run(fmt.Sprintf("%s %d", tc.orient, tc.max), func(t *testing.T) {
			sel := FormatSelector(workflows.DownloadInput{MaxHeight: tc.max})
			_, info, err := Runner{Path: "yt-dlp"}.Info(context.Background(), srv.URL+"/"+tc.orient+"/master.m3u8", sel)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint(tc.want), info.FormatID, "selector %s", sel)
		})
	}
}
