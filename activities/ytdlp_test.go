package activities

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
)

// ytdlpEnv serves dir on 127.0.0.1 and returns Activities that run the real
// yt-dlp, skipping the test when yt-dlp, ffmpeg or ffprobe is missing.
func ytdlpEnv(t *testing.T, dir string) (*Activities, string) {
	t.Helper()
	a := &Activities{
		HTTP:    http.DefaultClient,
		WorkDir: t.TempDir(),
		Ytdlp:   requireTool(t, "yt-dlp"),
		Ffprobe: requireTool(t, "ffprobe"),
		Stderr:  &bytes.Buffer{},
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("yt-dlp stderr:\n%s", a.Stderr)
		}
	})
	return a, srv.URL
}

// ffmpegClip writes a 3-second test clip into dir with the given output
// arguments.
func ffmpegClip(t *testing.T, dir string, args ...string) {
	t.Helper()
	ffmpeg := requireTool(t, "ffmpeg")
	cmd := exec.Command(ffmpeg, append([]string{"-v", "error",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440", "-t", "3",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
		"-c:a", "aac", "-b:a", "64k"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// streamTypes lists the codec types of a file's streams, e.g. "video".
func streamTypes(t *testing.T, ffprobe, file string) string {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "stream=codec_type",
		"-of", "default=noprint_wrappers=1:nokey=1", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	return strings.Join(strings.Fields(string(out)), ",")
}

func TestDownloadYtdlpDASH(t *testing.T) {
	src := t.TempDir()
	a, base := ytdlpEnv(t, src)
	ffmpegClip(t, src, "-f", "dash", "-seg_duration", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a", "clip.mpd")
	env, hb := newDownloadEnv(t, a)

	res, err := download(t, env, a, base+"/clip.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 {
		t.Fatalf("files %v, want video and audio", res.Files)
	}
	for i, want := range []string{"video", "audio"} {
		if got := streamTypes(t, a.Ffprobe, res.Files[i]); got != want {
			t.Errorf("file %d (%s) has streams %q, want %q", i, res.Files[i], got, want)
		}
		if dir := filepath.Dir(res.Files[i]); dir != a.jobDir(testJob) {
			t.Errorf("file %s outside the job directory", res.Files[i])
		}
	}
	if res.Bytes <= 0 || res.Source != "generic" {
		t.Errorf("bytes %d source %q", res.Bytes, res.Source)
	}
	if _, err := os.Stat(filepath.Join(a.jobDir(testJob), "info.json")); err != nil {
		t.Errorf("info.json: %v", err)
	}
	if len(hb.all()) == 0 {
		t.Error("no heartbeat")
	}
}

func TestDownloadYtdlpPageWithSubtitles(t *testing.T) {
	src := t.TempDir()
	a, base := ytdlpEnv(t, src)
	ffmpegClip(t, src, "-movflags", "+faststart", "clip.mp4")
	vtt := "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello from riptide\n"
	// yt-dlp's generic extractor reads the description from og:description
	// only; the title comes from og:title or <title>.
	page := `<!DOCTYPE html>
<html><head><title>Riptide Test Clip</title>
<meta name="description" content="A clip for riptide tests">
<meta property="og:description" content="A clip for riptide tests">
</head><body>
<video controls><source src="clip.mp4" type="video/mp4">
<track kind="subtitles" src="clip.en.vtt" srclang="en" label="English"></video>
</body></html>`
	for name, content := range map[string]string{"clip.en.vtt": vtt, "page.html": page} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, _ := newDownloadEnv(t, a)

	val, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: testJob, URL: base + "/page.html", Subtitles: true})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.DownloadResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Title != "Riptide Test Clip" || res.Description != "A clip for riptide tests" {
		t.Errorf("title %q description %q", res.Title, res.Description)
	}
	if len(res.Files) != 1 || streamTypes(t, a.Ffprobe, res.Files[0]) != "video,audio" {
		t.Errorf("files %v, want one file with video and audio", res.Files)
	}
	if res.ReleaseDate == "" {
		t.Error("no release date (the generic extractor dates a page by Last-Modified)")
	}
	if len(res.Subtitles) != 1 {
		t.Fatalf("subtitles %+v, want one", res.Subtitles)
	}
	sub := res.Subtitles[0]
	if sub.Lang != "en" || sub.Ext != "vtt" || filepath.Dir(sub.Path) != a.jobDir(testJob) {
		t.Errorf("subtitle %+v", sub)
	}
	if got, err := os.ReadFile(sub.Path); err != nil || string(got) != vtt {
		t.Errorf("subtitle file %q, %v", got, err)
	}
}

// A subtitle that cannot be had costs the subtitles, not the job.
func TestDownloadYtdlpMissingSubtitle(t *testing.T) {
	src := t.TempDir()
	a, base := ytdlpEnv(t, src)
	ffmpegClip(t, src, "-movflags", "+faststart", "clip.mp4")
	page := `<html><head><title>Riptide Test Clip</title></head><body>
<video controls><source src="clip.mp4" type="video/mp4">
<track kind="subtitles" src="gone.en.vtt" srclang="en" label="English"></video>
</body></html>`
	if err := os.WriteFile(filepath.Join(src, "page.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	env, _ := newDownloadEnv(t, a)

	val, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: testJob, URL: base + "/page.html", Subtitles: true})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.DownloadResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || len(res.Subtitles) != 0 {
		t.Errorf("files %v subtitles %+v, want one file and no subtitles", res.Files, res.Subtitles)
	}
}

func TestDownloadYtdlpErrors(t *testing.T) {
	src := t.TempDir()
	a, base := ytdlpEnv(t, src)
	page := `<!DOCTYPE html><html><head><title>Nothing here</title></head><body><p>No media.</p></body></html>`
	if err := os.WriteFile(filepath.Join(src, "empty.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, errType string
	}{
		{"/empty.html", workflows.ErrTypeUnsupported},
		{"/missing.html", workflows.ErrTypeNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			env, _ := newDownloadEnv(t, a)
			_, err := download(t, env, a, base+tc.path)
			assertAppError(t, err, tc.errType, false)
		})
	}
}
