package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
	n             int
	download, raw time.Duration // riptide's Download activity; plain GETs, n at a time
}

// benchFragments downloads an HLS stream of many half-second fragments
// through yt-dlp, from a server that answers each request after
// fragmentLatency, with yt-dlp fetching n fragments at once
// (RIPTIDE_YTDLP_CONCURRENT_FRAGMENTS) for each n, against plain Go GETs of
// the same fragments n at a time.
func benchFragments(ctx context.Context, st *stack, o options, r *report) error {
	dir := filepath.Join(st.mediaDir, "hls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// A keyframe every half second lets the segmenter cut there.
	err := ffmpeg(ctx, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
		"-t", strconv.Itoa(o.fragSeconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "hls", "-hls_time", "0.5", "-hls_list_size", "0",
		"-hls_segment_filename", filepath.Join(dir, "seg%05d.ts"), filepath.Join(dir, "stream.m3u8"))
	if err != nil {
		return err
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg*.ts"))
	res := &fragmentResult{fragments: len(segs)}
	for _, s := range segs {
		res.bytes += fileSize(s)
	}
	fs := http.FileServer(http.Dir(st.mediaDir))
	base, stop, err := serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		time.Sleep(fragmentLatency)
		fs.ServeHTTP(w, req)
	}))
	if err != nil {
		return err
	}
	defer stop()
	playlist := base + "/hls/stream.m3u8"

	for _, n := range o.fragConcurrency {
		w, err := st.startWorker(ctx, fmt.Sprintf("frag%d", n), 1, "RIPTIDE_YTDLP_CONCURRENT_FRAGMENTS="+strconv.Itoa(n))
		if err != nil {
			return err
		}
		id, js, _, err := st.runJob(ctx, playlist, "bench/fragments")
		w.Stop(10 * time.Second)
		if err != nil {
			return err
		}
		stages, err := st.stageTimes(ctx, id)
		if err != nil {
			return err
		}
		st.deleteObject(ctx, js.Key)
		raw, err := getAll(ctx, base, segs, n)
		if err != nil {
			return err
		}
		res.runs = append(res.runs, fragmentRun{n: n, download: stages.Run["Download"], raw: raw})
		logf("fragments at once %d: download %s, plain GETs %s", n, stages.Run["Download"], raw)
	}
	r.fragments = res
	return nil
}

// getAll fetches every segment with n requests in flight and discards it.
func getAll(ctx context.Context, base string, segs []string, n int) (time.Duration, error) {
	start := time.Now()
	err := forEach(len(segs), n, func(i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/hls/"+filepath.Base(segs[i]), nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", req.URL, res.Status)
		}
		_, err = io.Copy(io.Discard, res.Body)
		return err
	})
	return time.Since(start), err
}

func (f *fragmentResult) markdown(b *strings.Builder) {
	for _, run := range f.runs {
		fmt.Fprintf(b, "| HLS via yt-dlp, %d fragments (%.0f MiB), %d ms per request, %d at once | %s download | %s: plain GETs, %d at once | %.2f | |\n",
			f.fragments, float64(f.bytes)/(1<<20), fragmentLatency.Milliseconds(), run.n,
			secs(run.download), secs(run.raw), run.n, ratio(run.raw, run.download))
	}
}
