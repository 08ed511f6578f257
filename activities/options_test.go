package activities

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/internal/ytdlp"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
)

// TestMuxAudioFormats: an audio format keeps the audio alone, copied when
// the format holds the codec (AAC in m4a), encoded otherwise.
func TestMuxAudioFormats(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job1")
	src := filepath.Join(job, "src.mp4")
	require.NoError(t, os.MkdirAll(job, 0o755))
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", src)
	for format, codec := range map[string]string{"m4a": "aac", "mp3": "mp3", "ogg": "vorbis", "opus": "opus"} {
		res, err := runMux(t, work, workflows.MuxInput{JobID: "job1", Inputs: []string{src}, Format: format})
		require.NoError(t, err, format)
		require.Equal(t, "codec_name="+codec+"\ncodec_type=audio\n", probe(t, res.Path, "stream=codec_type,codec_name"), format)
	}
}

// TestMuxClipsAndGrabsAFrame: a clip is cut from both inputs; a thumbnail
// comes from the video when the source had none.
func TestMuxClipsAndGrabsAFrame(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job1")
	require.NoError(t, os.MkdirAll(job, 0o755))
	v, a := filepath.Join(job, "src.v.mp4"), filepath.Join(job, "src.a.m4a")
	// A keyframe every second, so a stream-copy cut at whole seconds is exact.
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", v)
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "4", "-c:a", "aac", a)
	res, err := runMux(t, work, workflows.MuxInput{JobID: "job1", Inputs: []string{v, a}, Format: "mkv", ClipStart: 1, ClipEnd: 2.5, Thumbnail: true})
	require.NoError(t, err)
	d, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(probe(t, res.Path, "format=duration")), "duration="), 64)
	require.NoError(t, err)
	require.InDelta(t, 1.5, d, 0.3, "clip duration")
	require.Equal(t, filepath.Join(job, "frame.jpg"), res.Thumbnail)
	require.Contains(t, probe(t, res.Thumbnail, "stream=codec_name,width"), "codec_name=mjpeg\nwidth=64")

	// Audio only: no frame to grab, and no failure for it.
	res, err = runMux(t, work, workflows.MuxInput{JobID: "job1", Inputs: []string{a}, Format: "m4a", Thumbnail: true})
	require.NoError(t, err)
	require.Empty(t, res.Thumbnail)
	// A source thumbnail is kept as it is.
	res, err = runMux(t, work, workflows.MuxInput{JobID: "job1", Inputs: []string{a}, Format: "m4a", Thumbnail: true, ThumbnailPath: "/w/thumb.webp"})
	require.NoError(t, err)
	require.Equal(t, "/w/thumb.webp", res.Thumbnail)
}

func TestMuxClipPastTheEndFails(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job1")
	require.NoError(t, os.MkdirAll(job, 0o755))
	a := filepath.Join(job, "src.m4a")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "2", "-c:a", "aac", a)
	_, err := runMux(t, work, workflows.MuxInput{JobID: "job1", Inputs: []string{a}, Format: "m4a", ClipStart: 5})
	require.ErrorContains(t, assertAppError(t, err, workflows.ErrTypeInvalidInput, false), "past the end of the media")
}

func TestMuxAudioFormatWithoutAudioFails(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job1")
	require.NoError(t, os.MkdirAll(job, 0o755))
	v := filepath.Join(job, "src.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", v)
	_, err := runMux(t, work, workflows.MuxInput{JobID: "job1", Inputs: []string{v}, Format: "mp3"})
	assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
}

func TestCheckDuration(t *testing.T) {
	require.NoError(t, checkDuration(0, 10), "unknown duration passes")
	require.NoError(t, checkDuration(10, 10))
	require.NoError(t, checkDuration(1e6, 0), "no limit")
	err := checkDuration(10.2, 10)
	require.ErrorContains(t, err, "lasts 11 s, longer than max_duration (10 s)")
	assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
}

// TestDownloadRefusesLongMediaFromInfoJSON: when yt-dlp's info JSON states
// the duration, a longer source is refused before any media is fetched.
// A stand-in yt-dlp answers -J and records every call.
func TestDownloadRefusesLongMediaFromInfoJSON(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fake := filepath.Join(dir, "yt-dlp")
	script := "#!/bin/sh\necho \"$*\" >> " + calls + "\n" +
		"case \" $* \" in *\" -J \"*) echo '{\"title\":\"Long\",\"duration\":3600.5,\"format_id\":\"hls-720\",\"extractor\":\"fake\"}'; exit 0;; esac\n" +
		"exit 1\n"
	require.NoError(t, os.WriteFile(fake, []byte(script), 0o755))
	srv := httptest.NewServer(http.NotFoundHandler()) // the HEAD probe finds no media type
	t.Cleanup(srv.Close)
	a := &Activities{HTTP: http.DefaultClient, WorkDir: t.TempDir(), Ytdlp: fake}
	env, _ := newDownloadEnv(t, a)
	_, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: "j1", URL: srv.URL + "/watch", MaxDuration: 600, MaxHeight: 720})
	require.ErrorContains(t, err, "the media lasts 3601 s, longer than max_duration (600 s)")
	b, err := os.ReadFile(calls)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 1, "only the info JSON was asked for: %q", lines)
	require.Contains(t, lines[0], "-f "+ytdlp.FormatSelector(workflows.DownloadInput{MaxHeight: 720})+" -- ", "the selector of max_resolution")
}
