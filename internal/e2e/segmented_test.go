//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/workflows"
)

// segmentedSource is a realworld-shaped stream served from dir, counting
// the requests for each path.
type segmentedSource struct {
	mu   sync.Mutex
	gets map[string]int
	url  string
}

func (s *segmentedSource) count(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[p]
}

func serveSegmented(t *testing.T, dir string) *segmentedSource {
	t.Helper()
	s := &segmentedSource{gets: map[string]int{}}
	files := http.FileServer(http.Dir(dir))
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.gets[r.URL.Path]++
		s.mu.Unlock()
		if r.URL.Path == "/moved.mp4" {
			// A CDN's redirect to where the file is.
			http.Redirect(w, r, "/clip.mp4", http.StatusFound)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// TestSegmentedSourcesDownloadNativelyAndPlay: each shape of stream real
// sites serve (fragmented-MP4 HLS, AES-128 HLS, one-file HLS with byte
// ranges, TS HLS, DASH with separate video and audio, a redirected direct
// file) ends as a stored MP4 with both streams, of the source's length,
// that ffmpeg decodes without an error, downloaded by riptide's native
// downloader (download_strategy). The AES-128 stream is really encrypted
// (its segments are not media) and its key is fetched once.
func TestSegmentedSourcesDownloadNativelyAndPlay(t *testing.T) {
	requireStack(t)
	t.Parallel()
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10", "-c:a", "aac", "-b:a", "64k", clip)
	hls := func(name string, extra ...string) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, name), 0o755))
		args := append([]string{"-i", clip, "-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"}, extra...)
		mediatest.FFmpeg(t, append(args, filepath.Join(dir, name, "index.m3u8"))...)
	}
	hls("ts")
	hls("fmp4", "-hls_segment_type", "fmp4")
	hls("single", "-hls_flags", "single_file")
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "aes"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "aes", "enc.key"), key, 0o644))
	iv := make([]byte, 16)
	_, _ = rand.Read(iv)
	keyinfo := filepath.Join(dir, "keyinfo")
	require.NoError(t, os.WriteFile(keyinfo, []byte("enc.key\n"+filepath.Join(dir, "aes", "enc.key")+"\n"+hex.EncodeToString(iv)+"\n"), 0o644))
	hls("aes", "-hls_key_info_file", keyinfo)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "dash"), 0o755))
	mediatest.FFmpeg(t, "-i", clip, "-map", "0:v", "-map", "0:a", "-c", "copy", "-f", "dash", "-seg_duration", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a", filepath.Join(dir, "dash", "clip.mpd"))

	playlist, err := os.ReadFile(filepath.Join(dir, "aes", "index.m3u8"))
	require.NoError(t, err)
	require.Contains(t, string(playlist), "METHOD=AES-128", "the stream is encrypted")
	seg, err := os.ReadFile(filepath.Join(dir, "aes", "index0.ts"))
	require.NoError(t, err)
	require.NotEqual(t, byte(0x47), seg[0], "an encrypted segment is no TS packet")
	single, err := os.ReadFile(filepath.Join(dir, "single", "index.m3u8"))
	require.NoError(t, err)
	require.Contains(t, string(single), "#EXT-X-BYTERANGE")
	fmp4, err := os.ReadFile(filepath.Join(dir, "fmp4", "index.m3u8"))
	require.NoError(t, err)
	require.Contains(t, string(fmp4), "#EXT-X-MAP")

	src := serveSegmented(t, dir)
	for _, tt := range []struct {
		name, path, strategy string
	}{
		{"ts-hls", "/ts/index.m3u8", "native_hls"},
		{"fmp4-hls", "/fmp4/index.m3u8", "native_hls"},
		{"aes128-hls", "/aes/index.m3u8", "native_hls"},
		{"byterange-hls", "/single/index.m3u8", "native_hls"},
		{"dash", "/dash/clip.mpd", "native_dash"},
		{"redirected-file", "/moved.mp4", "native_http"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := completed(t, map[string]any{"url": src.url + tt.path, "format": "mp4", "folder": "e2e/segmented-" + tt.name})
			key, _ := b["key"].(string)
			require.NotEmpty(t, key, "%v", b)
			obj := stored(t, key)
			require.ElementsMatch(t, []string{"video", "audio"}, streams(t, obj), "both streams")
			p := probeObject(t, key)
			require.InDelta(t, 4, duration(t, p), 0.6, "%v", p)
			requirePlays(t, obj)
			require.Equal(t, tt.strategy, downloadStrategy(t, b["job_id"].(string)))
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			require.Equal(t, 1, src.count("/aes/enc.key"), "the AES key is fetched once per download")
		}
	})
}

