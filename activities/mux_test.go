package activities

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func probe(t *testing.T, file, entries string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", entries, "-of", "default=noprint_wrappers=1", file).Output()
	require.NoError(t, err)
	return string(out)
}

func runMux(t *testing.T, workDir string, in workflows.MuxInput) (*workflows.MuxResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{WorkDir: workDir, Ffmpeg: "ffmpeg", Ffprobe: "ffprobe"})
	v, err := env.ExecuteActivity((&Activities{}).Mux, in)
	if err != nil {
		return nil, err
	}
	var res workflows.MuxResult
	require.NoError(t, v.Get(&res))
	return &res, nil
}

func TestMuxMergesSeparateVideoAndAudioWithoutReencoding(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job1")
	require.NoError(t, os.MkdirAll(job, 0o755))
	video, audio := filepath.Join(job, "v.mp4"), filepath.Join(job, "a.m4a")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", video)
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=300", "-t", "2", "-c:a", "aac", audio)

	res, err := runMux(t, work, workflows.MuxInput{JobID: "job1", Inputs: []string{video, audio}, Format: "mp4",
		Title: "Pilot", ReleaseDate: "2026-01-19T06:00:00Z"})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(job, "output.mp4"), res.Path)
	st, err := os.Stat(res.Path)
	require.NoError(t, err)
	require.Equal(t, st.Size(), res.Bytes)

	streams := probe(t, res.Path, "stream=codec_type,codec_name")
	require.Contains(t, streams, "codec_name=h264", "video copied, not re-encoded")
	require.Contains(t, streams, "codec_name=aac")
	tags := probe(t, res.Path, "format_tags=title,date")
	require.Contains(t, tags, "TAG:title=Pilot")
	require.Contains(t, tags, "TAG:date=2026-01-19T06:00:00Z")
}

func TestMuxSingleInputToMKV(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job2")
	require.NoError(t, os.MkdirAll(job, 0o755))
	src := filepath.Join(job, "src.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", src)
	res, err := runMux(t, work, workflows.MuxInput{JobID: "job2", Inputs: []string{src}, Format: "mkv"})
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(res.Path, "output.mkv"))
	require.Contains(t, probe(t, res.Path, "format=format_name"), "matroska")
}

func TestMuxRefusesCodecTheContainerCannotHold(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	job := filepath.Join(work, "job3")
	require.NoError(t, os.MkdirAll(job, 0o755))
	src := filepath.Join(job, "src.mp4")
	// H.264 cannot go into WebM without re-encoding.
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", src)
	_, err := runMux(t, work, workflows.MuxInput{JobID: "job3", Inputs: []string{src}, Format: "webm"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, workflows.ErrTypeInvalidInput, appErr.Type())
	require.True(t, appErr.NonRetryable())
	_, statErr := os.Stat(filepath.Join(job, "output.webm"))
	require.True(t, os.IsNotExist(statErr), "no half-written output left behind")
}

func TestMuxRejectsUnknownFormat(t *testing.T) {
	_, err := runMux(t, t.TempDir(), workflows.MuxInput{JobID: "j", Inputs: []string{"x"}, Format: "avi"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, workflows.ErrTypeInvalidInput, appErr.Type())
}
