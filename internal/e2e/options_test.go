//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

// optionMedia is media for the job-option tests, generated once: a clip
// with a keyframe every second, a page showing it with a poster (the
// source's thumbnail), and an HLS master playlist with 240p and 144p
// renditions.
var optionMedia struct {
	once sync.Once
	err  error
	url  string
	mu   sync.Mutex
	// gets records "<path> <user agent>" of each GET.
	gets []string
}

const (
	optClip   = "opt/clip.mp4"
	optPage   = "opt/page.html"
	optPoster = "opt/poster.jpg"
	optHLS    = "opt/hls/master.m3u8"
	// optLong is a copy of optClip that only the max_duration test asks for.
	optLong = "opt/long.mp4"
)

func optionsMedia(t *testing.T) string {
	t.Helper()
	optionMedia.once.Do(func() {
		dir, err := os.MkdirTemp("", "riptide-e2e-options-")
		if err != nil {
			optionMedia.err = err
			return
		}
		optionMedia.err = generateOptionMedia(filepath.Join(dir, "opt"))
		files := http.FileServer(http.Dir(dir))
		// Lives as long as the test binary; the OS reclaims it.
		optionMedia.url = serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				optionMedia.mu.Lock()
				optionMedia.gets = append(optionMedia.gets, r.URL.Path+" "+r.UserAgent())
				optionMedia.mu.Unlock()
			}
			files.ServeHTTP(w, r)
		})).URL
	})
	require.NoError(t, optionMedia.err)
	return optionMedia.url
}

func generateOptionMedia(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "hls"), 0o755); err != nil {
		return err
	}
	src := []string{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "4"}
	enc := []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10", "-c:a", "aac", "-b:a", "64k"}
	steps := [][]string{
		append(append(append([]string{}, src...), enc...), filepath.Join(dir, "clip.mp4")),
		{"-f", "lavfi", "-i", "color=c=red:size=96x64", "-frames:v", "1", filepath.Join(dir, "poster.jpg")},
	}
	var master strings.Builder
	master.WriteString("#EXTM3U\n")
	for _, h := range []int{240, 144} {
		w := h * 4 / 3
		out := filepath.Join(dir, "hls", fmt.Sprintf("v%d.m3u8", h))
		steps = append(steps, append(append(append([]string{}, src...), enc...),
			"-vf", fmt.Sprintf("scale=%d:%d", w, h), "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", out))
		fmt.Fprintf(&master, "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=%dx%d,CODECS=\"avc1.42c01e,mp4a.40.2\"\nv%d.m3u8\n", h*1000, w, h, h)
	}
	for _, args := range steps {
		args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
		if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ffmpeg %v: %w: %s", args, err, out)
		}
	}
	clip, err := os.ReadFile(filepath.Join(dir, "clip.mp4"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "long.mp4"), clip, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hls", "master.m3u8"), []byte(master.String()), 0o644); err != nil {
		return err
	}
	page := `<!DOCTYPE html><html><head><title>Options Clip</title></head><body>
<video controls poster="poster.jpg"><source src="clip.mp4" type="video/mp4"></video></body></html>`
	return os.WriteFile(filepath.Join(dir, "page.html"), []byte(page), 0o644)
}

// probeObject runs ffprobe on a stored object and returns the entries it
// prints, "section.key" → value, streams numbered by their index
// ("stream.0.codec_name").
func probeObject(t *testing.T, key string) map[string]string {
	t.Helper()
	return probeEntries(t, key, "format=duration,format_name:stream=index,codec_type,codec_name,width,height")
}

// probeEntries is probeObject for the ffprobe -show_entries given.
func probeEntries(t *testing.T, key, entries string) map[string]string {
	t.Helper()
	f := filepath.Join(t.TempDir(), filepath.Base(key))
	require.NoError(t, os.WriteFile(f, stored(t, key), 0o644))
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", entries, "-of", "flat", f).Output()
	require.NoError(t, err, "ffprobe %s", key)
	got := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		k = strings.TrimPrefix(strings.ReplaceAll(k, ".streams.stream.", "."), "streams.")
		got[k] = strings.Trim(v, `"`)
	}
	return got
}

func duration(t *testing.T, probe map[string]string) float64 {
	t.Helper()
	d, err := strconv.ParseFloat(probe["format.duration"], 64)
	require.NoError(t, err, "%v", probe)
	return d
}

// completed submits a job and waits for its job_completed webhook.
func completed(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	body["webhook_url"] = stack.hookURL
	id := submit(t, body)
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)
	return done.Body
}

func TestAudioFormatsKeepOnlyAudio(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := optionsMedia(t) + "/" + optClip
	tests := []struct {
		body  map[string]any
		ext   string
		codec string
		dur   float64
	}{
		// The source's AAC fits m4a: copied. The others are encoded.
		{map[string]any{"audio_only": true}, ".m4a", "aac", 4},
		{map[string]any{"format": "mp3"}, ".mp3", "mp3", 4},
		{map[string]any{"format": "ogg", "audio_only": true}, ".ogg", "vorbis", 4},
		{map[string]any{"format": "opus", "clip_start": 1, "clip_end": "00:00:02.5"}, ".opus", "opus", 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.codec, func(t *testing.T) {
			t.Parallel()
			tt.body["url"], tt.body["folder"] = url, "e2e/audio"
			b := completed(t, tt.body)
			key := b["key"].(string)
			require.True(t, strings.HasSuffix(key, tt.ext), key)
			p := probeObject(t, key)
			require.Equal(t, "audio", p["stream.0.codec_type"], "%v", p)
			require.Equal(t, tt.codec, p["stream.0.codec_name"], "%v", p)
			_, second := p["stream.1.codec_type"]
			require.False(t, second, "audio only: %v", p)
			require.InDelta(t, tt.dur, duration(t, p), 0.2, "%v", p)
		})
	}
}

