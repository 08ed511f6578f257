package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type dashSourceResult struct {
	size           int64 // bytes of both streams on the server
	fragments      [2]int
	latency        time.Duration
	wall           time.Duration // riptide: POST → completed
	stages         stageTimes
	strategy       string
	peakRSS        int64
	raw            rawTimes      // sequential GET of both streams, ffmpeg -c copy, upload
	cli, cliUpload time.Duration // yt-dlp's CLI (download + its merge), then the same upload
	resolve        time.Duration // yt-dlp -J alone: what a job spent resolving the MPD before riptide read it itself
}

// floor is the physical floor of the job: the same bytes cannot arrive
// faster than one GET of them, nor reach the bucket faster than one upload.
func (d *dashSourceResult) floor() time.Duration { return max(d.raw.Download, d.raw.Upload) }

func (d *dashSourceResult) rawTotal() time.Duration { return d.raw.Download + d.raw.Mux + d.raw.Upload }

// benchDASH moves a DASH source with separate video and audio streams of
// about -dash-mb through a whole job that must remux them into one MP4,
// against the sequential raw path (GET every fragment of both streams in
// order, `ffmpeg -c copy`, upload with the same SDK settings), the physical
// floor max(GET, upload), and yt-dlp's CLI (-f bv+ba, its own merge) plus
// the same upload.
func benchDASH(ctx context.Context, st *stack, o options, r *report) error {
	dir := filepath.Join(st.mediaDir, "dash")
	defer os.RemoveAll(dir)
	if err := generateDASH(ctx, st.mediaDir, dir, o.dashSourceMB<<20); err != nil {
		return err
	}
	res := &dashSourceResult{latency: time.Duration(o.dashSourceLatencyMS) * time.Millisecond}
	files, _ := filepath.Glob(filepath.Join(dir, "*.m4s"))
	for _, f := range files {
		res.size += fileSize(f)
	}
	base := st.mediaURL
	if res.latency > 0 {
		fs := http.FileServer(http.Dir(st.mediaDir))
		b, stop, err := serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			time.Sleep(res.latency)
			fs.ServeHTTP(w, req)
		}))
		if err != nil {
			return err
		}
		defer stop()
		base = b
	}
	mpd := base + "/dash/stream.mpd"

	// What the raw path fetches, and the check that the installed yt-dlp
	// resolves this source as a segment list (as riptide's worker will).
	resolveStart := time.Now()
	info, err := exec.CommandContext(ctx, "yt-dlp", "--ignore-config", "--proxy", "", "--no-playlist", "-J", "-f", "bv+ba", mpd).Output()
	res.resolve = time.Since(resolveStart)
	if err != nil {
		return fmt.Errorf("yt-dlp -J %s: %w", mpd, err)
	}
	streams, err := dashStreams(info)
	if err != nil {
		return err
	}
	res.fragments = [2]int{len(streams[0]), len(streams[1])}

	w, err := st.startWorker(ctx, "dash", 1)
	if err != nil {
		return err
	}
	syscall.Sync()
	start := time.Now()
	id, err := st.submitBody(ctx, map[string]any{"url": mpd, "folder": "bench/dash", "format": "mp4"})
	if err != nil {
		w.Stop(10 * time.Second)
		return err
	}
	js, err := st.wait(ctx, id)
	res.wall = time.Since(start)
	res.peakRSS, _ = peakRSS(w.Pid())
	w.Stop(10 * time.Second)
	if err != nil {
		return err
	}
	if res.stages, err = st.stageTimes(ctx, id); err != nil {
		return err
	}
	res.strategy, _ = st.downloadStrategy(ctx, id)
	st.deleteObject(ctx, js.Key)
	if _, ok := res.stages.Run["Mux"]; !ok {
		return fmt.Errorf("job %s ran no Mux activity: the figure must include the remux", id)
	}

	syscall.Sync()
	if res.raw, err = st.rawDASH(ctx, streams, "bench/raw/dash.mp4"); err != nil {
		return err
	}
	st.deleteObject(ctx, "bench/raw/dash.mp4")

	syscall.Sync()
	out, err := os.MkdirTemp(st.dir, "ytdlp-dash-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	if res.cli, err = runYtdlp(ctx, out, "-f", "bv+ba", "--concurrent-fragments", "8", "--merge-output-format", "mp4", mpd); err != nil {
		return err
	}
	start = time.Now()
	if _, err := st.store.Upload(ctx, "bench/raw/dash-ytdlp.mp4", filepath.Join(out, "out.mp4"), "video/mp4", nil); err != nil {
		return err
	}
	res.cliUpload = time.Since(start)
	st.deleteObject(ctx, "bench/raw/dash-ytdlp.mp4")

	r.dash = res
	logf("dash: riptide %s (%s; download %s, mux %s, upload %s), raw %s (GET %s, mux %s, upload %s), floor %s, yt-dlp %s + upload %s",
		res.wall, res.strategy, res.stages.Run["Download"], res.stages.Run["Mux"], res.stages.Run["Upload"],
		res.rawTotal(), res.raw.Download, res.raw.Mux, res.raw.Upload, res.floor(), res.cli, res.cliUpload)
	return nil
}

