package activities

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/internal/metaclean"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
)

// otherJobMedia writes another job's in-flight media into a's work
// directory, as a transport stream (what a joined HLS download is), and
// returns its path and bytes.
func otherJobMedia(t *testing.T, a *Activities) (string, []byte) {
	t.Helper()
	dir := filepath.Join(a.WorkDir, "other-job")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	file := filepath.Join(dir, "source.ts")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine", "-t", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mpegts", file)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return file, b
}

func hlsPlaylist(segment string) string {
	return "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n" + segment + "\n#EXT-X-ENDLIST\n"
}

// An HLS playlist served as video/mp4 naming another job's media (by
// file:// URL or relative to the job's directory) is downloaded, then
// refused as no media: InvalidInput, never retried, the job's files gone.
// Through yt-dlp (a page whose <video> is that "mp4") alike.
func TestDownloadRefusesPlaylistServedAsMedia(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	for _, tc := range []struct{ name, segment string }{
		{"file-url", ""},
		{"relative", "../../other-job/source.ts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newHTTPActivities(t)
			secret, _ := otherJobMedia(t, a)
			segment := tc.segment
			if segment == "" {
				segment = "file://" + secret
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "video/mp4")
				http.ServeContent(w, r, "clip.mp4", time.Time{}, strings.NewReader(hlsPlaylist(segment)))
			}))
			defer srv.Close()
			env, _ := newDownloadEnv(t, a)
			_, err := download(t, env, a, srv.URL+"/watch")
			appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
			require.Contains(t, appErr.Message(), "HLS playlist")
			_, statErr := os.Stat(a.jobDir(testJob))
			require.True(t, os.IsNotExist(statErr), "the refused job's files are removed")
		})
	}
	t.Run("through yt-dlp", func(t *testing.T) {
		src := t.TempDir()
		a, base := ytdlpEnv(t, src)
		secret, _ := otherJobMedia(t, a)
		page := `<html><head><title>Clip</title></head><body><video src="clip.mp4"></video></body></html>`
		require.NoError(t, os.WriteFile(filepath.Join(src, "page.html"), []byte(page), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(src, "clip.mp4"), []byte(hlsPlaylist("file://"+secret)), 0o644))
		env, _ := newDownloadEnv(t, a)
		_, err := download(t, env, a, base+"/page.html")
		appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
		require.Contains(t, appErr.Message(), "HLS playlist")
	})
}

// Mux refuses such a file as well (one that reached it from an earlier
// version's download, say), for good, and writes nothing.
func TestMuxRefusesPlaylistSavedAsMedia(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	work := t.TempDir()
	a := &Activities{WorkDir: work}
	_, secretBytes := otherJobMedia(t, a)
	job := filepath.Join(work, "job4")
	require.NoError(t, os.MkdirAll(job, 0o755))
	src := filepath.Join(job, "source.mp4")
	require.NoError(t, os.WriteFile(src, []byte(hlsPlaylist("../other-job/source.ts")), 0o644))
	for _, format := range []string{"mkv", "m4a"} {
		_, err := runMux(t, work, workflows.MuxInput{JobID: "job4", Inputs: []string{src}, Format: format, Thumbnail: true})
		appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
		require.Contains(t, appErr.Message(), "HLS playlist")
		entries, _ := os.ReadDir(job)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(job, e.Name()))
			require.False(t, bytes.Contains(b, secretBytes[:188]), "%s holds the other job's media", e.Name())
			require.Equal(t, "source.mp4", e.Name(), "nothing written")
		}
	}
}

