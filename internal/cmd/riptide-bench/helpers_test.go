package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPlaylistSegmentsResolvesEveryURILine(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080/hls/stream.m3u8?token=a")
	segs, err := playlistSegments(base, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n\n"+
		"#EXTINF:0.5,\nseg00000.ts\n#EXTINF:0.5,\r\n/other/seg00001.ts\r\n#EXTINF:0.5,\nhttp://127.0.0.2/seg00002.ts\n#EXT-X-ENDLIST\n")
	require.NoError(t, err)
	require.Equal(t, []string{
		"http://127.0.0.1:8080/hls/seg00000.ts",
		"http://127.0.0.1:8080/other/seg00001.ts",
		"http://127.0.0.2/seg00002.ts",
	}, segs)
}

func TestPlaylistSegmentsRefusesWhatIsNoMediaPlaylist(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1/hls/stream.m3u8")
	_, err := playlistSegments(base, "<html>not found</html>")
	require.ErrorContains(t, err, "not an HLS playlist")
	_, err = playlistSegments(base, "#EXTM3U\n#EXT-X-ENDLIST\n")
	require.ErrorContains(t, err, "no segments")
}

// The shape of yt-dlp's -J for ffmpeg's dash muxer output (yt-dlp
// 2023.03.04): fragment paths relative to fragment_base_url, the init
// segment first.
func TestDashStreamsReadsBothSegmentLists(t *testing.T) {
	info := `{"requested_formats": [
		{"format_id": "0", "protocol": "http_dash_segments", "fragment_base_url": "http://127.0.0.1:9/dash/",
		 "fragments": [{"path": "init-stream0.m4s"}, {"path": "chunk-stream0-00001.m4s", "duration": 2.0}]},
		{"format_id": "1", "protocol": "http_dash_segments", "fragment_base_url": "http://127.0.0.1:9/dash/",
		 "fragments": [{"path": "init-stream1.m4s"}, {"url": "http://127.0.0.1:9/abs/chunk-stream1-00001.m4s"}]}]}`
	streams, err := dashStreams([]byte(info))
	require.NoError(t, err)
	require.Equal(t, [2][]string{
		{"http://127.0.0.1:9/dash/init-stream0.m4s", "http://127.0.0.1:9/dash/chunk-stream0-00001.m4s"},
		{"http://127.0.0.1:9/dash/init-stream1.m4s", "http://127.0.0.1:9/abs/chunk-stream1-00001.m4s"},
	}, streams)
}

func TestDashStreamsRefusesWhatIsNotTwoSegmentLists(t *testing.T) {
	for name, info := range map[string]string{
		"one format":  `{"requested_formats": [{"format_id": "0", "protocol": "http_dash_segments", "fragments": [{"url": "http://h/a"}]}]}`,
		"merged file": `{"format_id": "18", "protocol": "https"}`,
		"plain https": `{"requested_formats": [{"format_id": "0", "protocol": "https"}, {"format_id": "1", "protocol": "https"}]}`,
		"no base URL": `{"requested_formats": [{"format_id": "0", "protocol": "http_dash_segments", "fragments": [{"path": "a"}]},
			{"format_id": "1", "protocol": "http_dash_segments", "fragments": [{"path": "b"}]}]}`,
		"not JSON": `WARNING: [generic] Falling back on generic information extractor`,
	} {
		_, err := dashStreams([]byte(info))
		require.Error(t, err, name)
	}
}

func TestLoopsAddsUpToAtLeastTheSize(t *testing.T) {
	require.Equal(t, int64(0), loops(10, 20), "one pass is enough")
	require.Equal(t, int64(0), loops(20, 20))
	require.Equal(t, int64(1), loops(21, 20))
	require.Equal(t, int64(52), loops(1<<30, 20634412), "53 passes of a 20 MB clip")
	require.Equal(t, int64(0), loops(1<<30, 0), "no clip: no loop")
}

func TestFloorCellIsRiptideOverTheFloor(t *testing.T) {
	require.Equal(t, "riptide/floor **1.30**", floorCell(13*time.Second, 10*time.Second))
	require.Equal(t, "–", floorCell(time.Second, 0))
}

func TestRiptideLabelPrefersTheJobViewsStrategy(t *testing.T) {
	require.Equal(t, "riptide (native_hls)", riptideLabel("native_hls", "RIPTIDE_DOWNLOAD_STRATEGY=ytdlp"))
	require.Equal(t, "riptide (RIPTIDE_DOWNLOAD_STRATEGY=ytdlp)", riptideLabel("", "RIPTIDE_DOWNLOAD_STRATEGY=ytdlp"))
	require.Equal(t, "riptide", riptideLabel("", ""))
}

func TestFineSecsShowsHundredthsUnderTenSeconds(t *testing.T) {
	require.Equal(t, "0.09 s", fineSecs(88*time.Millisecond))
	require.Equal(t, "12.3 s", fineSecs(12300*time.Millisecond))
}

func TestWithoutProxiesDropsEveryProxyVariable(t *testing.T) {
	require.Equal(t, []string{"PATH=/usr/bin", "HOME=/root"},
		withoutProxies([]string{"PATH=/usr/bin", "HTTP_PROXY=http://p:3128", "https_proxy=x", "ALL_PROXY=y", "HOME=/root", "NO_PROXY=z"}))
}