// requirePlays decodes media with ffmpeg and requires no error.
func requirePlays(t *testing.T, media []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "play")
	require.NoError(t, os.WriteFile(f, media, 0o644))
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", f, "-f", "null", "-")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "ffmpeg decode: %s", stderr.String())
	require.Empty(t, strings.TrimSpace(stderr.String()), fmt.Sprintf("decode errors: %s", stderr.String()))
}

// downloadStrategy is the job view's download_strategy.
func downloadStrategy(t *testing.T, id string) any {
	t.Helper()
	status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	return job["download_strategy"]
}

// TestSegmentedDownloadResumesAfterAWorkerRestart: the worker is SIGKILLed
// in the middle of a native HLS download and started again on the same
// work directory; the Download activity's retry lands there and goes on
// from the heartbeated fragment instead of fetching the stream again, and
// the stored file plays whole.
func TestSegmentedDownloadResumesAfterAWorkerRestart(t *testing.T) {
	requireStack(t)
	t.Parallel()
	dir := t.TempDir()
	// 600 fragments of a tenth of a second (a key frame in each).
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
		"-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "1", "-c:a", "aac", "-b:a", "32k",
		"-f", "hls", "-hls_time", "0.1", "-hls_playlist_type", "vod", filepath.Join(dir, "index.m3u8"))
	segs, _ := filepath.Glob(filepath.Join(dir, "index*.ts"))
	require.Greater(t, len(segs), 400)

	var mu sync.Mutex
	gets := map[string]int{}
	total := 0
	files := http.FileServer(http.Dir(dir))
	src := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".ts") {
			mu.Lock()
			gets[r.URL.Path]++
			total++
			mu.Unlock()
			time.Sleep(40 * time.Millisecond) // about 25 fragments a second at 1 at once
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(src.Close)
	fetched := func() int {
		mu.Lock()
		defer mu.Unlock()
		return total
	}

	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	queue := "riptide-resume-" + uuid.NewString()[:8]
	work := filepath.Join(t.TempDir(), "work")
	env := []string{"RIPTIDE_WORKER_WORK_DIR=" + work, "RIPTIDE_FRAGMENT_CONCURRENCY=1"}
	first := startWorkerProcess(t, bin, "resume-a", queue, env...)
	in := workflows.JobInput{JobID: uuid.NewString(), URL: src.URL + "/index.m3u8", WebhookURL: stack.hookURL, Folder: "e2e/resume"}
	run, err := jobs.Start(context.Background(), stack.temporal, queue, in)
	require.NoError(t, err)
	// Past the SDK's first heartbeat throttle (0.8 of the 20 s timeout),
	// so the server holds a position well into the stream.
	require.Eventually(t, func() bool { return fetched() >= 450 }, 2*time.Minute, 50*time.Millisecond, "the download never got far")
	first.Kill()
	before := fetched()
	startWorkerProcess(t, bin, "resume-b", queue, env...)

	st := completedOnce(t, run, in.JobID, 3*time.Minute)
	mu.Lock()
	again := 0
	for _, n := range gets {
		if n > 1 {
			again++
		}
	}
	mu.Unlock()
	t.Logf("%d fragments, %d fetched before the kill, %d fetched twice", len(segs), before, again)
	require.Less(t, again, before/2, "the retry went on from the heartbeated fragment")
	obj := stored(t, st.Key)
	require.ElementsMatch(t, []string{"video", "audio"}, streams(t, obj))
	p := probeObject(t, st.Key)
	require.InDelta(t, 60, duration(t, p), 1, "%v", p)
	requirePlays(t, obj)
}
