package activities

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
)

func TestAlreadyMuxed(t *testing.T) {
	media := &workflows.MediaInfo{Container: "mp4", Video: 1, Audio: 1, Title: "Pilot"}
	base := workflows.MuxInput{Inputs: []string{"source.mp4"}, Format: "mp4", Title: "Pilot", Media: media}
	require.True(t, alreadyMuxed(base, "mp4"))
	// Tags alone never make a rewrite: a feed's title goes to the job and
	// its webhook, not into the publisher's file.
	retitled := base
	retitled.Title, retitled.ReleaseDate = "Episode 1: Pilot", "2026-01-19T06:00:00Z"
	require.True(t, alreadyMuxed(retitled, "mp4"))
	for name, change := range map[string]func(*workflows.MuxInput){
		"other container": func(in *workflows.MuxInput) {
			in.Media = &workflows.MediaInfo{Container: "mkv", Video: 1, Audio: 1, Title: "Pilot"}
		},
		"not probed": func(in *workflows.MuxInput) { in.Media = nil },
		"two inputs": func(in *workflows.MuxInput) { in.Inputs = append(in.Inputs, "audio.m4a") },
		"second audio stream": func(in *workflows.MuxInput) {
			in.Media = &workflows.MediaInfo{Container: "mp4", Video: 1, Audio: 2, Title: "Pilot"}
		},
		"data stream": func(in *workflows.MuxInput) {
			in.Media = &workflows.MediaInfo{Container: "mp4", Video: 1, Audio: 1, Other: 1, Title: "Pilot"}
		},
		"no media streams": func(in *workflows.MuxInput) { in.Media = &workflows.MediaInfo{Container: "mp4", Title: "Pilot"} },
	} {
		in := base
		change(&in)
		if alreadyMuxed(in, "mp4") {
			t.Errorf("%s: alreadyMuxed = true, want a remux", name)
		}
	}
}

// TestMuxNeeded: the workflow skips the mux exactly when Mux would keep the
// download and grab nothing from it.
func TestMuxNeeded(t *testing.T) {
	kept := workflows.MuxInput{Inputs: []string{"source.mp4"}, Media: &workflows.MediaInfo{Container: "mp4", Video: 1, Audio: 1}}
	require.False(t, muxNeeded(kept), "no format means mp4")
	for name, tc := range map[string]struct {
		change func(*workflows.MuxInput)
		needed bool
	}{
		"mp4 asked":                  {func(in *workflows.MuxInput) { in.Format = "mp4" }, false},
		"its own thumbnail":          {func(in *workflows.MuxInput) { in.Thumbnail, in.ThumbnailPath = true, "thumb.jpg" }, false},
		"a thumbnail to grab":        {func(in *workflows.MuxInput) { in.Thumbnail = true }, true},
		"another format":             {func(in *workflows.MuxInput) { in.Format = "mkv" }, true},
		"a clip":                     {func(in *workflows.MuxInput) { in.ClipEnd = 10 }, true},
		"an audio format from video": {func(in *workflows.MuxInput) { in.Format = "m4a" }, true},
		"video and audio apart":      {func(in *workflows.MuxInput) { in.Inputs = append(in.Inputs, "source.m4a") }, true},
		"an unprobed download":       {func(in *workflows.MuxInput) { in.Media = nil }, true},
	} {
		in := kept
		tc.change(&in)
		require.Equal(t, tc.needed, muxNeeded(in), name)
	}
}

// The mux keeps a download that already is the requested file, byte for
// byte, and rewrites one that is not, with the probe the download made.
func TestMuxKeepsADownloadThatIsAlreadyTheRequestedFile(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job4")
	require.NoError(t, os.MkdirAll(job, 0o755))
	src := filepath.Join(job, "source.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-metadata", "title=Pilot", src)
	before := sha256File(t, src)

	a := &Activities{WorkDir: work, Ffmpeg: "ffmpeg", Ffprobe: "ffprobe"}
	media := ffmpeg.Probe(context.Background(), a.Ffprobe, src)
	require.NotNil(t, media)
	require.Equal(t, &workflows.MediaInfo{Container: "mp4", Duration: media.Duration, Video: 1, Audio: 1, Title: "Pilot",
		Streams: workflows.Streams{VideoCodec: "h264", AudioCodec: "aac", Width: 160, Height: 120}}, media)
	require.InDelta(t, 1.0, media.Duration, 0.2)

	res, err := runMux(t, work, workflows.MuxInput{JobID: "job4", Inputs: []string{src}, Format: "mp4", Title: "Pilot", Media: media})
	require.NoError(t, err)
	require.True(t, res.Kept)
	require.Equal(t, src, res.Path)
	require.Equal(t, before, sha256File(t, src), "kept file must be untouched")

	// Another container needs a new file, with the job's metadata.
	res, err = runMux(t, work, workflows.MuxInput{JobID: "job4", Inputs: []string{src}, Format: "mkv", Title: "Episode 1: Pilot", Media: media})
	require.NoError(t, err)
	require.False(t, res.Kept)
	require.Equal(t, filepath.Join(job, "output.mkv"), res.Path)
	require.Contains(t, probe(t, res.Path, "format_tags=title"), "TAG:title=Episode 1: Pilot")
}

func sha256File(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}
