package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fragmentLatency is how long the fragment server waits before answering
// each request: a CDN's time to first byte, which loopback does not have.
const fragmentLatency = 20 * time.Millisecond

type fragmentResult struct {
	fragments int
	bytes     int64
	runs      []fragmentRun
}

type fragmentRun struct {
	n int
	// riptide's Download activity with RIPTIDE_FRAGMENT_CONCURRENCY=n, and
	// the download_strategy its job view named.
	download time.Duration
	strategy string
	// The same with RIPTIDE_DOWNLOAD_STRATEGY=ytdlp (the old path); zero
	// when not measured at this n.
	oldPath         time.Duration
	oldPathStrategy string
	// yt-dlp's own CLI, --concurrent-fragments n; plain Go GETs of the
	// playlist and then the fragments, n at a time.
	cli, raw time.Duration
}

// hlsStream is a generated HLS stream of half-second fragments under
// st.mediaDir, served with fragmentLatency per request.
type hlsStream struct {
	dir      string
	segs     []string
	bytes    int64
	base     string // server root URL
	playlist string // the playlist's URL
	stop     func()
}

func (h *hlsStream) Close() {
	h.stop()
	os.RemoveAll(h.dir)
}

// startHLS encodes a stream of seconds seconds into half-second fragments
// and serves it from a server that answers each request after
// fragmentLatency.
func startHLS(ctx context.Context, st *stack, seconds int) (*hlsStream, error) {
	dir := filepath.Join(st.mediaDir, "hls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A keyframe every half second lets the segmenter cut there.
	err := ffmpeg(ctx, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "hls", "-hls_time", "0.5", "-hls_list_size", "0",
		"-hls_segment_filename", filepath.Join(dir, "seg%05d.ts"), filepath.Join(dir, "stream.m3u8"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	h := &hlsStream{dir: dir}
	h.segs, _ = filepath.Glob(filepath.Join(dir, "seg*.ts"))
	for _, s := range h.segs {
		h.bytes += fileSize(s)
	}
	fs := http.FileServer(http.Dir(st.mediaDir))
	h.base, h.stop, err = serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		time.Sleep(fragmentLatency)
		fs.ServeHTTP(w, req)
	}))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	h.playlist = h.base + "/hls/stream.m3u8"
	return h, nil
}

// benchFragments downloads an HLS stream of many half-second fragments from
// a server that answers each request after fragmentLatency, for each n of
// -fragments: riptide's Download activity on a worker with
// RIPTIDE_FRAGMENT_CONCURRENCY=n (and RIPTIDE_YTDLP_CONCURRENT_FRAGMENTS=n,
// so the row means the same on the yt-dlp path), the same on the old path
// (RIPTIDE_DOWNLOAD_STRATEGY=ytdlp), yt-dlp's own CLI with
// --concurrent-fragments n, and plain Go GETs of the playlist and the
// fragments n at a time.
func benchFragments(ctx context.Context, st *stack, o options, r *report) error {
	h, err := startHLS(ctx, st, o.fragSeconds)
	if err != nil {
		return err
	}
	defer h.Close()
	res := &fragmentResult{fragments: len(h.segs), bytes: h.bytes}
	for _, n := range o.fragConcurrency {
		run := fragmentRun{n: n}
		ns := strconv.Itoa(n)
		env := []string{"RIPTIDE_FRAGMENT_CONCURRENCY=" + ns, "RIPTIDE_YTDLP_CONCURRENT_FRAGMENTS=" + ns}
		if run.download, run.strategy, err = st.downloadStage(ctx, fmt.Sprintf("frag%d", n), h.playlist, env...); err != nil {
			return err
		}
		if run.oldPath, run.oldPathStrategy, err = st.downloadStage(ctx, fmt.Sprintf("fragold%d", n), h.playlist,
			append(env, "RIPTIDE_DOWNLOAD_STRATEGY=ytdlp")...); err != nil {
			return err
		}
		if run.cli, err = ytdlpCLI(ctx, st.dir, "--concurrent-fragments", ns, "--fixup", "never", h.playlist); err != nil {
			return err
		}
		if run.raw, err = getPlaylist(ctx, h.playlist, n); err != nil {
			return err
		}
		res.runs = append(res.runs, run)
		logf("fragments at once %d: download %s (%s), old path %s, yt-dlp CLI %s, plain GETs %s",
			n, run.download, run.strategy, run.oldPath, run.cli, run.raw)
	}
	r.fragments = res
	return nil
}