// generateDASH writes a static segment-list DASH source of about size bytes
// into dir, as ffmpeg's dash muxer does (SegmentTemplate with a
// SegmentTimeline, separate video and audio adaptation sets, 2 s
// segments): the looped lossless clip of generateMedia, stream-copied, so
// a gigabyte takes seconds.
func generateDASH(ctx context.Context, mediaDir, dir string, size int64) error {
	clip, err := ensureClip(ctx, mediaDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return ffmpeg(ctx, "-stream_loop", strconv.FormatInt(loops(size, fileSize(clip)), 10), "-i", clip,
		"-map", "0", "-c", "copy", "-f", "dash", "-seg_duration", "2",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a", filepath.Join(dir, "stream.mpd"))
}

// loops is ffmpeg's -stream_loop count (extra passes after the first) that
// makes clips of clipSize add up to at least size.
func loops(size, clipSize int64) int64 {
	if clipSize <= 0 || size <= clipSize {
		return 0
	}
	return (size+clipSize-1)/clipSize - 1
}

// dashStreams reads the fragment URLs of the video and the audio stream
// from yt-dlp's -J info for -f bv+ba, and fails unless both are DASH
// segment lists.
func dashStreams(info []byte) ([2][]string, error) {
	var out [2][]string
	var v struct {
		RequestedFormats []struct {
			FormatID        string `json:"format_id"`
			Protocol        string `json:"protocol"`
			FragmentBaseURL string `json:"fragment_base_url"`
			Fragments       []struct {
				URL  string `json:"url"`
				Path string `json:"path"`
			} `json:"fragments"`
		} `json:"requested_formats"`
	}
	if err := json.Unmarshal(info, &v); err != nil {
		return out, fmt.Errorf("yt-dlp info: %w", err)
	}
	if len(v.RequestedFormats) != 2 {
		return out, fmt.Errorf("yt-dlp resolved %d requested formats, want a video and an audio stream", len(v.RequestedFormats))
	}
	for i, f := range v.RequestedFormats {
		if f.Protocol != "http_dash_segments" || len(f.Fragments) == 0 {
			return out, fmt.Errorf("format %s: protocol %q with %d fragments, want a DASH segment list", f.FormatID, f.Protocol, len(f.Fragments))
		}
		base, err := url.Parse(f.FragmentBaseURL)
		if err != nil {
			return out, fmt.Errorf("format %s: fragment_base_url: %w", f.FormatID, err)
		}
		for _, fr := range f.Fragments {
			if fr.URL != "" {
				out[i] = append(out[i], fr.URL)
				continue
			}
			if f.FragmentBaseURL == "" {
				return out, fmt.Errorf("format %s: a fragment has a path and no base URL", f.FormatID)
			}
			u, err := base.Parse(fr.Path)
			if err != nil {
				return out, fmt.Errorf("format %s: fragment %q: %w", f.FormatID, fr.Path, err)
			}
			out[i] = append(out[i], u.String())
		}
	}
	return out, nil
}

// rawDASH is the sequential raw path: every fragment of the video, then of
// the audio stream, fetched in order into two files; `ffmpeg -c copy` muxes
// them into one MP4, which is uploaded with the same SDK client and part
// settings as the worker's.
func (st *stack) rawDASH(ctx context.Context, streams [2][]string, key string) (rawTimes, error) {
	var r rawTimes
	dir, err := os.MkdirTemp(st.dir, "raw-dash-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	paths := [2]string{filepath.Join(dir, "video.mp4"), filepath.Join(dir, "audio.m4a")}
	start := time.Now()
	for i, urls := range streams {
		f, err := os.Create(paths[i])
		if err != nil {
			return r, err
		}
		for _, u := range urls {
			if _, err = get(ctx, u, f, false); err != nil {
				break
			}
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return r, err
		}
	}
	r.Download = time.Since(start)

	out := filepath.Join(dir, "output.mp4")
	start = time.Now()
	if err := ffmpeg(ctx, "-i", paths[0], "-i", paths[1], "-map", "0:v", "-map", "1:a", "-c", "copy", out); err != nil {
		return r, err
	}
	r.Mux = time.Since(start)

	start = time.Now()
	if _, err := st.store.Upload(ctx, key, out, "video/mp4", nil); err != nil {
		return r, err
	}
	r.Upload = time.Since(start)
	return r, nil
}

func (d *dashSourceResult) markdown(b *strings.Builder) {
	mb := float64(d.size) / (1 << 20)
	lat := "no added latency"
	if d.latency > 0 {
		lat = fmt.Sprintf("%d ms per request", d.latency.Milliseconds())
	}
	raw := d.rawTotal()
	fmt.Fprintf(b, "| DASH, separate video + audio (%.0f MiB, %d + %d fragments, %s), remuxed to mp4: %s, POST → completed | %s (%s) | %s (%s): sequential GET of both + `ffmpeg -c copy` + upload | **%.2f** | ≥ 1.2 |\n",
		mb, d.fragments[0], d.fragments[1], lat, riptideLabel(d.strategy, ""), secs(d.wall), rate(d.size, d.wall), secs(raw), rate(d.size, raw), ratio(raw, d.wall))
	fmt.Fprintf(b, "| · download | %s | %s: GET every fragment in order | %.2f | |\n", secs(d.stages.Run["Download"]), secs(d.raw.Download), ratio(d.raw.Download, d.stages.Run["Download"]))
	fmt.Fprintf(b, "| · · `yt-dlp -J` of the MPD alone, same run (riptide reads a direct .mpd itself: %s) | | %s | | |\n", d.strategy, secs(d.resolve))
	fmt.Fprintf(b, "| · mux | %s | %s: `ffmpeg -c copy` of the two files | %.2f | |\n", secs(d.stages.Run["Mux"]), secs(d.raw.Mux), ratio(d.raw.Mux, d.stages.Run["Mux"]))
	fmt.Fprintf(b, "| · upload | %s | %s: same SDK and part settings | %.2f | |\n", secs(d.stages.Run["Upload"]), secs(d.raw.Upload), ratio(d.raw.Upload, d.stages.Run["Upload"]))
	fmt.Fprintf(b, "| · orchestration gaps (history: workflow %s minus the three stages) | %s | 0 | | |\n", secs(d.stages.Total), secs(d.stages.Gaps()))
	fmt.Fprintf(b, "| · vs the physical floor max(GET %s, upload %s) | %s | %s | %s | ≤ 1.3 (moonshot) |\n",
		secs(d.raw.Download), secs(d.raw.Upload), secs(d.wall), secs(d.floor()), floorCell(d.wall, d.floor()))
	cli := d.cli + d.cliUpload
	fmt.Fprintf(b, "| · vs yt-dlp's CLI (`-f bv+ba --concurrent-fragments 8`, its ffmpeg merge: %s) + the same upload (%s) | %s | %s | %.2f | ≥ 1 |\n",
		secs(d.cli), secs(d.cliUpload), secs(d.wall), secs(cli), ratio(cli, d.wall))
	fmt.Fprintf(b, "| · peak worker RSS (VmHWM) over the DASH job | %d MiB | | | |\n", d.peakRSS>>20)
}

// floorCell is the table's ratio cell against the floor, which is the
// other way round from the rest (riptide time / floor: 1.00 is the floor,
// lower is better).
func floorCell(measured, floor time.Duration) string {
	if floor <= 0 {
		return "–"
	}
	return fmt.Sprintf("riptide/floor **%.2f**", measured.Seconds()/floor.Seconds())
}
