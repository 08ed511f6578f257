package ffmpeg

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/internal/mp4"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
)

// ffprobeInfo is what Probe says through ffprobe alone.
func ffprobeInfo(t *testing.T, file string) *workflows.MediaInfo {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json",
		"-show_entries", inspectEntries, file).Output()
	require.NoError(t, err)
	var p ffprobeOutput
	require.NoError(t, json.Unmarshal(out, &p))
	return p.mediaInfo(strings.TrimPrefix(filepath.Ext(file), "."))
}

// The box reader agrees with ffprobe on every file it answers for, answers
// for the plain files ffmpeg and most tools write, and leaves the rest to
// ffprobe.
func TestMP4BoxReaderAgreesWithFFprobe(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	video := []string{"-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"}
	audio := []string{"-f", "lavfi", "-i", "sine=frequency=300"}
	enc := []string{"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"}
	tags := []string{"-metadata", "title=  Épisode 7: «Test»  ", "-metadata", "comment=A comment",
		"-metadata", "description=The description", "-metadata", "date=2026-01-19"}
	srt := filepath.Join(dir, "sub.srt")
	require.NoError(t, os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:00,900\nHello\n"), 0o644))
	cover := filepath.Join(dir, "cover.jpg")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "color=red:size=32x32", "-frames:v", "1", cover)

	for _, tc := range []struct {
		name   string
		args   []string
		native bool // the box reader must answer, not leave it to ffprobe
	}{
		{"plain.mp4", concat(video, audio, enc), true},
		{"tagged.mp4", concat(video, audio, enc, tags), true},
		{"comment-only.mp4", concat(video, audio, enc, []string{"-metadata", "comment=Only a comment"}), true},
		{"faststart.mp4", concat(video, audio, enc, tags, []string{"-movflags", "+faststart"}), true},
		{"video-only.mp4", concat(video, enc), true},
		{"audio.m4a", concat(audio, []string{"-t", "1", "-c:a", "aac"}, tags), true},
		{"two-audio.mp4", concat(video, audio, audio, enc, []string{"-map", "0", "-map", "1", "-map", "2"}), true},
		{"with-subtitles.mp4", concat(video, audio, []string{"-i", srt}, enc,
			[]string{"-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:s", "mov_text"}), true},
		// The sample entries name the codecs; mp4a is told apart by its esds.
		{"hevc-opus.mp4", concat(video, audio, []string{"-t", "1", "-c:v", "libx265", "-x265-params", "log-level=error",
			"-pix_fmt", "yuv420p", "-tag:v", "hvc1", "-c:a", "libopus"}), true},
		{"vp9-mp3.mp4", concat(video, audio, []string{"-t", "1", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libmp3lame"}), true},
		{"quicktime.mov", concat(video, audio, enc, tags), false},
		{"fragmented.mp4", concat(video, audio, enc, []string{"-movflags", "frag_keyframe+empty_moov"}), false},
		{"cover-art.m4a", concat(audio, []string{"-i", cover, "-map", "0", "-map", "1", "-t", "1", "-c:a", "aac",
			"-c:v", "copy", "-disposition:v", "attached_pic"}), false},
		{"keyed-metadata.mp4", concat(video, audio, enc, tags, []string{"-movflags", "use_metadata_tags"}), false},
		{"matroska.mkv", concat(video, audio, enc, tags), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name)
			mediatest.FFmpeg(t, append(tc.args, file)...)
			got, ok := mp4.ReadFile(file)
			require.Equal(t, tc.native, ok, "%+v", got)
			if !ok {
				return
			}
			want := ffprobeInfo(t, file)
			if tc.name == "with-subtitles.mp4" {
				require.Equal(t, 1, want.Other, "the case needs a third, non-media stream")
			}
			require.InDelta(t, want.Duration, got.Duration, 0.1)
			got.Duration = want.Duration
			require.Equal(t, want, got)
		})
	}
	// What the tags say reaches the result.
	m, ok := mp4.ReadFile(filepath.Join(dir, "tagged.mp4"))
	require.True(t, ok)
	require.Equal(t, "Épisode 7: «Test»", m.Title)
	require.Equal(t, "The description", m.Description)
	require.Equal(t, "2026-01-19T00:00:00Z", m.ReleaseDate)
	m, _ = mp4.ReadFile(filepath.Join(dir, "comment-only.mp4"))
	require.Equal(t, "Only a comment", m.Description)

	// Probe takes the native answer without running ffprobe at all.
	noFFprobe := filepath.Join(dir, "no-such-ffprobe")
	require.NotNil(t, Probe(context.Background(), noFFprobe, filepath.Join(dir, "plain.mp4")))
	require.Nil(t, Probe(context.Background(), noFFprobe, filepath.Join(dir, "quicktime.mov")))
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