func TestMaxResolutionPicksRenditionAndFilenameNamesObject(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := optionsMedia(t) + "/" + optHLS
	t.Run("144", func(t *testing.T) {
		t.Parallel()
		// The HLS source has no thumbnail: a frame of the video is taken.
		b := completed(t, map[string]any{"url": url, "max_resolution": 144, "folder": "e2e/res",
			"filename": "low res.mkv", "download_thumbnail": true})
		require.Equal(t, "e2e/res/low res.mp4", b["key"])
		p := probeObject(t, "e2e/res/low res.mp4")
		require.Equal(t, "144", p["stream.0.height"], "%v", p)
		require.Equal(t, "e2e/res/low res.jpg", b["thumbnail_key"])
		thumb := probeObject(t, "e2e/res/low res.jpg")
		require.Equal(t, "mjpeg", thumb["stream.0.codec_name"], "%v", thumb)
		require.Equal(t, "192", thumb["stream.0.width"], "a frame of the 144p video: %v", thumb)

		id := b["job_id"].(string)
		status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "e2e/res/low res.jpg", job["thumbnail_key"])

		recordHistory(t, stack.temporal, "job_completed_with_options", workflows.JobWorkflowID(id), "")

	})
	t.Run("240p", func(t *testing.T) {
		t.Parallel()
		b := completed(t, map[string]any{"url": url, "max_resolution": "240p", "folder": "e2e/res"})
		p := probeObject(t, b["key"].(string))
		require.Equal(t, "240", p["stream.0.height"], "%v", p)
		require.Nil(t, b["thumbnail_key"], "not asked for")
	})
}

func TestThumbnailFromSourceAndClip(t *testing.T) {
	requireStack(t)
	t.Parallel()
	base := optionsMedia(t)
	b := completed(t, map[string]any{"url": base + "/" + optPage, "folder": "e2e/clip", "format": "mkv",
		"download_thumbnail": true, "clip_start": "00:00:01", "clip_end": 2.5})
	key := b["key"].(string)
	require.True(t, strings.HasSuffix(key, ".mkv"), key)
	p := probeObject(t, key)
	// Stream copy: the video cut falls on keyframes, one a second here.
	require.InDelta(t, 1.5, duration(t, p), 0.3, "%v", p)
	require.ElementsMatch(t, []string{"video", "audio"}, []string{p["stream.0.codec_type"], p["stream.1.codec_type"]})
	thumbKey, _ := b["thumbnail_key"].(string)
	require.Equal(t, strings.TrimSuffix(key, ".mkv")+".jpg", thumbKey)
	require.Equal(t, fetch(t, base+"/"+optPoster), stored(t, thumbKey), "the page's poster is the thumbnail")
}

// TestClipTimesAsStrings: the clip-time spellings of the reference beside
// the numbers and HH:MM:SS(.mmm) of the tests above: seconds as a string
// ("1") and MM:SS ("00:01"), each cutting 1 s to 3 s of the 4 s clip.
func TestClipTimesAsStrings(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := optionsMedia(t) + "/" + optClip
	for _, tt := range []struct {
		name       string
		start, end string
	}{
		{"seconds", "1", "3"},
		{"mm-ss", "00:01", "00:03"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := completed(t, map[string]any{"url": url, "folder": "e2e/clip-" + tt.name,
				"clip_start": tt.start, "clip_end": tt.end})
			p := probeObject(t, b["key"].(string))
			// Stream copy: the cut falls on keyframes, one a second here.
			require.InDelta(t, 2, duration(t, p), 0.4, "%v", p)
		})
	}
}

func TestMaxDurationFailsLongerMedia(t *testing.T) {
	requireStack(t)
	t.Parallel()
	base := optionsMedia(t)
	// Direct file (ffprobe of the URL before downloading) and HLS through
	// yt-dlp, whose generic extractor gives no duration (checked on the
	// downloaded file instead).
	for _, url := range []string{base + "/" + optLong, base + "/" + optHLS} {
		t.Run(filepath.Base(url), func(t *testing.T) {
			t.Parallel()
			id := submit(t, map[string]any{"url": url, "webhook_url": stack.hookURL, "max_duration": 3})
			done := stack.hooks.waitTerminal(t, id, jobTimeout)
			require.Equal(t, "job_failed", done.Body["type"], "%s", done.Raw)
			require.Contains(t, done.Body["error"], "longer than max_duration (3 s)")
			status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "Failed", job["status"])
		})
	}
	t.Run("refused before the download", func(t *testing.T) {
		t.Parallel()
		id := submit(t, map[string]any{"url": base + "/" + optLong, "webhook_url": stack.hookURL, "max_duration": 2})
		require.Equal(t, "job_failed", stack.hooks.waitTerminal(t, id, jobTimeout).Body["type"])
		optionMedia.mu.Lock()
		defer optionMedia.mu.Unlock()
		var probes int
		for _, g := range optionMedia.gets {
			if strings.HasPrefix(g, "/"+optLong+" ") {
				// ffprobe (Lavf) read the headers; the native downloader
				// (Go's client) never fetched the file.
				require.Contains(t, g, "Lavf", "only ffprobe fetches %s: %v", optLong, optionMedia.gets)
				probes++
			}
		}
		require.Positive(t, probes)
	})
	t.Run("within", func(t *testing.T) {
		t.Parallel()
		b := completed(t, map[string]any{"url": base + "/" + optClip, "max_duration": 5})
		require.InDelta(t, 4, duration(t, probeObject(t, b["key"].(string))), 0.2)
	})
}