// downloadStage runs one job of mediaURL on a fresh worker with extraEnv and
// returns its Download activity's time from the history and the job view's
// download_strategy.
func (st *stack) downloadStage(ctx context.Context, name, mediaURL string, extraEnv ...string) (time.Duration, string, error) {
	w, err := st.startWorker(ctx, name, 1, extraEnv...)
	if err != nil {
		return 0, "", err
	}
	id, js, _, err := st.runJob(ctx, mediaURL, "bench/fragments")
	w.Stop(10 * time.Second)
	if err != nil {
		return 0, "", err
	}
	stages, err := st.stageTimes(ctx, id)
	if err != nil {
		return 0, "", err
	}
	strategy, _ := st.downloadStrategy(ctx, id)
	st.deleteObject(ctx, js.Key)
	return stages.Run["Download"], strategy, nil
}

// getPlaylist is the plain-GET baseline: it fetches the playlist, then
// every fragment it lists with n requests in flight, discarding them.
func getPlaylist(ctx context.Context, playlist string, n int) (time.Duration, error) {
	start := time.Now()
	body, err := get(ctx, playlist, io.Discard, true)
	if err != nil {
		return 0, err
	}
	base, _ := url.Parse(playlist)
	segs, err := playlistSegments(base, body)
	if err != nil {
		return 0, err
	}
	err = forEach(len(segs), n, func(i int) error {
		_, err := get(ctx, segs[i], io.Discard, false)
		return err
	})
	return time.Since(start), err
}

// get fetches u into w, or returns its body when keep is set.
func get(ctx context.Context, u string, w io.Writer, keep bool) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, res.Status)
	}
	if keep {
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}
	_, err = io.Copy(w, res.Body)
	return "", err
}

// playlistSegments lists a media playlist's segment URLs, resolved against
// its own URL: every line that is neither blank nor a tag or comment.
func playlistSegments(base *url.URL, playlist string) ([]string, error) {
	if !strings.HasPrefix(strings.TrimSpace(playlist), "#EXTM3U") {
		return nil, fmt.Errorf("not an HLS playlist")
	}
	var segs []string
	sc := bufio.NewScanner(strings.NewReader(playlist))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := base.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("segment %q: %w", line, err)
		}
		segs = append(segs, u.String())
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("the playlist lists no segments")
	}
	return segs, sc.Err()
}

func (f *fragmentResult) markdown(b *strings.Builder) {
	for _, run := range f.runs {
		fmt.Fprintf(b, "| HLS, %d fragments (%.0f MiB), %d ms per request, %d at once: %s, download stage | %s | %s: plain GETs of the playlist + fragments, %d at once | **%.2f** | ≥ 0.9 |\n",
			f.fragments, float64(f.bytes)/(1<<20), fragmentLatency.Milliseconds(), run.n, riptideLabel(run.strategy, ""),
			fineSecs(run.download), fineSecs(run.raw), run.n, ratio(run.raw, run.download))
		fmt.Fprintf(b, "| · same vs yt-dlp's CLI (`--concurrent-fragments %d --fixup never`) | %s | %s: yt-dlp alone | %.2f | ≥ 1 |\n",
			run.n, fineSecs(run.download), fineSecs(run.cli), ratio(run.cli, run.download))
		if run.oldPath > 0 {
			fmt.Fprintf(b, "| · %s, download stage | %s | %s: plain GETs | %.2f | |\n",
				riptideLabel(run.oldPathStrategy, "RIPTIDE_DOWNLOAD_STRATEGY=ytdlp"), fineSecs(run.oldPath), fineSecs(run.raw), ratio(run.raw, run.oldPath))
		}
	}
}

// riptideLabel names the path a riptide row ran: the job view's
// download_strategy when it has one, else what the bench asked for.
func riptideLabel(strategy, asked string) string {
	switch {
	case strategy != "":
		return "riptide (" + strategy + ")"
	case asked != "":
		return "riptide (" + asked + ")"
	}
	return "riptide"
}

// fineSecs shows a duration under 10 s to the hundredth: the plain GETs of
// a fragments row take a tenth of a second.
func fineSecs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return secs(d)
}