// max_duration on an https direct file: the probe goes through the guard's
// proxy (it never worked over https: "Protocol 'httpproxy' not on
// whitelist") and refuses the media before the download reads its body.
func TestDirectMaxDurationOverHTTPS(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine", "-t", "8", "-c:a", "aac", filepath.Join(dir, "long.m4a"))
	var mu sync.Mutex
	var workerGETs int
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && !strings.HasPrefix(r.UserAgent(), "Lavf") {
			mu.Lock()
			workerGETs++
			mu.Unlock()
		}
		files.ServeHTTP(w, r)
	}))
	srv.StartTLS() // on 127.0.0.1
	defer srv.Close()
	a := newHTTPActivities(t)
	guarded(t, a, netip.MustParsePrefix("127.0.0.1/32"))
	a.HTTP.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	env, _ := newDownloadEnv(t, a)

	_, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: testJob, URL: srv.URL + "/long.m4a", MaxDuration: 5})
	appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
	require.Contains(t, appErr.Message(), "longer than max_duration")
	mu.Lock()
	defer mu.Unlock()
	require.Zero(t, workerGETs, "refused before downloading")
}

// A source's metadata with a 200 KiB description and NULs and control
// characters in its title reaches the result cleaned and cut (so the
// workflow, its memo and the webhook see that), and the real ffmpeg muxes
// with it; the raw values passed straight to the mux are cleaned there too.
func TestHostileMetadataIsCleanedOnce(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	src := t.TempDir()
	// Tags a file can carry: ffmetadata escapes the newlines.
	long := strings.Repeat("All work and no play. ", 200<<10/22)
	meta := ";FFMETADATA1\ntitle=Bad\x01\x1btitle\\\nsecond line \u202Eevil\ncomment=" + long + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(src, "meta.txt"), []byte(meta), 0o644))
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine", "-i", filepath.Join(src, "meta.txt"), "-map_metadata", "1",
		"-t", "1", "-c:a", "libvorbis", filepath.Join(src, "clip.mkv"))
	srv := httptest.NewServer(http.FileServer(http.Dir(src)))
	defer srv.Close()
	a := newHTTPActivities(t)
	a.Ffmpeg = "ffmpeg"
	env, _ := newDownloadEnv(t, a)
	res, err := download(t, env, a, srv.URL+"/clip.mkv")
	require.NoError(t, err)
	require.Equal(t, "Bad title second line evil", res.Title)
	require.LessOrEqual(t, len(res.Description), metaclean.MaxDescription)
	require.True(t, strings.HasPrefix(res.Description, "All work and no play."))
	require.LessOrEqual(t, len(res.Media.Description), metaclean.MaxDescription)

	// Raw values, as a workflow from before the cleaning would pass them.
	for _, format := range []string{"mkv", "ogg"} {
		mux, err := runMux(t, a.WorkDir, workflows.MuxInput{JobID: testJob, Inputs: res.Files, Format: format,
			Title: "Nul\x00title", Description: strings.Repeat("x", 200<<10), ReleaseDate: "2026-01-19\x00"})
		require.NoError(t, err, format)
		tags := strings.ToLower(probe(t, mux.Path, "format_tags:stream_tags"))
		require.Contains(t, tags, "tag:title=nul title")
		require.Contains(t, tags, "tag:date=2026-01-19t00:00:00z")
	}

	// Whatever still cannot be passed is InvalidInput, never retried.
	err = ffmpeg.Run(t.Context(), "ffmpeg", []string{"-metadata", "title=" + strings.Repeat("x", 200<<10)}, func(int64) {})
	assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
	err = ffmpeg.Run(t.Context(), "ffmpeg", []string{"-metadata", "title=a\x00b"}, func(int64) {})
	assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
}

