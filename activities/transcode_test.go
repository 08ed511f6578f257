package activities

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

// The mux re-encodes what the Transcode asks, encodes audio the container
// cannot hold, and reports what it wrote; Download's NeedsMux says a
// transcode must run even when the file already is in the container.
func TestMuxTranscodes(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "jt")
	require.NoError(t, os.MkdirAll(job, 0o755))
	src := filepath.Join(job, "src.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", src)
	a := &Activities{WorkDir: work, Ffmpeg: "ffmpeg", Ffprobe: "ffprobe"}
	media := ffmpeg.Probe(t.Context(), a.Ffprobe, src)
	require.NotNil(t, media)

	// Already an mp4: kept, unless a transcode is asked.
	require.False(t, muxNeeded(workflows.MuxInput{Inputs: []string{src}, Format: "mp4", Media: media}))
	require.False(t, muxNeeded(workflows.MuxInput{Inputs: []string{src}, Format: "mp4", Media: media,
		Transcode: &workflows.Transcode{AudioBitrate: 128}}), "a bitrate alone encodes nothing")
	require.True(t, muxNeeded(workflows.MuxInput{Inputs: []string{src}, Format: "mp4", Media: media,
		Transcode: &workflows.Transcode{VideoCodec: "h264"}}))

	res, err := runMux(t, work, workflows.MuxInput{JobID: "jt", Inputs: []string{src}, Format: "webm", Media: media,
		Transcode: &workflows.Transcode{VideoCodec: "vp9", CRF: 30, AudioBitrate: 64}})
	require.NoError(t, err)
	require.False(t, res.Kept)
	require.Contains(t, probe(t, res.Path, "stream=codec_name"), "codec_name=vp9")
	require.Contains(t, probe(t, res.Path, "stream=codec_name"), "codec_name=opus", "aac cannot go into webm: encoded to opus")
	require.Equal(t, &workflows.Streams{VideoCodec: "vp9", AudioCodec: "opus", Width: 160, Height: 120}, res.Streams)

	res, err = runMux(t, work, workflows.MuxInput{JobID: "jt", Inputs: []string{src}, Format: "mp4", Media: media,
		Transcode: &workflows.Transcode{VideoCodec: "h265", CRF: 28, AudioCodec: "mp3", AudioBitrate: 128}})
	require.NoError(t, err)
	require.Equal(t, &workflows.Streams{VideoCodec: "hevc", AudioCodec: "mp3", Width: 160, Height: 120}, res.Streams)
	require.Contains(t, probe(t, res.Path, "stream=codec_tag_string"), "codec_tag_string=hvc1")
}

// A transcode heartbeats ffmpeg's progress and stops when the activity is
// cancelled: its context kills ffmpeg, and no output is left behind.
func TestMuxTranscodeHeartbeatsAndIsCancellable(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "jc")
	require.NoError(t, os.MkdirAll(job, 0o755))
	clip, src := filepath.Join(job, "clip.mp4"), filepath.Join(job, "src.mp4")
	// Ten minutes (a 2 s clip looped by stream copy): an encode that would
	// run for minutes if the cancellation did not stop it; then it would
	// succeed, and the test fail.
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", clip)
	mediatest.FFmpeg(t, "-stream_loop", "299", "-i", clip, "-c", "copy", src)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{BackgroundActivityContext: ctx})
	var beats []workflows.Progress
	// The SDK sends the first heartbeat at once and throttles the rest:
	// the encode is cancelled a while after it started.
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p workflows.Progress
		if details.Get(&p) == nil {
			if len(beats) == 0 {
				time.AfterFunc(2*time.Second, cancel)
			}
			beats = append(beats, p)
		}
	})
	env.RegisterActivity(&Activities{WorkDir: work, Ffmpeg: "ffmpeg", Ffprobe: "ffprobe"})
	_, err := env.ExecuteActivity((&Activities{}).Mux, workflows.MuxInput{JobID: "jc", Inputs: []string{src}, Format: "webm",
		Transcode: &workflows.Transcode{VideoCodec: "vp9", CRF: 30}})
	require.Error(t, err)
	require.NotEmpty(t, beats, "progress heartbeats")
	require.InDelta(t, 600e6, float64(beats[0].Total), 1e6, "progress is out_time against the duration, in µs")
	_, statErr := os.Stat(filepath.Join(job, "output.webm"))
	require.True(t, os.IsNotExist(statErr), "no half-written output left behind")
}
