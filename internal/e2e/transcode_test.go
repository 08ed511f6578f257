//go:build integration

package e2e

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// transcodeSource is a 3 s 320x240 H.264/AAC mp4 whose audio is noise, so
// that encoders spend the bitrate they are given; served once per binary.
var transcodeSource struct {
	once sync.Once
	url  string
	err  error
}

func transcodeSourceURL(t *testing.T) string {
	t.Helper()
	transcodeSource.once.Do(func() {
		dir, err := os.MkdirTemp("", "riptide-e2e-transcode-")
		if err != nil {
			transcodeSource.err = err
			return
		}
		out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
			"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.5:sample_rate=48000",
			"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
			filepath.Join(dir, "src.mp4")).CombinedOutput()
		if err != nil {
			transcodeSource.err = fmt.Errorf("ffmpeg: %w: %s", err, out)
			return
		}
		transcodeSource.url = serve(http.FileServer(http.Dir(dir))).URL + "/src.mp4"
	})
	require.NoError(t, transcodeSource.err)
	return transcodeSource.url
}

// probeFull is probeObject with bit rates.
func probeFull(t *testing.T, key string) map[string]string {
	t.Helper()
	return probeEntries(t, key, "format=duration,format_name,bit_rate:stream=index,codec_type,codec_name,width,height,bit_rate")
}

// Each transcode runs as a job on the real stack and its object is what
// ffprobe says: codec, container, audio bitrate within 25 %; the job view
// reports the source's and the written codecs and qualities.
func TestTranscodes(t *testing.T) {
	requireStack(t)
	t.Parallel()
	src := transcodeSourceURL(t)
	tests := []struct {
		name string
		body map[string]any
		ext  string
		// container is a substring of ffprobe's format_name.
		container    string
		video, audio string // ffprobe's codec names; video "" for audio
		// bitrate is the audio's in bit/s when it is checked: the audio
		// stream's, or the whole file's for audio formats.
		bitrate float64
		// view's video_codec and actual_quality
		viewVideo, quality any
	}{
		{"h264-mp4", map[string]any{"video_codec": "h264", "video_quality": 30, "audio_codec": "aac", "audio_bitrate": "192k"},
			".mp4", "mp4", "h264", "aac", 192000, "h264", "240p"},
		{"h265-mkv-preset", map[string]any{"format": "mkv", "video_codec": "h265", "quality_preset": "low", "max_resolution": "720"},
			".mkv", "matroska", "hevc", "aac", 0, "h265", "240p"},
		{"vp9-webm", map[string]any{"format": "webm", "video_codec": "vp9", "quality_preset": "high", "audio_bitrate": "128k"},
			".webm", "webm", "vp9", "opus", 0, "vp9", "240p"},
		{"mp3-128k", map[string]any{"format": "mp3", "audio_codec": "mp3", "audio_bitrate": "128k"},
			".mp3", "mp3", "", "mp3", 128000, nil, nil},
		{"opus-64k", map[string]any{"audio_only": true, "format": "opus", "audio_codec": "opus", "audio_bitrate": "64k"},
			".opus", "ogg", "", "opus", 64000, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.body["url"], tt.body["folder"] = src, "e2e/transcode/"+tt.name
			b := completed(t, tt.body)
			key := b["key"].(string)
			require.True(t, strings.HasSuffix(key, tt.ext), key)
			p := probeFull(t, key)
			require.Contains(t, p["format.format_name"], tt.container, "%v", p)
			audioIdx := "0"
			if tt.video != "" {
				require.Equal(t, "video", p["stream.0.codec_type"], "%v", p)
				require.Equal(t, tt.video, p["stream.0.codec_name"], "%v", p)
				require.Equal(t, "240", p["stream.0.height"], "%v", p)
				audioIdx = "1"
			} else {
				_, second := p["stream.1.codec_type"]
				require.False(t, second, "audio only: %v", p)
			}
			require.Equal(t, "audio", p["stream."+audioIdx+".codec_type"], "%v", p)
			require.Equal(t, tt.audio, p["stream."+audioIdx+".codec_name"], "%v", p)
			require.InDelta(t, 3, duration(t, p), 0.3, "%v", p)
			if tt.bitrate > 0 {
				raw := p["stream."+audioIdx+".bit_rate"]
				if tt.video == "" {
					raw = p["format.bit_rate"]
				}
				br, err := strconv.ParseFloat(raw, 64)
				require.NoError(t, err, "%v", p)
				require.LessOrEqual(t, math.Abs(br-tt.bitrate)/tt.bitrate, 0.25, "audio at %.0f bit/s, asked %.0f: %v", br, tt.bitrate, p)
			}

			status, job := call(t, http.MethodGet, "/jobs/"+b["job_id"].(string), nil)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "h264", job["native_video_codec"], "%v", job)
			require.Equal(t, "aac", job["native_audio_codec"], "%v", job)
			wantReq := "best"
			if tt.body["max_resolution"] != nil {
				wantReq = "720p"
			}
			require.Equal(t, wantReq, job["requested_quality"], "%v", job)
			require.Equal(t, tt.quality, job["actual_quality"], "%v", job)
			require.Equal(t, tt.viewVideo, job["video_codec"], "%v", job)
			require.Equal(t, tt.audio, job["audio_codec"], "%v", job)
			require.IsType(t, float64(0), job["mux_duration_ms"], "the transcode ran in the mux stage: %v", job)
		})
	}
}

// A combination the container cannot hold is refused before any job
// starts, naming the field.
func TestTranscodeRefusesWhatTheContainerCannotHold(t *testing.T) {
	requireStack(t)
	t.Parallel()
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"format": "webm", "video_codec": "h265"}, "video_codec"},
		{map[string]any{"format": "mov", "video_codec": "vp9"}, "video_codec"},
		{map[string]any{"audio_only": true, "video_codec": "h264"}, "video_codec"},
		{map[string]any{"format": "mp3", "audio_codec": "aac"}, "audio_codec"},
	} {
		tc.body["url"] = "https://example.com/v.mp4"
		status, body := call(t, http.MethodPost, "/jobs", tc.body)
		require.Equal(t, http.StatusBadRequest, status, "%v", body)
		require.Equal(t, tc.field, body["field"], "%v", body)
		require.NotEmpty(t, body["error"])
	}
}
