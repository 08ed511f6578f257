package ffmpeg

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// requireInvalidInput asserts err is the permanent InvalidInput failure of
// a refused input, saying what.
func requireInvalidInput(t *testing.T, err error, says string) {
	t.Helper()
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, workflows.ErrTypeInvalidInput, appErr.Type(), "%v", err)
	require.True(t, appErr.NonRetryable(), "%v", err)
	require.Contains(t, err.Error(), says)
}

// A playlist or manifest saved as a media file (what a server sends as
// video/mp4, or yt-dlp writes) names other files on the worker: another
// job's media, by absolute file:// URL or relative to the job's directory.
// ffmpeg picks its demuxer from the content, so without the whitelists it
// reads those files (the control runs show it does, with this ffmpeg); with
// them every probe and the mux refuse the file as no media, for good, and
// write nothing of the other file.
func TestPlaylistSavedAsMediaIsRefused(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	other, job := filepath.Join(work, "other-job"), filepath.Join(work, "job")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.MkdirAll(job, 0o755))
	// The other job's in-flight media: a transport stream (HLS segments)
	// and a DASH rendition of the same clip.
	secret := filepath.Join(other, "source.ts")
	clip := []string{"-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine", "-t", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"}
	mediatest.FFmpeg(t, concat(clip, []string{"-f", "mpegts", secret})...)
	mediatest.FFmpeg(t, concat(clip, []string{"-f", "dash", "-seg_duration", "1", filepath.Join(other, "clip.mpd")})...)
	mpd, err := os.ReadFile(filepath.Join(other, "clip.mpd"))
	require.NoError(t, err)
	secretBytes, err := os.ReadFile(secret)
	require.NoError(t, err)

	hls := func(segment string) string {
		return "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n" + segment + "\n#EXT-X-ENDLIST\n"
	}
	dash := func(base string) string {
		return strings.Replace(string(mpd), "<Period", "<BaseURL>"+base+"</BaseURL><Period", 1)
	}
	for _, tc := range []struct {
		name, content, demuxer, says string
	}{
		{"hls-file-url", hls("file://" + secret), "hls", "an HLS playlist"},
		{"hls-relative", hls("../other-job/source.ts"), "hls", "an HLS playlist"},
		{"dash-file-url", dash("file://" + other + "/"), "dash", "a DASH manifest"},
		{"dash-relative", dash("../other-job/"), "dash", "a DASH manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(job, "source.mp4")
			require.NoError(t, os.WriteFile(src, []byte(tc.content), 0o644))
			ctx := context.Background()

			// Control: the ffprobe and ffmpeg riptide runs would follow it.
			out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=format_name",
				"-of", "default=noprint_wrappers=1:nokey=1", src).Output()
			require.NoError(t, err)
			require.Equal(t, tc.demuxer, strings.TrimSpace(string(out)), "the attack works on this ffmpeg")
			leak := filepath.Join(t.TempDir(), "leak.mkv")
			mediatest.FFmpeg(t, "-i", src, "-map", "0", "-c", "copy", leak)

			// Every probe refuses it, or knows nothing.
			m, err := Inspect(ctx, "ffprobe", src)
			require.Nil(t, m)
			requireInvalidInput(t, err, tc.says)
			require.Nil(t, Probe(ctx, "ffprobe", src))
			_, err = AudioCodec(ctx, "ffprobe", src)
			requireInvalidInput(t, err, tc.says)
			require.Zero(t, Duration(ctx, "ffprobe", src))

			// The mux and the frame grab too, writing nothing.
			mp4, _ := formats.Lookup("mp4")
			dst := filepath.Join(job, "output.mp4")
			err = Run(ctx, "ffmpeg", MuxArgs(MuxSpec{Inputs: []string{src}, Format: mp4, Out: dst}), func(int64) {})
			exit, ok := errors.AsType[*ExitError](err)
			require.True(t, ok, "%v", err)
			requireInvalidInput(t, NotMedia(exit.Stderr), tc.says)
			frame := filepath.Join(job, "frame.jpg")
			_, err = GrabFrame(ctx, "ffmpeg", src, frame, 0.5)
			require.Error(t, err)
			for _, f := range []string{dst, frame} {
				if b, err := os.ReadFile(f); err == nil {
					require.False(t, len(b) > 0 && bytes.Contains(secretBytes, b[:min(len(b), 4096)]), "%s holds the other job's bytes", f)
					require.Empty(t, b, "%s written", f)
				}
			}
		})
	}
}

// What is not media at all (a page, a text file) is refused as such.
func TestTextSavedAsMediaIsRefused(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	for name, content := range map[string]string{
		"page.mp4":  "<!DOCTYPE html><html><body>Not found</body></html>\n",
		"hello.mp4": "hello\n",
		"hello.mkv": "hello\n",
	} {
		file := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(file, []byte(content), 0o644))
		_, err := Inspect(context.Background(), "ffprobe", file)
		requireInvalidInput(t, err, "not a media file")
	}
}

// Every container riptide accepts passes the whitelists: what yt-dlp
// writes (MP4, fragmented MP4 from DASH, MPEG-TS from HLS, WebM, M4A, MP3,
// Ogg, Opus) and what direct URLs serve (MOV, MKV, FLAC, WAV, ADTS AAC), and
// the mux reads each.
func TestMediaFormatsPassTheWhitelists(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	video := []string{"-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine", "-t", "1"}
	h264 := []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	audio := []string{"-f", "lavfi", "-i", "sine", "-t", "1"}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plain.mp4", concat(video, h264, []string{"-c:a", "aac"})},
		{"fragmented.mp4", concat(video, h264, []string{"-c:a", "aac", "-movflags", "frag_keyframe+empty_moov"})},
		{"hls-joined.mp4", concat(video, h264, []string{"-c:a", "aac", "-f", "mpegts"})},
		{"clip.mov", concat(video, h264, []string{"-c:a", "aac"})},
		{"clip.mkv", concat(video, h264, []string{"-c:a", "aac"})},
		{"clip.webm", concat(video, []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus"})},
		{"audio.m4a", concat(audio, []string{"-c:a", "aac"})},
		{"audio.mp3", concat(audio, []string{"-c:a", "libmp3lame"})},
		{"audio.ogg", concat(audio, []string{"-c:a", "libvorbis"})},
		{"audio.opus", concat(audio, []string{"-c:a", "libopus"})},
		{"audio.flac", concat(audio, []string{"-c:a", "flac"})},
		{"audio.wav", audio},
		{"audio.aac", concat(audio, []string{"-c:a", "aac", "-f", "adts"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name)
			mediatest.FFmpeg(t, append(tc.args, file)...)
			_, err := Inspect(ctx, "ffprobe", file)
			require.NoError(t, err)
			require.InDelta(t, 1.0, Duration(ctx, "ffprobe", file).Seconds(), 0.2)
			codec, err := AudioCodec(ctx, "ffprobe", file)
			require.NoError(t, err)
			require.NotEmpty(t, codec)
			mkv, _ := formats.Lookup("mkv")
			out := filepath.Join(t.TempDir(), "out.mkv")
			require.NoError(t, Run(ctx, "ffmpeg", MuxArgs(MuxSpec{Inputs: []string{file}, Format: mkv, Out: out}), func(int64) {}))
		})
	}
}