// Subtitle languages and extensions come from the source: one with a
// newline, a path, or a right-to-left override never reaches an S3 key,
// and every object's Content-Type comes from what riptide wrote: a client
// filename ending in .html still stores video/mp4, never text/html.
func TestUploadKeysAndContentTypesAreNotTheSource(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	media, sub := file("output.mp4", "media"), file("sub.en.vtt", "WEBVTT")
	store := &memStore{objects: map[string][]byte{}, types: map[string]string{}}
	a := &Activities{Store: store}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.Upload, workflows.UploadInput{
		JobID: "j", Path: media, Key: "f/page.html", Thumbnail: file("thumb.html", "<script>"),
		Subtitles: []workflows.Subtitle{
			{Path: sub, Lang: "en\nX-Amz-Evil: 1", Ext: "vtt"},
			{Path: sub, Lang: "../../etc", Ext: "vtt"},
			{Path: sub, Lang: "ar\u202Elmth", Ext: "vtt"},
			{Path: sub, Lang: "en", Ext: "html"},
			{Path: sub, Lang: strings.Repeat("a", 36), Ext: "vtt"},
			{Path: sub, Lang: "en-US", Ext: "vtt"},
			{Path: sub, Lang: "de", Ext: "srt"},
		},
	})
	require.NoError(t, err)
	var res workflows.UploadResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, []string{"f/page.en-US.vtt", "f/page.de.srt"}, res.SubtitleKeys)
	require.Empty(t, res.ThumbnailKey, "a thumbnail that is no image is not uploaded")
	require.Equal(t, map[string]string{
		"f/page.html": "video/mp4", "f/page.en-US.vtt": "text/vtt", "f/page.de.srt": "application/x-subrip",
	}, store.types)

	// The media's type is its file's, whatever the key; unknown is opaque.
	require.Equal(t, "audio/mp4", mediaType("/w/j/output.m4a"))
	require.Equal(t, "video/x-matroska", mediaType("/w/j/src.137.MKV"))
	require.Equal(t, "application/octet-stream", mediaType("/w/j/source.html"))
	require.Equal(t, "application/octet-stream", mediaType("/w/j/source"))
}

// Through the real yt-dlp: a page's <track srclang> with "../", a newline
// or U+202E, or a subtitle in a format riptide does not keep, is never
// fetched (so yt-dlp writes nothing outside the job directory) nor
// returned; the safe one is.
func TestDownloadDropsUnsafeSubtitles(t *testing.T) {
	src := t.TempDir()
	a, base := ytdlpEnv(t, src)
	ffmpegClip(t, src, "-movflags", "+faststart", "clip.mp4")
	vtt := "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello\n"
	page := `<html><head><title>Clip</title></head><body>
<video controls><source src="clip.mp4" type="video/mp4">
<track kind="subtitles" src="clip.en.vtt" srclang="en" label="English">
<track kind="subtitles" src="clip.en.vtt" srclang="../../../escaped" label="Path">
<track kind="subtitles" src="clip.en.vtt" srclang="x&#10;y" label="Newline">
<track kind="subtitles" src="clip.en.vtt" srclang="ar&#x202E;lmth" label="Override">
<track kind="subtitles" src="clip.fr.html" srclang="fr" label="Page">
</video></body></html>`
	for name, content := range map[string]string{"clip.en.vtt": vtt, "clip.fr.html": "<script>alert(1)</script>", "page.html": page} {
		require.NoError(t, os.WriteFile(filepath.Join(src, name), []byte(content), 0o644))
	}
	env, _ := newDownloadEnv(t, a)
	val, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: testJob, URL: base + "/page.html", Subtitles: true})
	require.NoError(t, err)
	var res workflows.DownloadResult
	require.NoError(t, val.Get(&res))
	require.Len(t, res.Subtitles, 1, "%+v", res.Subtitles)
	require.Equal(t, "en", res.Subtitles[0].Lang)
	require.Equal(t, "vtt", res.Subtitles[0].Ext)
	// Nothing landed beside or above the job directory.
	for _, d := range []string{a.WorkDir, filepath.Dir(a.WorkDir), filepath.Dir(filepath.Dir(a.WorkDir))} {
		matches, _ := filepath.Glob(filepath.Join(d, "*escaped*"))
		require.Empty(t, matches)
	}
	entries, err := os.ReadDir(a.jobDir(testJob))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), "sub.") && e.Name() != "sub.en.vtt", "yt-dlp wrote %q", e.Name())
	}
}
