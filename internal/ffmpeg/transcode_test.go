package ffmpeg

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
)

func muxArgs(t *testing.T, format, srcAudio string, tc *workflows.Transcode, inputs ...string) string {
	t.Helper()
	f, ok := formats.Lookup(format)
	require.True(t, ok)
	if len(inputs) == 0 {
		inputs = []string{"in.mp4"}
	}
	return strings.Join(MuxArgs(MuxSpec{Inputs: inputs, Format: f, AudioCodec: srcAudio, Transcode: tc, Out: "out"}), " ")
}

func TestMuxArgsTranscode(t *testing.T) {
	// Nothing asked, audio the container holds: both copied.
	require.Contains(t, muxArgs(t, "mp4", "aac", nil), "-map 0:v:0? -map 0:a:0? -c:v copy -c:a copy -map_metadata")
	// h264 at the default CRF, with the 2-core presets and thread cap.
	require.Contains(t, muxArgs(t, "mp4", "aac", &workflows.Transcode{VideoCodec: "h264", CRF: 23}),
		"-c:v libx264 -preset veryfast -crf 23 -threads 2 -pix_fmt yuv420p -c:a copy")
	// h265: faster, a capped thread pool, Apple's tag in mp4 and mov only.
	args := muxArgs(t, "mov", "aac", &workflows.Transcode{VideoCodec: "h265", CRF: 18})
	require.Contains(t, args, "-c:v libx265 -preset faster -crf 18 -x265-params pools=2:frame-threads=1:log-level=error -tag:v hvc1")
	require.NotContains(t, muxArgs(t, "mkv", "aac", &workflows.Transcode{VideoCodec: "h265"}), "hvc1")
	// vp9: CRF mapped to its 0–63 scale; aac cannot go into webm, so the
	// copy falls back to Opus at the default bitrate.
	args = muxArgs(t, "webm", "aac", &workflows.Transcode{VideoCodec: "vp9", CRF: 23})
	require.Contains(t, args, "-c:v libvpx-vp9 -deadline good -cpu-used 5 -row-mt 1 -crf 28 -b:v 0 -threads 2 -pix_fmt yuv420p -c:a libopus -b:a 192k")
	// Copying video whose audio the container cannot hold: the audio is
	// encoded anyway, at the bitrate asked for.
	require.Contains(t, muxArgs(t, "mov", "opus", &workflows.Transcode{AudioBitrate: 128}), "-c:v copy -c:a aac -b:a 128k")
	require.Contains(t, muxArgs(t, "mov", "opus", nil), "-c:v copy -c:a aac -b:a 192k")
	// Unknown source codec: copied (the mux reports a mismatch).
	require.Contains(t, muxArgs(t, "webm", "", nil), "-c:v copy -c:a copy")
	// An explicit audio codec is encoded even when it matches the source.
	require.Contains(t, muxArgs(t, "mkv", "opus", &workflows.Transcode{AudioCodec: "opus", AudioBitrate: 64}), "-c:a libopus -b:a 64k")
	// Separate video and audio files.
	require.Contains(t, muxArgs(t, "mp4", "aac", &workflows.Transcode{VideoCodec: "h264", AudioCodec: "mp3", AudioBitrate: 192}, "v.mp4", "a.m4a"),
		"-map 0:v:0 -map 1:a:0 -c:v libx264 -preset veryfast -crf 0 -threads 2 -pix_fmt yuv420p -c:a libmp3lame -b:a 192k")

	// Audio formats: copy what they hold; encode to the asked codec, or to
	// their fallback at audio_bitrate, else with their own encoder.
	require.Contains(t, muxArgs(t, "mp3", "mp3", nil), "-map 0:a:0 -c:a copy")
	require.Contains(t, muxArgs(t, "mp3", "mp3", &workflows.Transcode{AudioCodec: "mp3", AudioBitrate: 128}), "-c:a libmp3lame -b:a 128k")
	require.Contains(t, muxArgs(t, "mp3", "aac", &workflows.Transcode{AudioBitrate: 320}), "-c:a libmp3lame -b:a 320k")
	require.Contains(t, muxArgs(t, "mp3", "aac", nil), "-c:a libmp3lame -q:a 2")
	require.Contains(t, muxArgs(t, "ogg", "aac", &workflows.Transcode{AudioBitrate: 192}), "-c:a libvorbis -b:a 192k")
	require.Contains(t, muxArgs(t, "opus", "aac", &workflows.Transcode{AudioCodec: "opus"}), "-c:a libopus -b:a 192k")
}

func TestVP9CRF(t *testing.T) {
	for crf, want := range map[int]int{0: 0, 18: 22, 20: 25, 23: 28, 28: 35, 32: 40, 51: 63} {
		require.Equal(t, want, VP9CRF(crf), crf)
	}
}
