package activities

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
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
